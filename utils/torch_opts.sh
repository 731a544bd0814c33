# utils/torch_opts.sh: how a step runs a sertl.bin module on the CPU or GPU(s).
#
# Usage (sourced by a step after utils/parse_options.sh):
#   . utils/torch_opts.sh
#   $cmd "${gpu_opts[@]}" log $launcher sertl.bin.train_asr "${device_opts[@]}" ...
#
# Reads $use_gpu (auto: the GPU when there is one; true; false), ${nj_train:-1}
# (data-parallel processes) and ${torchrun_opts:-} (torchrun options replacing
# --standalone, for several nodes). Sets
#   device_opts  the module's --device option (none for auto)
#   gpu_opts     the job runner's --gpu N (with use_gpu true: one GPU per process)
#   launcher     "python -m", or "torchrun ... --nproc-per-node N -m" for N > 1 processes
#                or with torchrun options
case $use_gpu in
  auto) device_opts=(); gpu_opts=() ;;
  true) device_opts=(--device cuda); gpu_opts=(--gpu "${nj_train:-1}") ;;
  false) device_opts=(--device cpu); gpu_opts=() ;;
  *) echo "$0: --use-gpu must be auto, true or false, not '$use_gpu'" >&2; exit 1 ;;
esac
if [ "${nj_train:-1}" -gt 1 ] || [ -n "${torchrun_opts:-}" ]; then
  launcher="torchrun ${torchrun_opts:---standalone} --nproc-per-node ${nj_train:-1} -m"
else
  launcher="python -m"
fi

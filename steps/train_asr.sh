#!/usr/bin/env bash
# Usage: steps/train_asr.sh [options] <data-dir> <ali-dir> <exp-dir>
# Trains an acoustic model (TDNN-F or ConvNet, as the --config YAML says) with frame-level
# cross-entropy on the targets of <ali-dir> (steps/align_sb.sh), from the features of
# <data-dir>, holding out the config's number of speakers for validation; then scores
# frame and phone error rates on those speakers into <exp-dir>/eval_valid/scores.json.
# <exp-dir> gets config.yaml, checkpoint.pt, final.pt, final_metrics.json, metrics.jsonl,
# tensorboard/ and log/. A rerun resumes from checkpoint.pt; with final.pt and the scores
# present it does nothing.
# Options:
#   --config <file>        experiment YAML (default conf/asr/tdnn_small.yaml)
#   --ivector-dir <dir>    online i-vectors of <data-dir>, for a model that takes them
#   --nj-train <n>         data-parallel processes (GPUs, or CPU processes with gloo);
#                          more than 1 runs under torchrun (default 1)
#   --num-threads <n>      CPU threads per process (default 1: on shared or busy cores
#                          more threads can be much slower)
#   --use-gpu <auto|true|false>  train on the GPU(s): auto = if available (default auto)
#   --torchrun-opts <opts> torchrun options replacing --standalone, for several nodes:
#                          "--nnodes 2 --node-rank R --rdzv-endpoint HOST:29400"
#                          (run this script on every node)
#   --cmd <cmd>            job runner (default run.py)
set -euo pipefail
config=conf/asr/tdnn_small.yaml
ivector_dir=
nj_train=1
num_threads=1
use_gpu=auto
torchrun_opts=
cmd=run.py
. utils/parse_options.sh
[ $# -eq 3 ] || { echo "$help_message" >&2; exit 1; }
data=$1
ali=$2
dir=$3
for f in "$config" "$data/feats.scp" "$ali/ali.scp" "$ali/targets.txt"; do
  [ -f "$f" ] || { echo "$0: no such file: $f" >&2; exit 1; }
done
[ -z "$ivector_dir" ] || [ -f "$ivector_dir/ivector_online.scp" ] || \
  { echo "$0: no $ivector_dir/ivector_online.scp" >&2; exit 1; }
. utils/torch_opts.sh
ivector_opts=()
[ -n "$ivector_dir" ] && ivector_opts=(--ivector-dir "$ivector_dir")
mkdir -p "$dir/log"
. utils/lock.sh
lock_dir "$dir"

if [ ! -f "$dir/final.pt" ]; then
  echo "$0: training $dir ($config, $nj_train process(es)), log in $dir/log/train.log" >&2
  $cmd --num-threads "$num_threads" "${gpu_opts[@]}" "$dir/log/train.log" \
    $launcher sertl.bin.train_asr --config "$config" "${ivector_opts[@]}" \
      "${device_opts[@]}" "$data" "$ali" "$dir"
fi
[ -f "$dir/final_metrics.json" ] || { echo "$0: $dir/final.pt has no final_metrics.json" \
  "beside it (written by an older or broken run); remove $dir/final.pt and rerun" >&2; exit 1; }

if [ -s "$dir/valid_spk" ] && [ ! -f "$dir/eval_valid/scores.json" ]; then
  utils/subset_data_dir.sh --spk-list "$dir/valid_spk" "$data" "$dir/valid_data"
  steps/eval_asr.sh --cmd "$cmd" --num-threads "$num_threads" --use-gpu "$use_gpu" \
    ${ivector_dir:+--ivector-dir "$ivector_dir"} --name valid "$dir/valid_data" "$ali" "$dir"
fi
echo "$0: done: $dir/final.pt; $(tr -d "\n " < "$dir/final_metrics.json")" >&2

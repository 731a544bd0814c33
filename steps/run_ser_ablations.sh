#!/usr/bin/env bash
# Usage: steps/run_ser_ablations.sh [options] <data-dir> <pretrained-exp|none> <exp-root>
#            <conf>...
# Runs steps/eval_ser.sh once per SER config (an ablation is a conf swap: bottleneck
# layer, frozen layers, aggregation rule, pretrained or random init, ...) into
# <exp-root>/<conf name without .yaml>, then collects one table, a row per conf, of UA,
# WA and macro-F1 (mean ± std over folds, for each conf's aggregation rule) in
# <exp-root>/ablations.md. A rerun resumes: eval_ser.sh skips the folds scored already.
# Options (passed to steps/eval_ser.sh):
#   --folds <utt2fold|speaker>     (default utt2fold)
#   --fold-list <file>             "<fold> <utt>..." lines (replaces --folds)
#   --ivector-dir <dir>            online i-vectors of <data-dir>
#   --nj <n>                       folds trained at the same time (default 1)
#   --nj-train <n>                 (default 1)
#   --num-threads <n>              (default 1)
#   --use-gpu <auto|true|false>    (default auto)
#   --cmd <cmd>                    job runner (default run.py)
set -euo pipefail
folds=utt2fold
fold_list=
ivector_dir=
nj=1
nj_train=1
num_threads=1
use_gpu=auto
cmd=run.py
. utils/parse_options.sh
[ $# -ge 4 ] || { echo "$help_message" >&2; exit 1; }
data=$1
pretrained=$2
root=$3
shift 3
confs=("$@")
dirs=()
declare -A seen=()
for conf in "${confs[@]}"; do
  name=$(basename "$conf" .yaml)
  [ -z "${seen[$name]:-}" ] || { echo "$0: two confs named $name" >&2; exit 1; }
  seen[$name]=1
  dirs+=("$root/$name")
done
for i in "${!confs[@]}"; do
  steps/eval_ser.sh --config "${confs[$i]}" --folds "$folds" \
    ${fold_list:+--fold-list "$fold_list"} ${ivector_dir:+--ivector-dir "$ivector_dir"} \
    --nj "$nj" --nj-train "$nj_train" --num-threads "$num_threads" --use-gpu "$use_gpu" --cmd "$cmd" \
    "$data" "$pretrained" "${dirs[$i]}"
done
python -m sertl.bin.ser_results --command "$parse_options_cmdline" \
  ablations "$root/ablations.md" "${dirs[@]}"
echo "$0: done: $root/ablations.md" >&2

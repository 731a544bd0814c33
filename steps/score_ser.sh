#!/usr/bin/env bash
# Usage: steps/score_ser.sh [options] <data-dir> <ser-exp-dir> <out-dir>
# Scores the utterances of <data-dir> with <ser-exp-dir>/final.pt (steps/train_ser.sh):
# frame posteriors aggregated by every rule (sum_posteriors, mean_log_posterior,
# majority) into <out-dir>/scores_<rule>.txt ("utt ref hyp <class scores>" lines), and,
# when <data-dir> has utt2emo, each rule's UA, WA, macro-F1, per-class recall, confusion
# matrix (and AUROC for two classes) in <out-dir>/metrics.json. Log: <out-dir>/log/score.log.
# Options:
#   --ivector-dir <dir>          online i-vectors of <data-dir>, for a model that takes them
#   --num-threads <n>            CPU threads (default 1)
#   --use-gpu <auto|true|false>  (default auto)
#   --cmd <cmd>                  job runner (default run.py)
set -euo pipefail
ivector_dir=
num_threads=1
use_gpu=auto
cmd=run.py
. utils/parse_options.sh
[ $# -eq 3 ] || { echo "$help_message" >&2; exit 1; }
data=$1
dir=$2
out=$3
for f in "$dir/final.pt" "$data/feats.scp"; do
  [ -f "$f" ] || { echo "$0: no such file: $f" >&2; exit 1; }
done
[ -z "$ivector_dir" ] || [ -f "$ivector_dir/ivector_online.scp" ] || \
  { echo "$0: no $ivector_dir/ivector_online.scp" >&2; exit 1; }
. utils/torch_opts.sh
mkdir -p "$out/log"
$cmd --num-threads "$num_threads" "${gpu_opts[@]}" "$out/log/score.log" \
  python -m sertl.bin.score_ser ${ivector_dir:+--ivector-dir "$ivector_dir"} \
    "${device_opts[@]}" "$data" "$dir/final.pt" "$out"
grep '^score_ser:' "$out/log/score.log" | sed "s|^|$0: |" >&2 || true

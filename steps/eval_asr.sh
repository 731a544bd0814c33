#!/usr/bin/env bash
# Usage: steps/eval_asr.sh [options] <data-dir> <ali-dir> <exp-dir>
# Scores <exp-dir>/final.pt (steps/train_asr.sh) on <data-dir>: frame error rate against
# the targets of <ali-dir>, and phone error rate of the Viterbi phone decoder (phone HMMs
# and the phone bigram estimated on the training alignments) against the aligned phone
# sequences. Writes <exp-dir>/eval_<name>/{scores.json,hyp,ref} and a log there.
# Options:
#   --name <name>               output name (default: basename of <data-dir>)
#   --ivector-dir <dir>         online i-vectors of <data-dir>, for a model that takes them
#   --acoustic-scale <f>        scale of the scaled log-likelihoods (default 1.0)
#   --lm-weight <f>             phone bigram weight (default 1.0)
#   --insertion-penalty <f>     log-score added per phone (default 0.0)
#   --phone-map <file>          "phone folded-phone" lines applied before scoring
#   --num-threads <n>           CPU threads (default 1)
#   --use-gpu <auto|true|false> (default auto)
#   --cmd <cmd>                 job runner (default run.py)
set -euo pipefail
name=
ivector_dir=
acoustic_scale=1.0
lm_weight=1.0
insertion_penalty=0.0
phone_map=
num_threads=1
use_gpu=auto
cmd=run.py
. utils/parse_options.sh
[ $# -eq 3 ] || { echo "$help_message" >&2; exit 1; }
data=$1
ali=$2
dir=$3
name=${name:-$(basename "$data")}
for f in "$dir/final.pt" "$data/feats.scp" "$ali/ali.scp"; do
  [ -f "$f" ] || { echo "$0: no such file: $f" >&2; exit 1; }
done
. utils/torch_opts.sh
out=$dir/eval_$name
mkdir -p "$out"
$cmd --num-threads "$num_threads" "${gpu_opts[@]}" "$out/eval.log" \
  python -m sertl.bin.eval_asr ${ivector_dir:+--ivector-dir "$ivector_dir"} \
    ${phone_map:+--phone-map "$phone_map"} "${device_opts[@]}" \
    --acoustic-scale "$acoustic_scale" --lm-weight "$lm_weight" \
    --insertion-penalty "$insertion_penalty" --ali-dir "$ali" "$data" "$dir/final.pt" "$out"
echo "$0: $(grep '^eval_asr:' "$out/eval.log" | tail -n 1)" >&2

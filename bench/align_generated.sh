#!/usr/bin/env bash
# Usage: bench/align_generated.sh [options] <recipe-dir> <work-dir>
# Accuracy and cost of steps/align_sb.sh on the default recipe's generated corpus (issue
# 4), against eSpeak's own phone timing (<recipe-dir>/<corpus-dir>/phones.ctm). Needs a
# recipe dir where ./run.sh has run stage 3 (data/asr_hires with features, data/lang).
# Copies data/asr_hires into <work-dir> (align_sb.sh writes split dirs into its data dir;
# the recipe dir is left as it is), trains and aligns into <work-dir>/exp/mono{,_ali}
# with the given options, and prints the wall and CPU time of the step, then the scores
# (bench/alignment_boundaries.py) of every iteration's alignment: <work-dir>/exp/mono/ali_x
# is what a run with --num-iters x would write to exp/mono_ali (the model of iteration x
# does not depend on --num-iters), so one run gives the accuracy of every shorter one.
# Run from the repository root, e.g. after ./run.sh --stop-stage 3 in /tmp/rr:
#   bench/align_generated.sh --num-iters 4 /tmp/rr /tmp/align_gen
# Options:
#   --nj <n>               parallel alignment jobs (default 2)
#   --num-iters <k>        aligner training iterations (default 6, as steps/align_sb.sh)
#   --num-states <n>       HMM states per phone (default 3)
#   --align-config <file>  aligner YAML (default conf/align_sb.yaml)
#   --corpus-dir <dir>     the corpus dir of the recipe, relative to it (default corpus)
set -euo pipefail
nj=2
num_iters=6
num_states=3
align_config=conf/align_sb.yaml
corpus_dir=corpus
. ./path.sh
. utils/parse_options.sh
[ $# -eq 2 ] || { echo "$help_message" >&2; exit 1; }
recipe=$1
work=$2
ref=$recipe/$corpus_dir/phones.ctm
for f in "$ref" "$recipe/data/asr_hires/feats.scp" "$recipe/data/lang/phones.txt"; do
  [ -f "$f" ] || { echo "$0: no such file: $f (has stage 3 of run.sh run?)" >&2; exit 1; }
done

[ -f "$work/data/feats.scp" ] || utils/copy_data_dir.sh "$recipe/data/asr_hires" "$work/data"
TIMEFORMAT="steps/align_sb.sh: wall %R s, CPU %U s user + %S s system (load average before: \
$(cut -d' ' -f1-3 /proc/loadavg))"
time steps/align_sb.sh --nj "$nj" --num-iters "$num_iters" --num-states "$num_states" \
  --align-config "$align_config" "$work/data" "$recipe/data/lang" "$work/exp/mono" \
  "$work/exp/mono_ali"
for x in $(seq "$((num_iters - 1))") final; do
  ctm=$work/exp/mono/ali_$x/ali.ctm
  [ $x = final ] && ctm=$work/exp/mono_ali/ali.ctm
  echo "iteration $x: $(python bench/alignment_boundaries.py "$ref" "$ctm" | tail -n 2 \
    | tr '\n' ' ')"
done

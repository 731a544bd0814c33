#!/usr/bin/env bash
# Usage: bench/align_timit.sh [options] <speechocean762-dir> <timit-dir> <work-dir>
# Alignment accuracy against hand-made phone boundaries (issue 4). Trains the aligner of
# steps/align_sb.sh from a flat start on speechocean762's train set (its ARPAbet lexicon,
# stress removed) plus the TIMIT utterances, whose transcripts are their .PHN phones folded
# to the 39-phone set, each pronounced as the ARPAbet phone that bench/timit39-arpabet.map
# (ARPAbet -> TIMIT-39; bench/make_timit_arpabet_lang.sh) folds onto it (the flap dx as
# D), then scores the TIMIT utterances' ali.ctm against the .PHN boundaries with
# bench/alignment_boundaries.py, that map folding both sides to the 39-phone set.
# Features: 40-dim MFCC hires with per-speaker CMVN; energy VAD from 13-dim MFCCs, as the
# default recipe.
# Run from the repository root; every step is skipped when its output exists. e.g.:
#   bench/align_timit.sh ../shared/corpora/speechocean762 ../shared/corpora/timit_sample \
#     /tmp/align_timit
# Options:
#   --nj <n>               parallel jobs (default 2)
#   --num-iters <k>        aligner training iterations (default 8)
#   --num-states <n>       HMM states per phone (default 3)
#   --align-config <file>  aligner YAML (default bench/align_timit.yaml)
set -euo pipefail
nj=2
num_iters=8
num_states=3
align_config=bench/align_timit.yaml
. ./path.sh
. utils/parse_options.sh
[ $# -eq 3 ] || { echo "$help_message" >&2; exit 1; }
speechocean=$1
timit=$2
work=$3
map=bench/timit39-arpabet.map
timit_conf=egs/timit/s5/conf
data=$work/data
start_time=$(date +%s)

if [ ! -f "$data/all/spk2utt" ]; then
  python -m sertl.bin.prepare_corpus speechocean "$speechocean" "$data/speechocean"
  python -m sertl.bin.prepare_corpus timit --phone-set 39 --keep-sa \
    --phone-map $timit_conf/phones.60-48-39.map --dev-spk $timit_conf/dev_spk.list \
    --test-spk $timit_conf/test_spk.list "$timit" "$data/timit"
  utils/combine_data.sh "$data/all" "$data/speechocean/train" "$data/timit/sample"
fi

[ -f "$work/lang/phones.txt" ] || bench/make_timit_arpabet_lang.sh "$speechocean" "$work"

if [ ! -f "$data/all_hires/vad.scp" ]; then
  for name in hires mfcc; do
    rm -rf "$data/all_$name"
    utils/copy_data_dir.sh "$data/all" "$data/all_$name"
  done
  steps/make_mfcc.sh --nj "$nj" --mfcc-config conf/mfcc_hires.conf "$data/all_hires" \
    "$work/log/make_hires" "$work/hires"
  steps/compute_cmvn_stats.sh "$data/all_hires" "$work/log/make_hires" "$work/hires"
  steps/make_mfcc.sh --nj "$nj" --mfcc-config conf/mfcc.conf "$data/all_mfcc" \
    "$work/log/make_mfcc" "$work/mfcc"
  steps/compute_vad_decision.sh --nj "$nj" "$data/all_mfcc" "$work/log/make_vad" "$work/vad"
  cp "$data/all_mfcc/vad.scp" "$data/all_hires/vad.scp"
fi

steps/align_sb.sh --nj "$nj" --num-iters "$num_iters" --num-states "$num_states" \
  --align-config "$align_config" \
  "$data/all_hires" "$work/lang" "$work/exp/mono" "$work/exp/mono_ali"

echo "Command: $0 $*; took $(( $(date +%s) - start_time )) s; load average:" \
     "$(cut -d' ' -f1-3 /proc/loadavg)"
python bench/alignment_boundaries.py --ref-map "$map" --hyp-map "$map" \
  "$data/timit/sample/phones.ctm" "$work/exp/mono_ali/ali.ctm"

#!/usr/bin/env bash
# Usage: bench/timit_sample_eval.sh [options] <speechocean762-dir> <timit-sample-dir>
#            <recipe-dir> <work-dir>
# The models of an egs/speechocean762/s5 run (<recipe-dir>) on the TIMIT sample (NLTK
# layout, 8 speakers, SI/SX sentences), none of whose speakers or sentences they saw:
#  - alignment boundaries against the hand-made ones (bench/alignment_boundaries.py, both
#    sides folded to the 39-phone set by bench/timit39-arpabet.map): with the flat-start
#    aligner (<recipe-dir>/exp/mono/final.mdl) and after realignment with the acoustic
#    model (<recipe-dir>/<asr-exp>/final.pt, steps/align_sb.sh with an acoustic model);
#  - the acoustic model's phone error rate against the manual transcription, its phones
#    folded by the same map (steps/eval_asr.sh reference: the TIMIT-39 text).
# Transcripts are TIMIT's phones, each a word of bench/make_timit_arpabet_lang.sh's lang
# dir; features as the recipe computes them (steps/make_feature_sets.sh, the recipe's
# confs). Run from the repository root, path.sh sourced; work is skipped when done.
# e.g.: bench/timit_sample_eval.sh ../shared/corpora/speechocean762 \
#         ../shared/corpora/timit_sample egs/speechocean762/s5 /tmp/timit_eval
# Options:
#   --asr-exp <dir>  the acoustic model's exp dir, relative to <recipe-dir>
#                    (default exp/tdnn_phones)
#   --nj <n>         parallel jobs (default 2)
set -euo pipefail
asr_exp=exp/tdnn_phones
nj=2
. utils/parse_options.sh
[ $# -eq 4 ] || { echo "$help_message" >&2; exit 1; }
speechocean=$1
timit=$2
recipe=$(cd "$3" && pwd)
work=$4
map=bench/timit39-arpabet.map
timit_conf=egs/timit/s5/conf
data=$work/data/sample
feats=$(python -c "import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))['data']['feature_type'])" \
  "$recipe/$asr_exp/config.yaml")
[ "$feats" = mfcc_hires ] && feats=hires

if [ ! -f "$data/text" ]; then
  python -m sertl.bin.prepare_corpus timit --phone-set 39 \
    --phone-map $timit_conf/phones.60-48-39.map --dev-spk $timit_conf/dev_spk.list \
    --test-spk $timit_conf/test_spk.list "$timit" "$work/data"
fi
[ -f "$work/lang/phones.txt" ] || bench/make_timit_arpabet_lang.sh "$speechocean" "$work"
cmp "$work/lang/phones.txt" "$recipe/data/lang/phones.txt"
if [ ! -f "${data}_hires/vad.scp" ]; then
  steps/make_feature_sets.sh --nj "$nj" --mfcc-config "$recipe/conf/mfcc.conf" \
    --hires-config "$recipe/conf/mfcc_hires.conf" --fbank-config "$recipe/conf/fbank.conf" \
    --vad-config "$recipe/conf/vad.conf" "$data" "$work/log" "$work/feats"
fi
for src in "$recipe/exp/mono" "$recipe/$asr_exp"; do
  name=$(basename "$src")
  set_feats=hires
  [ "$name" = mono ] || set_feats=$feats
  [ -f "$work/ali_$name/ali.scp" ] || \
    steps/align_sb.sh --nj "$nj" "${data}_$set_feats" "$work/lang" "$src" "$work/ali_$name"
  echo "== boundaries, alignment with $src:"
  python bench/alignment_boundaries.py --ref-map "$map" --hyp-map "$map" \
    "$data/phones.ctm" "$work/ali_$name/ali.ctm"
done
python -m sertl.bin.eval_asr --phone-map "$map" --ref-text "$data/text" "${data}_$feats" \
  "$recipe/$asr_exp/final.pt" "$work/eval_$(basename "$asr_exp")" 2> "$work/eval.log"
echo "== phone error rate of $recipe/$asr_exp on the TIMIT sample (39 phones):"
grep '^eval_asr:' "$work/eval.log" | tail -n 1

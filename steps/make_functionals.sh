#!/usr/bin/env bash
# Usage: steps/make_functionals.sh [options] <data-dir> <out-data-dir> [<log-dir> [<feat-dir>]]
# openSMILE functionals (the classical SER baseline's input): <out-data-dir> is a copy of
# <data-dir> whose feats.scp holds one (1, D) matrix per utterance (ComParE_2016: 6373,
# eGeMAPSv02: 88), computed from the audio resampled to --sample-frequency. Logs in
# <log-dir> (default <out-data-dir>/log), arks in <feat-dir> (default <out-data-dir>/data).
# A complete <out-data-dir> (feats.scp for every utterance, same feature set) is kept as it
# is, so the functionals of a corpus are computed once; a new run replaces an incomplete one.
# e.g.: steps/make_functionals.sh --feature-set eGeMAPSv02 data/emodb data/emodb_egemaps
# Options:
#   --feature-set <name>     ComParE_2016 or eGeMAPSv02 (default ComParE_2016)
#   --sample-frequency <hz>  (default 16000)
#   --nj <n>                 parallel jobs, split by speaker (default 4)
#   --cmd <cmd>              job runner (default run.py)
set -euo pipefail
feature_set=ComParE_2016
sample_frequency=16000
nj=4
cmd=run.py
. utils/parse_options.sh
[ $# -ge 2 ] && [ $# -le 4 ] || { echo "$help_message" >&2; exit 1; }
data=${1%/}
out=${2%/}
logdir=${3:-$out/log}
featdir=${4:-$out/data}
name=$(basename "$out")
[ -f "$data/wav.scp" ] || { echo "$0: no $data/wav.scp" >&2; exit 1; }
case $feature_set in ComParE_2016|eGeMAPSv02) ;;
  *) echo "$0: --feature-set must be ComParE_2016 or eGeMAPSv02, not '$feature_set'" >&2; exit 1 ;;
esac
stamp="$feature_set $sample_frequency"
if [ -f "$out/feats.scp" ] && [ "$(cat "$out/functionals" 2>/dev/null)" = "$stamp" ] && \
   cmp -s <(cut -d' ' -f1 "$out/feats.scp") <(cut -d' ' -f1 "$data/utt2spk"); then
  echo "$0: $out: $feature_set functionals complete already" >&2
  exit 0
fi
utils/validate_data_dir.sh --no-feats --no-text "$data"
rm -rf "$out"
utils/copy_data_dir.sh "$data" "$out"
rm -f "$out/feats.scp" "$out/cmvn.scp" "$out/vad.scp" "$out/utt2num_frames"
mkdir -p "$logdir" "$featdir"
featdir=$(cd "$featdir" && pwd)
num_spk=$(wc -l < "$out/spk2utt")
[ "$nj" -gt "$num_spk" ] && nj=$num_spk
utils/split_data.sh "$out" "$nj"
echo "$0: $feature_set functionals of $data ($nj jobs), logs in $logdir" >&2
$cmd JOB=1:$nj "$logdir/make_functionals_$name.JOB.log" \
  python -m sertl.bin.compute_functionals --feature-set "$feature_set" \
    --sample-frequency "$sample_frequency" "$out/split$nj/JOB" \
    "$featdir/functionals_$name.JOB.ark" "$featdir/functionals_$name.JOB.scp"
for n in $(seq "$nj"); do cat "$featdir/functionals_$name.$n.scp"; done | sort > "$out/feats.scp.tmp"
mv "$out/feats.scp.tmp" "$out/feats.scp"
echo "$stamp" > "$out/functionals"
utils/validate_data_dir.sh --no-text "$out"
echo "$0: wrote $feature_set functionals of $(wc -l < "$out/feats.scp") utterances to $out" >&2

#!/usr/bin/env bash
# Usage: steps/extract_ivectors.sh [options] <data-dir> <extractor-dir> <ivector-dir>
# One i-vector per utterance and per speaker of <data-dir> with <extractor-dir>/final.ie,
# for scoring and analysis (Kaldi's sid/extract_ivectors.sh): <ivector-dir>/ivector.scp
# (posterior means from all frames of each utterance) and <ivector-dir>/spk_ivector.scp
# (length-normalised mean of the speaker's length-normalised utterance i-vectors).
# Logs in <ivector-dir>/log.
# Options:
#   --nj <n>        parallel jobs, split by speaker (default 4)
#   --cmd <cmd>     job runner (default run.py)
#   --device <dev>  torch device, e.g. cpu or cuda (default: cuda if available)
set -euo pipefail
nj=4
cmd=run.py
device=
. utils/parse_options.sh
[ $# -eq 3 ] || { echo "$help_message" >&2; exit 1; }
data=$1
extractor=$2/final.ie
dir=$3
for f in "$data/feats.scp" "$data/spk2utt" "$extractor"; do
  [ -f "$f" ] || { echo "$0: no $f" >&2; exit 1; }
done
mkdir -p "$dir/log"
dir=$(cd "$dir" && pwd)
name=$(basename "$data")
rm -f "$dir/ivector.scp" "$dir/spk_ivector.scp"

num_spk=$(wc -l < "$data/spk2utt")
[ "$nj" -gt "$num_spk" ] && nj=$num_spk
utils/split_data.sh "$data" "$nj"
echo "$0: extracting i-vectors of $data ($nj jobs), logs in $dir/log" >&2
$cmd JOB=1:$nj "$dir/log/extract_$name.JOB.log" \
  python -m sertl.bin.extract_ivectors ${device:+--device "$device"} "$extractor" \
    "$data/split$nj/JOB" "$dir/ivector.JOB.ark" "$dir/ivector.JOB.scp" \
    "$dir/spk_ivector.JOB.ark" "$dir/spk_ivector.JOB.scp"
for kind in ivector spk_ivector; do
  for n in $(seq "$nj"); do cat "$dir/$kind.$n.scp"; done | sort > "$dir/$kind.scp.tmp"
  mv "$dir/$kind.scp.tmp" "$dir/$kind.scp"
done
echo "$0: wrote i-vectors of $(wc -l < "$dir/ivector.scp") utterances and" \
     "$(wc -l < "$dir/spk_ivector.scp") speakers to $dir" >&2

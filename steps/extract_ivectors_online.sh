#!/usr/bin/env bash
# Usage: steps/extract_ivectors_online.sh [options] <data-dir> <extractor-dir> <ivector-dir>
# Online i-vectors of <data-dir> with <extractor-dir>/final.ie, as Kaldi's
# steps/online/nnet2/extract_ivectors_online.sh: one matrix per utterance whose row k is
# the i-vector of frames 0..k*period (with the statistics carried over from the
# speaker's previous utterance), so a network appends row t/period to frame t.
# Writes <ivector-dir>/ivector_online.scp (arks ivector_online.JOB.ark), and
# <ivector-dir>/ivector_period holding the period. Logs in <ivector-dir>/log.
# Options:
#   --nj <n>                     parallel jobs, split by speaker (default 4)
#   --cmd <cmd>                  job runner (default run.py)
#   --ivector-period <n>         frames between i-vectors (default 10)
#   --utts-per-spk-max <n>       utterances per pseudo-speaker that share statistics;
#                                -1: whole speakers (default 2)
#   --max-remembered-frames <n>  frames of statistics carried to the next utterance
#                                (default 1000)
#   --device <dev>               torch device, e.g. cpu or cuda (default: cuda if available)
set -euo pipefail
nj=4
cmd=run.py
ivector_period=10
utts_per_spk_max=2
max_remembered_frames=1000
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
rm -f "$dir/ivector_online.scp"

num_spk=$(wc -l < "$data/spk2utt")
[ "$nj" -gt "$num_spk" ] && nj=$num_spk
utils/split_data.sh "$data" "$nj"
echo "$0: extracting online i-vectors of $data ($nj jobs), logs in $dir/log" >&2
$cmd JOB=1:$nj "$dir/log/extract_online_$name.JOB.log" \
  python -m sertl.bin.extract_ivectors_online --ivector-period "$ivector_period" \
    --utts-per-spk-max "$utts_per_spk_max" --max-remembered-frames "$max_remembered_frames" \
    ${device:+--device "$device"} "$extractor" "$data/split$nj/JOB" \
    "$dir/ivector_online.JOB.ark" "$dir/ivector_online.JOB.scp"
echo "$ivector_period" > "$dir/ivector_period"
for n in $(seq "$nj"); do cat "$dir/ivector_online.$n.scp"; done | sort > "$dir/ivector_online.scp.tmp"
mv "$dir/ivector_online.scp.tmp" "$dir/ivector_online.scp"
echo "$0: wrote online i-vectors of $(wc -l < "$dir/ivector_online.scp") utterances to" \
     "$dir/ivector_online.scp (period $ivector_period)" >&2

#!/usr/bin/env bash
# Shared body of steps/make_fbank.sh and steps/make_mfcc.sh (call those instead).
# Usage: steps/internal/make_feats.sh --feature-type <fbank|mfcc> [--config FILE] [--nj N]
#            [--cmd CMD] <data-dir> [<log-dir> [<feat-dir>]]
# Writes <feat-dir>/raw_<type>_<name>.JOB.{ark,scp}, one job per speaker split, then
# <data-dir>/feats.scp and utt2num_frames. The jobs write into a staging dir under
# <feat-dir>; only when every job has succeeded (so the option file and all audio are
# known good) are the old feats.scp, utt2num_frames, cmvn.scp and vad.scp removed and the
# new arks moved into place. A failed or killed run leaves the previous outputs as they
# were, and no scp ever points into an ark being rewritten.
set -euo pipefail
feature_type=
config=
nj=4
cmd=run.py
help_message="Usage: $0 --feature-type <fbank|mfcc> [--config FILE] [--nj N] [--cmd CMD] <data-dir> [<log-dir> [<feat-dir>]]"
. utils/parse_options.sh

if [ $# -lt 1 ] || [ $# -gt 3 ] || [ -z "$feature_type" ]; then
  echo "$help_message" >&2; exit 1
fi
data=$1
name=$(basename "$data")
logdir=${2:-$data/log}
featdir=${3:-$data/data}
[ -n "$config" ] && [ ! -f "$config" ] && { echo "$0: no such config file: $config" >&2; exit 1; }
[ -f "$data/wav.scp" ] || { echo "$0: no $data/wav.scp" >&2; exit 1; }
. utils/lock.sh
lock_dir "$data"

utils/validate_data_dir.sh --no-feats --no-text "$data"
mkdir -p "$logdir" "$featdir"
featdir=$(cd "$featdir" && pwd)
staging=$featdir/staging_${feature_type}_$name
rm -rf "$staging"
mkdir -p "$staging"

num_spk=$(wc -l < "$data/spk2utt")
[ "$nj" -gt "$num_spk" ] && nj=$num_spk
utils/split_data.sh "$data" "$nj"
split=$data/split$nj

echo "$0: computing $feature_type features for $data ($nj jobs), logs in $logdir" >&2
$cmd JOB=1:$nj "$logdir/make_${feature_type}_${name}.JOB.log" \
  python -m sertl.bin.compute_feats --feature-type "$feature_type" ${config:+--config "$config"} \
    "$split/JOB" "$staging/raw_${feature_type}_$name.JOB.ark" \
    "$staging/raw_${feature_type}_$name.JOB.scp" "$staging/utt2num_frames_$name.JOB"

# All jobs succeeded: from here the old index is invalid. The scp lines are rewritten from
# the staging dir to <feat-dir> (key, then the path up to its last "/").
rm -f "$data/feats.scp" "$data/utt2num_frames" "$data/cmvn.scp" "$data/vad.scp"
for n in $(seq "$nj"); do
  base=raw_${feature_type}_$name.$n
  mv -f "$staging/$base.ark" "$featdir/$base.ark"
  featdir=$featdir awk '{ key = $1; rest = substr($0, length(key) + 2); sub(/.*\//, "", rest)
                          print key " " ENVIRON["featdir"] "/" rest }' \
    "$staging/$base.scp" > "$featdir/$base.scp"
  mv -f "$staging/utt2num_frames_$name.$n" "$featdir/utt2num_frames_$name.$n"
done
rm -rf "$staging"
for n in $(seq "$nj"); do cat "$featdir/raw_${feature_type}_$name.$n.scp"; done \
  | sort > "$data/feats.scp.tmp"
for n in $(seq "$nj"); do cat "$featdir/utt2num_frames_$name.$n"; done \
  | sort > "$data/utt2num_frames"
mv "$data/feats.scp.tmp" "$data/feats.scp"

num_utts=$(wc -l < "$data/utt2spk")
num_feats=$(wc -l < "$data/feats.scp")
if [ "$num_feats" -ne "$num_utts" ]; then
  echo "$0: only $num_feats of $num_utts utterances got features (too short?);" \
       "run utils/fix_data_dir.sh $data" >&2
  [ "$num_feats" -lt $((num_utts - num_utts / 20)) ] && { echo "$0: more than 5% failed" >&2; exit 1; }
fi
echo "$0: wrote $feature_type features for $num_feats utterances to $data/feats.scp" >&2

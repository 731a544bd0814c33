#!/usr/bin/env bash
# Usage: steps/compute_cmvn_stats.sh [--fake] <data-dir> [<log-dir> [<cmvn-dir>]]
# Computes per-speaker cepstral mean and variance statistics of <data-dir>/feats.scp into
# <cmvn-dir>/cmvn_<name>.{ark,scp} (default <data-dir>/data) and <data-dir>/cmvn.scp.
# They are applied when features are read (apply-cmvn), not here.
# Options:
#   --fake   write identity statistics (no normalisation) for recipes that want none
set -euo pipefail
fake=false
. utils/parse_options.sh
[ $# -ge 1 ] && [ $# -le 3 ] || { echo "$help_message" >&2; exit 1; }
data=$1
name=$(basename "$data")
logdir=${2:-$data/log}
cmvndir=${3:-$data/data}
. utils/lock.sh
lock_dir "$data"
[ -f "$data/feats.scp" ] || { echo "$0: no $data/feats.scp (make features first)" >&2; exit 1; }
mkdir -p "$logdir" "$cmvndir"
cmvndir=$(cd "$cmvndir" && pwd)
rm -f "$data/cmvn.scp"
fake_opt=
$fake && fake_opt=--fake
python -m sertl.bin.compute_cmvn_stats $fake_opt "$data" "$cmvndir/cmvn_$name.ark" \
  "$cmvndir/cmvn_$name.scp" 2> "$logdir/cmvn_$name.log" \
  || { echo "$0: failed, see $logdir/cmvn_$name.log" >&2; tail -n 3 "$logdir/cmvn_$name.log" >&2; exit 1; }
cp "$cmvndir/cmvn_$name.scp" "$data/cmvn.scp"
echo "$0: wrote $($fake && echo "fake ")CMVN stats for $(wc -l < "$data/cmvn.scp") speakers to $data/cmvn.scp" >&2

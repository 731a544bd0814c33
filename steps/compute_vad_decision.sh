#!/usr/bin/env bash
# Usage: steps/compute_vad_decision.sh [options] <data-dir> [<log-dir> [<vad-dir>]]
# Energy-based voice activity detection on MFCC features (<data-dir>/feats.scp, column 0
# = C0 or log-energy), as Kaldi's compute-vad: writes <vad-dir>/vad_<name>.JOB.{ark,scp}
# (default <data-dir>/data) and <data-dir>/vad.scp, one 0/1 vector per utterance.
# Options:
#   --nj <n>             number of parallel jobs (default 4)
#   --cmd <cmd>          job runner (default run.py)
#   --vad-config <file>  Kaldi option file (default conf/vad.conf)
set -euo pipefail
nj=4
cmd=run.py
vad_config=conf/vad.conf
. utils/parse_options.sh
[ $# -ge 1 ] && [ $# -le 3 ] || { echo "$help_message" >&2; exit 1; }
data=$1
name=$(basename "$data")
logdir=${2:-$data/log}
vaddir=${3:-$data/data}
. utils/lock.sh
lock_dir "$data"
[ -f "$data/feats.scp" ] || { echo "$0: no $data/feats.scp (make features first)" >&2; exit 1; }
[ -f "$vad_config" ] || { echo "$0: no such config file: $vad_config" >&2; exit 1; }
mkdir -p "$logdir" "$vaddir"
vaddir=$(cd "$vaddir" && pwd)
rm -f "$data/vad.scp"

num_spk=$(wc -l < "$data/spk2utt")
[ "$nj" -gt "$num_spk" ] && nj=$num_spk
utils/split_data.sh "$data" "$nj"
$cmd JOB=1:$nj "$logdir/vad_$name.JOB.log" \
  python -m sertl.bin.compute_vad --config "$vad_config" "$data/split$nj/JOB" \
    "$vaddir/vad_$name.JOB.ark" "$vaddir/vad_$name.JOB.scp"
for n in $(seq "$nj"); do cat "$vaddir/vad_$name.$n.scp"; done | sort > "$data/vad.scp.tmp"
mv "$data/vad.scp.tmp" "$data/vad.scp"
echo "$0: wrote VAD decisions for $(wc -l < "$data/vad.scp") utterances to $data/vad.scp" >&2

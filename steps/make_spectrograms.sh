#!/usr/bin/env bash
# Usage: steps/make_spectrograms.sh [options] <data-dir> <out-data-dir> [<log-dir> [<feat-dir>]]
# Utterance-level spectrogram images (the input of the ResNet34 SER system): <out-data-dir>
# is a copy of <data-dir> whose feats.scp holds one (frames, bins) log mel spectrogram or
# MFCC matrix per utterance, as librosa computes them (sertl/spectrogram.py), from the
# audio resampled to the config's --sample-frequency.
# Logs in <log-dir> (default <out-data-dir>/log), arks in <feat-dir> (default
# <out-data-dir>/data). The options used are kept in <out-data-dir>/spectrogram.conf; a
# complete <out-data-dir> (every utterance, same options) is kept as it is, so the images
# of a data dir are computed once; a new run replaces an incomplete or different one.
# e.g.: steps/make_spectrograms.sh --spectrogram-config conf/spectrogram.conf \
#         data/urdu data/urdu_spec
# Options:
#   --spectrogram-config <file>  librosa options, Kaldi option syntax (--n-mels=128; default:
#                                sertl.spectrogram's defaults)
#   --nj <n>                     parallel jobs, split by speaker (default 4)
#   --cmd <cmd>                  job runner (default run.py)
set -euo pipefail
spectrogram_config=
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
[ -z "$spectrogram_config" ] || [ -f "$spectrogram_config" ] || \
  { echo "$0: no such file: $spectrogram_config" >&2; exit 1; }
# the options in full (a bad option fails here, naming the file and line)
options=$(python -m sertl.bin.compute_spectrograms --print-options ${spectrogram_config:+--config "$spectrogram_config"})
if [ -f "$out/feats.scp" ] && [ "$(cat "$out/spectrogram.conf" 2>/dev/null)" = "$options" ] && \
   cmp -s <(cut -d' ' -f1 "$out/feats.scp") <(cut -d' ' -f1 "$data/utt2spk"); then
  echo "$0: $out: spectrograms complete already" >&2
  exit 0
fi
utils/validate_data_dir.sh --no-feats --no-text "$data"
rm -rf "$out"
utils/copy_data_dir.sh "$data" "$out"
rm -f "$out/feats.scp" "$out/cmvn.scp" "$out/vad.scp" "$out/utt2num_frames"
mkdir -p "$logdir" "$featdir"
featdir=$(cd "$featdir" && pwd)
echo "$options" > "$logdir/spectrogram.conf"  # read by the jobs; recorded when all succeed
num_spk=$(wc -l < "$out/spk2utt")
[ "$nj" -gt "$num_spk" ] && nj=$num_spk
utils/split_data.sh "$out" "$nj"
echo "$0: spectrograms of $data ($nj jobs), logs in $logdir" >&2
$cmd JOB=1:$nj "$logdir/make_spectrograms_$name.JOB.log" \
  python -m sertl.bin.compute_spectrograms --config "$logdir/spectrogram.conf" \
    "$out/split$nj/JOB" "$featdir/spectrogram_$name.JOB.ark" "$featdir/spectrogram_$name.JOB.scp"
for n in $(seq "$nj"); do cat "$featdir/spectrogram_$name.$n.scp"; done | sort > "$out/feats.scp.tmp"
mv "$out/feats.scp.tmp" "$out/feats.scp"
cp "$logdir/spectrogram.conf" "$out/spectrogram.conf"
utils/validate_data_dir.sh --no-text "$out"
echo "$0: wrote spectrograms of $(wc -l < "$out/feats.scp") utterances to $out" >&2

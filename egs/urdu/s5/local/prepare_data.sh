#!/usr/bin/env bash
# Usage: local/prepare_data.sh [options] <corpus-dir> <data-dir>
# Makes a Kaldi data dir from URDU (<corpus-dir>/{Angry,Happy,Neutral,Sad}/SM1_F10_A010.wav).
# Writes wav.scp utt2spk spk2utt spk2gender utt2emo utt2fold utt2lang (validated) and logs
# the counts per class, speaker and fold. Layout, ids and folds: README.md.
# e.g.: local/prepare_data.sh /corpora/urdu data/urdu
# Options:
#   --label-map <file>  raw label -> class conf (default conf/labels.yaml, 4 classes)
#   --num-folds <n>     0: leave-one-speaker-out (utt2fold = speaker id); n > 0: n
#                       speaker-independent folds 1..n (default 5)
set -euo pipefail
label_map=conf/labels.yaml
num_folds=5
. utils/parse_options.sh
[ $# -eq 2 ] || { echo "$help_message" >&2; exit 1; }
python -m sertl.bin.prepare_emotion urdu --label-map "$label_map" --num-folds "$num_folds" \
  "$1" "$2"

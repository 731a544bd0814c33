#!/usr/bin/env bash
# Usage: local/prepare_data.sh [options] <corpus-dir> <data-dir>
# Makes a Kaldi data dir from CREMA-D (<corpus-dir>/AudioWAV/1001_DFA_ANG_XX.wav,
# genders from <corpus-dir>/VideoDemographics.csv).
# Writes wav.scp utt2spk spk2utt spk2gender utt2emo utt2fold utt2lang (validated) and logs
# the counts per class, speaker and fold. Layout, ids and folds: README.md.
# e.g.: local/prepare_data.sh --num-folds 5 /corpora/CREMA-D data/cremad
# Options:
#   --label-map <file>  raw label -> class conf (default conf/labels.yaml, all emotions;
#                       conf/labels_4class.yaml: neu hap sad ang)
#   --num-folds <n>     0: leave-one-speaker-out (utt2fold = speaker id); n > 0: n
#                       speaker-independent folds 1..n (default 0)
set -euo pipefail
label_map=conf/labels.yaml
num_folds=0
. utils/parse_options.sh
[ $# -eq 2 ] || { echo "$help_message" >&2; exit 1; }
python -m sertl.bin.prepare_emotion cremad --label-map "$label_map" --num-folds "$num_folds" \
  "$1" "$2"

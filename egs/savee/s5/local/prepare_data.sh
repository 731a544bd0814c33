#!/usr/bin/env bash
# Usage: local/prepare_data.sh [options] <corpus-dir> <data-dir>
# Makes a Kaldi data dir from SAVEE (<corpus-dir>/AudioData/{DC,JE,JK,KL}/sa01.wav).
# Writes wav.scp utt2spk spk2utt spk2gender utt2emo utt2fold utt2lang (validated) and logs
# the counts per class, speaker and fold. Layout, ids and folds: README.md.
# e.g.: local/prepare_data.sh /corpora/savee data/savee
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
python -m sertl.bin.prepare_emotion savee --label-map "$label_map" --num-folds "$num_folds" \
  "$1" "$2"

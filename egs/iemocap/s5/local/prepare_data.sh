#!/usr/bin/env bash
# Usage: local/prepare_data.sh [options] <corpus-dir> <data-dir>
# Makes a Kaldi data dir from IEMOCAP (<corpus-dir> is IEMOCAP_full_release, holding
# Session{1..5}/sentences/wav/<dialog>/<turn>.wav and the labels in
# Session<n>/dialog/EmoEvaluation/<dialog>.txt).
# Writes wav.scp utt2spk spk2utt spk2gender utt2emo utt2fold (the session) utt2lang
# (validated) and logs the counts per class, speaker and fold. See README.md.
# e.g.: local/prepare_data.sh --label-map conf/labels_4class_exc.yaml \
#         /corpora/IEMOCAP_full_release data/iemocap
# Options:
#   --label-map <file>  raw label -> class conf (default conf/labels.yaml, 10 categories;
#                       conf/labels_4class_exc.yaml: neu hap+exc sad ang;
#                       conf/labels_4class.yaml: neu hap sad ang)
#   --sessions <list>   comma-separated sessions to take (default 1,2,3,4,5)
#   --subset <name>     improvised, scripted or all dialogs (default all)
set -euo pipefail
label_map=conf/labels.yaml
sessions=1,2,3,4,5
subset=all
. utils/parse_options.sh
[ $# -eq 2 ] || { echo "$help_message" >&2; exit 1; }
python -m sertl.bin.prepare_emotion iemocap --label-map "$label_map" --sessions "$sessions" \
  --subset "$subset" "$1" "$2"
# "<speaker> <utt>..." for the speakers of sessions 1-4 (utt2spk is sorted by speaker)
awk '$2 !~ /^Ses05/ { if ($2 != spk) { if (spk != "") print line; spk = $2; line = spk }
                      line = line " " $1 }
     END { if (spk != "") print line }' "$2/utt2spk" > "$2/folds_fayek8"

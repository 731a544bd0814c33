#!/usr/bin/env bash
# Usage: utils/subset_data_dir.sh <src-data> <N> <dest-data>               (first N utterances)
#        utils/subset_data_dir.sh --per-spk <src-data> <N> <dest-data>     (N per speaker)
#        utils/subset_data_dir.sh [--first N | --per-spk N | --utt-list FILE | --spk-list FILE]
#                                 <src-data> <dest-data>
# Writes the chosen utterances of <src-data>, with every table subsetted alike, to <dest-data>.
# Options:
#   --first N        the first N utterances (sorted order)
#   --per-spk N      the first N utterances of each speaker (in Kaldi's form, a <src-data>
#                    named only by digits must be written ./NAME, else it is read as N)
#   --utt-list FILE  the utterances whose ids are the first field of FILE's lines
#   --spk-list FILE  all utterances of the speakers listed in FILE
set -euo pipefail
exec python -m sertl.bin.datadir subset_data_dir "$@"

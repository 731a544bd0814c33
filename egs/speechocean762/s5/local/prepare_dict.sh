#!/usr/bin/env bash
# Usage: local/prepare_dict.sh <corpus-dir> <dict-dir>
# Writes a dict dir from speechocean762's resource/lexicon.txt (ARPAbet with stress;
# <UNK> added as spoken noise SPN; silence phones SIL and SPN).
# e.g.: local/prepare_dict.sh /corpora/speechocean762 data/local/dict
#       utils/prepare_lang.sh --remove-stress true data/local/dict "<UNK>" data/lang
set -euo pipefail
. utils/parse_options.sh
[ $# -eq 2 ] || { echo "$help_message" >&2; exit 1; }
python -m sertl.bin.prepare_dict speechocean "$1" "$2"

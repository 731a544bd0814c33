#!/usr/bin/env bash
# Usage: local/prepare_dict.sh <corpus-dir> <dict-dir>
# Writes a dict dir from the release's TEDLIUM.152k.dic (variants "word(2)" merged, <unk>
# added as the noise phone NSN; silence phones SIL, NSN and the filler-only phones).
# e.g.: local/prepare_dict.sh /corpora/TEDLIUM_release2 data/local/dict
#       utils/prepare_lang.sh data/local/dict "<unk>" data/lang
set -euo pipefail
. utils/parse_options.sh
[ $# -eq 2 ] || { echo "$help_message" >&2; exit 1; }
python -m sertl.bin.prepare_dict tedlium "$1" "$2"

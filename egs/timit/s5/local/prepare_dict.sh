#!/usr/bin/env bash
# Usage: local/prepare_dict.sh [options] <corpus-dir> <dict-dir>
# Writes a dict dir whose words are the phones of the chosen set (TIMIT's text holds
# phones), for utils/prepare_lang.sh. Silence phones: sil (h# and pau in the 61 set).
# The corpus is not read (the lexicon maps each phone to itself); <corpus-dir> is there
# for the calling convention of egs/TEMPLATE/asr1/asr.sh.
# e.g.: local/prepare_dict.sh --phone-set 48 /corpora/TIMIT data/local/dict
#       utils/prepare_lang.sh data/local/dict sil data/lang
# Options:
#   --phone-set <61|48|39>  the phone set of the data dirs' text (default 48)
set -euo pipefail
phone_set=48
. utils/parse_options.sh
[ $# -eq 2 ] || { echo "$help_message" >&2; exit 1; }
python -m sertl.bin.prepare_dict timit --phone-set "$phone_set" \
  --phone-map conf/phones.60-48-39.map "$2"

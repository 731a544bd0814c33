#!/usr/bin/env bash
# Usage: local/prepare_dict.sh <corpus-dir> <dict-dir>
# Makes the default recipe's Kaldi dict dir from the generated corpus's lexicon
# (<corpus-dir>/lexicon.txt, eSpeak phone mnemonics, most frequent pronunciation first):
#   lexicon.txt             the corpus lexicon plus "<UNK> spn" (the OOV word)
#   silence_phones.txt      sil (pauses) and spn (spoken noise, for <UNK>)
#   optional_silence.txt    sil
#   nonsilence_phones.txt   every phone of the lexicon, one per line
# e.g.: local/prepare_dict.sh corpus data/local/dict
#       utils/prepare_lang.sh data/local/dict "<UNK>" data/lang
set -euo pipefail
. utils/parse_options.sh
[ $# -eq 2 ] || { echo "$help_message" >&2; exit 1; }
corpus=$1
dict=$2
lexicon=$corpus/lexicon.txt
[ -s "$lexicon" ] || { echo "$0: no such file or empty: $lexicon" >&2; exit 1; }
if grep -q -v '^[^ ]\+\( [^ ]\+\)\+$' "$lexicon"; then
  echo "$0: $lexicon:$(grep -n -v -m 1 '^[^ ]\+\( [^ ]\+\)\+$' "$lexicon" | cut -d: -f1):" \
       "expected 'WORD phone ...' separated by single spaces" >&2
  exit 1
fi
mkdir -p "$dict"
# "<" sorts before every letter in the C locale, so the lexicon stays sorted.
{ echo "<UNK> spn"; cat "$lexicon"; } > "$dict/lexicon.txt"
printf 'sil\nspn\n' > "$dict/silence_phones.txt"
echo sil > "$dict/optional_silence.txt"
cut -d' ' -f2- "$lexicon" | tr ' ' '\n' | sort -u | grep -v -x -e sil -e spn \
  > "$dict/nonsilence_phones.txt"
echo "$0: $dict: $(wc -l < "$lexicon") pronunciations," \
     "$(wc -l < "$dict/nonsilence_phones.txt") nonsilence phones" >&2

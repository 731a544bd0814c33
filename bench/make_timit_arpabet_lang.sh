#!/usr/bin/env bash
# Usage: bench/make_timit_arpabet_lang.sh <speechocean762-dir> <work-dir>
# A lang dir (<work-dir>/lang) in which TIMIT's 39 phones are words, for aligning TIMIT
# utterances (transcripts: their .PHN phones folded to the 39-phone set) with models of
# speechocean762's ARPAbet phones: speechocean762's dict (stress removed) plus one word
# per TIMIT phone (lower case, unlike its words), pronounced as the ARPAbet phone that
# bench/timit39-arpabet.map folds onto it (the flap dx as D). Its phones.txt is that of
# egs/speechocean762/s5's data/lang. Run from the repository root, path.sh sourced.
set -euo pipefail
. utils/parse_options.sh
[ $# -eq 2 ] || { echo "$help_message" >&2; exit 1; }
speechocean=$1
work=$2
map=bench/timit39-arpabet.map
python -m sertl.bin.prepare_dict speechocean "$speechocean" "$work/dict_speechocean"
mkdir -p "$work/dict"
cp "$work/dict_speechocean"/{silence_phones.txt,optional_silence.txt} "$work/dict"
{ cat "$work/dict_speechocean/lexicon.txt"
  awk '$1 == toupper($2) {print $2, $1} $1 == "dx" {print $1, toupper($2)}' "$map"
} > "$work/dict/lexicon.txt"
# The stress-free phones join their groups in nonsilence_phones.txt, so that prepare_lang
# accepts them before removing stress.
awk '{base = $1; sub(/[0-9]$/, "", base); line = $0
      for (i = 1; i <= NF; i++) if ($i == base) base = ""
      print (base == "" ? line : base " " line)}' \
  "$work/dict_speechocean/nonsilence_phones.txt" > "$work/dict/nonsilence_phones.txt"
utils/prepare_lang.sh --remove-stress true "$work/dict" "<UNK>" "$work/lang"

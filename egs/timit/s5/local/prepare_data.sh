#!/usr/bin/env bash
# Usage: local/prepare_data.sh [options] <corpus-dir> <data-dir>
# Makes TIMIT data dirs under <data-dir>: train, dev (50 speakers) and test (the 24-speaker
# core test set) from the LDC layout (TRAIN/TEST/DR<n>/<SPKR>/*.WAV, either case), or one
# set "sample" from the NLTK sample layout (dr<n>-<spkr>/*.wav). Each holds wav.scp,
# utt2spk, spk2utt, spk2gender, text (phones), text.words and phones.ctm (the manual phone
# boundaries). Speaker lists and the phone map are in conf/. See README.md.
# e.g.: local/prepare_data.sh --phone-set 48 /corpora/TIMIT data
# Options:
#   --phone-set <61|48|39>  phone set of text and phones.ctm (default 48)
#   --keep-sa <true|false>  keep the SA sentences every speaker reads (default false)
set -euo pipefail
phone_set=48
keep_sa=false
. utils/parse_options.sh
[ $# -eq 2 ] || { echo "$help_message" >&2; exit 1; }
sa_flag=()
[ "$keep_sa" = true ] && sa_flag=(--keep-sa)
python -m sertl.bin.prepare_corpus timit --phone-set "$phone_set" "${sa_flag[@]}" \
  --phone-map conf/phones.60-48-39.map --dev-spk conf/dev_spk.list \
  --test-spk conf/test_spk.list "$1" "$2"

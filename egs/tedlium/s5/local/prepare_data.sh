#!/usr/bin/env bash
# Usage: local/prepare_data.sh [options] <corpus-dir> <data-dir>
# Makes TED-LIUM data dirs train, dev and test under <data-dir> from a release 2 folder
# ({train,dev,test}/{sph,stm}) or a release 3 folder (legacy/{train,dev,test}, data/):
# wav.scp (per talk), segments and text from the .stm files (segments marked
# ignore_time_segment_in_scoring dropped), utt2spk, spk2utt; and oov_counts, the words
# missing from the release's TEDLIUM.152k.dic. See README.md.
# e.g.: local/prepare_data.sh /corpora/TEDLIUM_release2 data
# Options:
#   --train-source <legacy|data>  release 3: train from legacy/train (as Kaldi's s5_r3,
#                                 default) or from data/ (the full training set)
set -euo pipefail
train_source=legacy
. utils/parse_options.sh
[ $# -eq 2 ] || { echo "$help_message" >&2; exit 1; }
python -m sertl.bin.prepare_corpus tedlium --train-source "$train_source" "$1" "$2"

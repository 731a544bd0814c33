#!/usr/bin/env bash
# Usage: local/prepare_data.sh [options] <corpus-dir> <data-dir>
# Copies speechocean762's Kaldi data dirs (train/, and test/ if present) to <data-dir>
# with absolute audio paths (wav.scp, text, utt2spk, spk2utt, spk2gender, spk2age), and
# writes oov_counts against resource/lexicon.txt. See README.md.
# e.g.: local/prepare_data.sh --num-heldout-spk 20 /corpora/speechocean762 data
# Options:
#   --num-heldout-spk <n>  move n speakers of train to a "heldout" set, spread evenly over
#                          the speakers sorted by gender and id (default 0: none)
set -euo pipefail
num_heldout_spk=0
. utils/parse_options.sh
[ $# -eq 2 ] || { echo "$help_message" >&2; exit 1; }
python -m sertl.bin.prepare_corpus speechocean --num-heldout-spk "$num_heldout_spk" "$1" "$2"

#!/usr/bin/env bash
# Usage: utils/copy_data_dir.sh [options] <src-data> <dest-data>
# Copies a data dir (as Kaldi's utils/copy_data_dir.sh), renaming utterances and speakers;
# recordings are renamed with utterances when there is no segments file. With an utterance
# prefix or suffix, utt2uniq maps each new utterance id to the original one.
# Options:
#   --utt-prefix P   prepend P to utterance ids
#   --spk-prefix P   prepend P to speaker ids
#   --utt-suffix S   append S to utterance ids
#   --spk-suffix S   append S to speaker ids
# e.g.: utils/copy_data_dir.sh --utt-prefix sp1.1- --spk-prefix sp1.1- data/train data/train_sp1.1
set -euo pipefail
exec python -m sertl.bin.datadir copy_data_dir "$@"

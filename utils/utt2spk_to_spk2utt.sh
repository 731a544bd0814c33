#!/usr/bin/env bash
# Usage: utils/utt2spk_to_spk2utt.sh [<utt2spk>] > spk2utt
# Prints the spk2utt table (sorted) made from utt2spk, read from the file or stdin.
set -euo pipefail
exec python -m sertl.bin.datadir utt2spk_to_spk2utt "$@"

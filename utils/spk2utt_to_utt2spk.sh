#!/usr/bin/env bash
# Usage: utils/spk2utt_to_utt2spk.sh [<spk2utt>] > utt2spk
# Prints the utt2spk table (sorted) made from spk2utt, read from the file or stdin.
set -euo pipefail
exec python -m sertl.bin.datadir spk2utt_to_utt2spk "$@"

#!/usr/bin/env bash
# Usage: utils/data/get_utt2dur.sh <data-dir>
# Writes <data-dir>/utt2dur (seconds): end - start from segments if present, else the duration
# of each recording in wav.scp (read from the header, or by running a piped command).
# Does nothing when utt2dur already covers every utterance.
set -euo pipefail
exec python -m sertl.bin.datadir get_utt2dur "$@"

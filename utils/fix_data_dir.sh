#!/usr/bin/env bash
# Usage: utils/fix_data_dir.sh <data-dir>
# Sorts every table of <data-dir> and keeps only the utterances that all its tables agree on
# (and their speakers and recordings); rebuilds spk2utt. Prints what it dropped per file;
# the previous versions of changed files go to <data-dir>/.backup/.
set -euo pipefail
exec python -m sertl.bin.datadir fix_data_dir "$@"

#!/usr/bin/env bash
# Usage: utils/combine_data.sh <dest-data> <src-data1> <src-data2> ...
# Writes the union of the source data dirs to <dest-data> and validates it. A key present in
# several sources must have the same value in each. Tables missing from some sources are
# left out with a warning; if only some sources have segments, the others get whole-
# recording segments from their utt2dur.
set -euo pipefail
exec python -m sertl.bin.datadir combine_data "$@"

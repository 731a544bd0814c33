#!/usr/bin/env bash
# Usage: utils/split_data.sh <data-dir> <num-to-split>
# Splits <data-dir> by speaker into complete data dirs <data-dir>/split<N>/1..<N>, for jobs
# that read $data/split$nj/JOB. Each speaker goes to one part; parts are balanced in
# utterances. An existing split is reused while it is newer than every file of <data-dir>.
# e.g.: utils/split_data.sh data/train 4
set -euo pipefail
exec python -m sertl.bin.datadir split_data "$@"

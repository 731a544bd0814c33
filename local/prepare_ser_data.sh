#!/usr/bin/env bash
# Usage: local/prepare_ser_data.sh <corpus-dir> <data-dir>
# The SER pipeline's data prep in the default recipe: the SER part of the generated corpus,
# <data-dir> (data/ser), was written by stage 0 (local/prepare_data.sh) together with the
# ASR part; this checks that it is there and complete for <corpus-dir>.
set -euo pipefail
. utils/parse_options.sh
[ $# -eq 2 ] || { echo "$help_message" >&2; exit 1; }
[ -f "$1/lexicon.txt" ] || { echo "$0: $1 is not a generated corpus (run stage 0)" >&2; exit 1; }
[ -f "$2/utt2emo" ] || { echo "$0: no $2/utt2emo (run stage 0)" >&2; exit 1; }
utils/validate_data_dir.sh --no-feats "$2"

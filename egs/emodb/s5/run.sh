#!/usr/bin/env bash
# EmoDB recipe: 7-class speech emotion recognition (German, acted, 10 speakers),
# leave-one-speaker-out (10 folds).
# Systems: ser.sh's defaults (baselines, scratch, transfer; one table, exp/ser/results.md).
# Usage: ./run.sh --corpus-dir <dir> [--pretrained-exp <asr-exp>] [ser.sh options]
# e.g.:  ./run.sh --corpus-dir /corpora/emodb --pretrained-exp ../../speechocean762/s5/exp/tdnn_phones
# The corpus layout and protocol: README.md. All options and stages: ser.sh
# (egs/TEMPLATE/ser1/ser.sh); options given here are defaults that "$@" overrides.
set -euo pipefail
./ser.sh --corpus emodb \
  --prepare-data-opts "--label-map conf/labels.yaml --num-folds 0" \
  --nj 2 \
  "$@"

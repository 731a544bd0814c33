#!/usr/bin/env bash
# EMOVO recipe: 7-class speech emotion recognition (Italian, 6 actors),
# leave-one-speaker-out (6 folds).
# Systems: ser.sh's defaults (baselines, scratch, transfer; one table, exp/ser/results.md).
# Usage: ./run.sh --corpus-dir <dir> [--pretrained-exp <asr-exp>] [ser.sh options]
# e.g.:  ./run.sh --corpus-dir /corpora/EMOVO --pretrained-exp ../../speechocean762/s5/exp/tdnn_phones
# The corpus layout and protocol: README.md. All options and stages: ser.sh
# (egs/TEMPLATE/ser1/ser.sh); options given here are defaults that "$@" overrides.
set -euo pipefail
./ser.sh --corpus emovo \
  --prepare-data-opts "--label-map conf/labels.yaml --num-folds 0" \
  --nj 2 \
  "$@"

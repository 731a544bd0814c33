#!/usr/bin/env bash
# CREMA-D recipe: 6-class speech emotion recognition (91 actors), 5
# speaker-independent folds.
# Systems: ser.sh's defaults (baselines, scratch, transfer; one table, exp/ser/results.md).
# Usage: ./run.sh --corpus-dir <dir> [--pretrained-exp <asr-exp>] [ser.sh options]
# e.g.:  ./run.sh --corpus-dir /corpora/CREMA-D --pretrained-exp ../../speechocean762/s5/exp/tdnn_phones
# The corpus layout and protocol: README.md. All options and stages: ser.sh
# (egs/TEMPLATE/ser1/ser.sh); options given here are defaults that "$@" overrides.
set -euo pipefail
./ser.sh --corpus cremad \
  --prepare-data-opts "--label-map conf/labels.yaml --num-folds 5" \
  --nj 2 \
  "$@"

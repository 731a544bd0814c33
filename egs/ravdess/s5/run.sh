#!/usr/bin/env bash
# RAVDESS recipe: 8-class speech emotion recognition (speech part, 24 actors),
# 6 speaker-independent folds of 4 actors (--prepare-data-opts "--label-map
# conf/labels_4class.yaml --num-folds 6": the 4-class task).
# Systems: ser.sh's defaults (baselines, scratch, transfer; one table, exp/ser/results.md).
# Usage: ./run.sh --corpus-dir <dir> [--pretrained-exp <asr-exp>] [ser.sh options]
# e.g.:  ./run.sh --corpus-dir /corpora/ravdess --pretrained-exp ../../speechocean762/s5/exp/tdnn_phones
# The corpus layout and protocol: README.md. All options and stages: ser.sh
# (egs/TEMPLATE/ser1/ser.sh); options given here are defaults that "$@" overrides.
set -euo pipefail
./ser.sh --corpus ravdess \
  --prepare-data-opts "--label-map conf/labels.yaml --num-folds 6" \
  --nj 2 \
  "$@"

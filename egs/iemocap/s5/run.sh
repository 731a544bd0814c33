#!/usr/bin/env bash
# IEMOCAP recipe: 4-class speech emotion recognition (neu, hap with exc merged in,
# sad, ang; improvised and scripted), leave-one-session-out (5 folds), as Zhou & Beigi.
# Fayek et al.'s 8 folds (one per speaker of sessions 1-4, session 5 always trained on):
# --fold-list data/iemocap/folds_fayek8 (written by the data prep).
# Systems: ser.sh's defaults (baselines, scratch, transfer; one table, exp/ser/results.md).
# Usage: ./run.sh --corpus-dir <dir> [--pretrained-exp <asr-exp>] [ser.sh options]
# e.g.:  ./run.sh --corpus-dir /corpora/IEMOCAP_full_release --pretrained-exp ../../speechocean762/s5/exp/tdnn_phones
# The corpus layout and protocol: README.md. All options and stages: ser.sh
# (egs/TEMPLATE/ser1/ser.sh); options given here are defaults that "$@" overrides.
set -euo pipefail
./ser.sh --corpus iemocap \
  --prepare-data-opts "--label-map conf/labels_4class_exc.yaml --subset all" \
  --nj 2 \
  "$@"

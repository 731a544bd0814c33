#!/usr/bin/env bash
# SAVEE recipe: 7-class speech emotion recognition (4 male British speakers),
# leave-one-speaker-out (4 folds).
# Systems, one table (exp/ser/results.md): the openSMILE + SVM baselines (ComParE 2016 and
# eGeMAPS v02, each speaker standardised on its own utterances or one standardisation
# from the training speakers), the TDNN from scratch, and, with --pretrained-exp, transfer
# by fine-tuning (Zhou & Beigi) and by embedding (the TDNN's pooled tdnn12 activations +
# SVM), and their fusion with ComParE. ΔUA is paired over folds against the scratch
# network and against the ComParE + SVM baseline.
# Usage: ./run.sh --corpus-dir <dir> [--pretrained-exp <asr-exp>] [ser.sh options]
# e.g.:  ./run.sh --corpus-dir /corpora/savee --pretrained-exp ../../speechocean762/s5/exp/tdnn_phones
# The corpus layout and protocol: README.md. All options and stages: ser.sh
# (egs/TEMPLATE/ser1/ser.sh); options given here are defaults that "$@" overrides.
set -euo pipefail
./ser.sh --corpus savee \
  --prepare-data-opts "--label-map conf/labels.yaml --num-folds 0" \
  --systems "\
  conf/ser/compare_svm_speakernorm.yaml \
  conf/ser/compare_svm_trainnorm.yaml \
  conf/ser/egemaps_svm_speakernorm.yaml \
  conf/ser/egemaps_svm_trainnorm.yaml \
  conf/ser/tdnn_scratch.yaml \
  conf/ser/tdnn_bottleneck.yaml \
  conf/ser/tdnn_embedding_svm.yaml \
  conf/ser/compare_emb_svm_speakernorm.yaml" \
  --reference "tdnn_scratch compare_svm_speakernorm" \
  --nj 2 \
  "$@"

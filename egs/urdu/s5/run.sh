#!/usr/bin/env bash
# URDU recipe: 4-class speech emotion recognition (Urdu talk shows), 5
# speaker-independent folds; optionally cross-lingual (the pretrained network first
# fine-tuned on EmoDB: --intermediate-data ../../emodb/s5/data/emodb_hires).
# Systems, one table (exp/ser/results.md): the openSMILE + SVM baselines (ComParE 2016 and
# eGeMAPS v02, each speaker standardised on its own utterances or one standardisation
# from the training speakers), the TDNN from scratch, and, with --pretrained-exp, transfer
# by fine-tuning (Zhou & Beigi) and by embedding (the TDNN's pooled tdnn12 activations +
# SVM, also with training-fitted normalisation: URDU's speakers mostly show one emotion,
# so standardising a speaker on its own utterances removes it; for the same reason no
# per-speaker fusion with ComParE here). ΔUA is paired over folds against the scratch
# network and against the ComParE + SVM baseline with training-fitted normalisation.
# Usage: ./run.sh --corpus-dir <dir> [--pretrained-exp <asr-exp>] [ser.sh options]
# e.g.:  ./run.sh --corpus-dir /corpora/urdu --pretrained-exp ../../speechocean762/s5/exp/tdnn_phones
# The corpus layout and protocol: README.md. All options and stages: ser.sh
# (egs/TEMPLATE/ser1/ser.sh); options given here are defaults that "$@" overrides.
set -euo pipefail
./ser.sh --corpus urdu \
  --prepare-data-opts "--label-map conf/labels.yaml --num-folds 5" \
  --systems "\
  conf/ser/compare_svm_speakernorm.yaml \
  conf/ser/compare_svm_trainnorm.yaml \
  conf/ser/egemaps_svm_speakernorm.yaml \
  conf/ser/egemaps_svm_trainnorm.yaml \
  conf/ser/tdnn_scratch.yaml \
  conf/ser/tdnn_bottleneck.yaml \
  conf/ser/tdnn_embedding_svm.yaml \
  conf/ser/tdnn_embedding_svm_trainnorm.yaml" \
  --reference "tdnn_scratch compare_svm_trainnorm" \
  --nj 2 \
  "$@"

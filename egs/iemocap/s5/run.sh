#!/usr/bin/env bash
# IEMOCAP recipe: 4-class speech emotion recognition (neu, hap with exc merged in,
# sad, ang; improvised and scripted), leave-one-session-out (5 folds), as Zhou & Beigi.
# Fayek et al.'s 8 folds (one per speaker of sessions 1-4, session 5 always trained on):
# --fold-list data/iemocap/folds_fayek8 (written by the data prep).
# Systems, one table (exp/ser/results.md): the openSMILE + SVM baselines (ComParE 2016 and
# eGeMAPS v02, each speaker standardised on its own utterances or one standardisation
# from the training speakers), the TDNN from scratch, and, with --pretrained-exp, transfer
# by fine-tuning (Zhou & Beigi) and by embedding (the TDNN's pooled tdnn12 activations +
# SVM), and their fusion with ComParE. ΔUA is paired over folds against the scratch
# network and against the ComParE + SVM baseline.
# Usage: ./run.sh --corpus-dir <dir> [--pretrained-exp <asr-exp>] [ser.sh options]
# e.g.:  ./run.sh --corpus-dir /corpora/IEMOCAP_full_release --pretrained-exp ../../speechocean762/s5/exp/tdnn_phones
# The corpus layout and protocol: README.md. All options and stages: ser.sh
# (egs/TEMPLATE/ser1/ser.sh); options given here are defaults that "$@" overrides.
set -euo pipefail
./ser.sh --corpus iemocap \
  --prepare-data-opts "--label-map conf/labels_4class_exc.yaml --subset all" \
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

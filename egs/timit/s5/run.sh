#!/usr/bin/env bash
# TIMIT recipe: an ASR source model (Fayek et al.'s ConvNet on 40 log-mel fbanks, or a
# TDNN-F) trained on the 61 TIMIT phones (3 HMM states each) and scored on the 39-phone
# set of Lee & Hon (conf/phones.61-39.map).
# Usage: ./run.sh --corpus-dir <dir> [asr.sh options]
#   LDC release:  ./run.sh --corpus-dir /corpora/TIMIT
#       train (462 speakers, no SA sentences), scored on dev (50 speakers) and the core
#       test set (24 speakers)
#   NLTK sample:  ./run.sh --corpus-dir /corpora/timit_sample --train-set sample --test-sets ""
#       one set of 8 speakers; the model's validation speakers (conf's
#       num_valid_speakers) are the held-out ones (exp/<model>/eval_valid)
#   TDNN-F:       ./run.sh --corpus-dir ... --asr-config conf/tdnn.yaml
# All options and stages: asr.sh (egs/TEMPLATE/asr1/asr.sh); layouts: README.md.
set -euo pipefail
./asr.sh \
  --prepare-data-opts "--phone-set 61" \
  --prepare-dict-opts "--phone-set 61" \
  --oov h# \
  --test-sets "dev test" \
  --align-config conf/align_sb.yaml \
  --align-opts "--num-iters 4 --num-states 3" \
  --targets states \
  --asr-config conf/convnet_fayek.yaml \
  --eval-opts "--phone-map conf/phones.61-39.map" \
  --nj 4 \
  "$@"

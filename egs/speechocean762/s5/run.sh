#!/usr/bin/env bash
# speechocean762 recipe: an ASR source model for SER transfer (read L2 English of 250
# Mandarin speakers; Apache 2.0). The shared copy has only train/ (2000 utterances of
# 100 speakers in the full release's train half): 20 speakers are held out as the test
# set "heldout". With the full release, add test/ to --test-sets.
# Usage: ./run.sh --corpus-dir <speechocean762-dir> [asr.sh options]
# e.g.:  ./run.sh --corpus-dir /corpora/speechocean762
#        ./run.sh --corpus-dir /corpora/speechocean762 --stage 6 --asr-config conf/convnet.yaml
# Defaults: lang without stress marks (41 phones with SIL and SPN), MFCC hires + CMVN, a
# CPU-sized TDNN-F without i-vectors on phone targets (conf/tdnn_phones.yaml) ->
# exp/tdnn_phones. i-vectors, when a conf takes them (conf/tdnn_phones_ivector.yaml): a
# UBM of 512 Gaussians and a 100-dim extractor whose Gaussians are updated from 10
# (scaled) counts, not Kaldi's 100 (on these 1.6 h, 100 leaves all but 18 of 512 as
# they were). All options and stages: asr.sh (egs/TEMPLATE/asr1/asr.sh).
set -euo pipefail
./asr.sh \
  --prepare-data-opts "--num-heldout-spk 20" \
  --test-sets heldout \
  --lang-opts "--remove-stress true" \
  --ivector-opts "--ivector-dim 100 --num-iters 5 --gaussian-min-count 10" \
  --align-config conf/align_sb.yaml \
  --align-opts "--num-iters 4 --num-states 3" \
  --targets phones \
  --asr-config conf/tdnn_phones.yaml \
  --nj 2 \
  "$@"

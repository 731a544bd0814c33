#!/usr/bin/env bash
# TED-LIUM recipe (releases 2 and 3): the source model of Zhou & Beigi, a TDNN-F after
# Kaldi's tedlium tdnn_1g (conf/tdnn_1g.yaml) with 100-dim online i-vectors, trained on
# the HMM states of the forced alignment; scored on dev and test.
# Usage: ./run.sh --corpus-dir <TEDLIUM_release2 | TEDLIUM_release-3> [asr.sh options]
# e.g.:  ./run.sh --corpus-dir /corpora/TEDLIUM_release2
#        ./run.sh --corpus-dir /corpora/TEDLIUM_release-3 --prepare-data-opts "--train-source data"
#        ./run.sh --corpus-dir ... --asr-config conf/tdnn_cpu.yaml --train-opts ""   (no GPU)
# Defaults are sized for a GPU cluster: training data-parallel on 4 GPUs under torchrun
# (--train-opts; cmd.sh's cuda_cmd, e.g. slurm.py, places the job), feature, i-vector
# and alignment jobs 32 at a time (--nj). All options and stages: asr.sh
# (egs/TEMPLATE/asr1/asr.sh); layouts: README.md.
set -euo pipefail
./asr.sh \
  --test-sets "dev test" \
  --oov "<unk>" \
  --num-gauss 2048 \
  --ivector-opts "--ivector-dim 100 --num-iters 10" \
  --align-config conf/align_sb.yaml \
  --align-opts "--num-iters 4 --num-states 3" \
  --targets states \
  --asr-config conf/tdnn_1g.yaml \
  --train-opts "--nj-train 4 --use-gpu true" \
  --nj 32 \
  "$@"

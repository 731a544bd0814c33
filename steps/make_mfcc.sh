#!/usr/bin/env bash
# Usage: steps/make_mfcc.sh [options] <data-dir> [<log-dir> [<mfcc-dir>]]
# Computes Kaldi-compatible MFCC features for <data-dir> (wav.scp, optional segments) into
# <mfcc-dir> (default <data-dir>/data), writing <data-dir>/feats.scp and utt2num_frames.
# Logs in <log-dir> (default <data-dir>/log).
# Options:
#   --nj <n>               number of parallel jobs, split by speaker (default 4)
#   --cmd <cmd>            job runner, e.g. run.py or "slurm.py --config conf/slurm.conf"
#   --mfcc-config <file>   Kaldi option file (default conf/mfcc.conf; conf/mfcc_hires.conf
#                          for the 40-dim features of TDNN recipes)
set -euo pipefail
nj=4
cmd=run.py
mfcc_config=conf/mfcc.conf
. utils/parse_options.sh
[ $# -ge 1 ] && [ $# -le 3 ] || { echo "$help_message" >&2; exit 1; }
exec steps/internal/make_feats.sh --feature-type mfcc --config "$mfcc_config" \
  --nj "$nj" --cmd "$cmd" "$@"

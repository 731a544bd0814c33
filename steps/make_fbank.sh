#!/usr/bin/env bash
# Usage: steps/make_fbank.sh [options] <data-dir> [<log-dir> [<fbank-dir>]]
# Computes Kaldi-compatible log mel filterbank features for <data-dir> (wav.scp, optional
# segments) into <fbank-dir> (default <data-dir>/data), writing <data-dir>/feats.scp and
# utt2num_frames. Logs in <log-dir> (default <data-dir>/log).
# Options:
#   --nj <n>               number of parallel jobs, split by speaker (default 4)
#   --cmd <cmd>            job runner, e.g. run.py or "slurm.py --config conf/slurm.conf"
#   --fbank-config <file>  Kaldi option file (default conf/fbank.conf)
set -euo pipefail
nj=4
cmd=run.py
fbank_config=conf/fbank.conf
. utils/parse_options.sh
[ $# -ge 1 ] && [ $# -le 3 ] || { echo "$help_message" >&2; exit 1; }
exec steps/internal/make_feats.sh --feature-type fbank --config "$fbank_config" \
  --nj "$nj" --cmd "$cmd" "$@"

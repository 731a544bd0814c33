#!/usr/bin/env bash
# Usage: steps/make_feature_sets.sh [options] <data-dir> <log-root> <feat-root>
# The three feature sets every sertl recipe uses, each a copy of <data-dir> with its
# features, per-speaker CMVN stats and the same energy VAD decisions:
#   <data-dir>_mfcc   13-dim MFCC with log-energy (--mfcc-config), for the VAD
#   <data-dir>_hires  40-dim MFCC hires (--hires-config), for TDNNs and i-vectors
#   <data-dir>_fbank  40 log-mel fbanks (--fbank-config), for ConvNets
# The VAD runs on column 0 (log-energy) of the 13-dim MFCCs; the three sets share the
# framing (25 ms / 10 ms, snip-edges), so its decisions (vad.scp) apply to each. Logs go
# to <log-root>/make_{mfcc,hires,fbank,vad}/<name>, features to <feat-root>/{mfcc,hires,
# fbank,vad}. The derived dirs are made anew, so no stale feature file survives a redo.
# e.g.: steps/make_feature_sets.sh --nj 4 data/emodb exp mfcc_root
# Options:
#   --nj <n>               parallel jobs per step (default 4)
#   --cmd <cmd>            job runner (default run.py)
#   --mfcc-config <file>   (default conf/mfcc.conf)
#   --hires-config <file>  (default conf/mfcc_hires.conf)
#   --fbank-config <file>  (default conf/fbank.conf)
#   --vad-config <file>    (default conf/vad.conf)
set -euo pipefail
nj=4
cmd=run.py
mfcc_config=conf/mfcc.conf
hires_config=conf/mfcc_hires.conf
fbank_config=conf/fbank.conf
vad_config=conf/vad.conf
. utils/parse_options.sh
[ $# -eq 3 ] || { echo "$help_message" >&2; exit 1; }
data=${1%/}
logs=$2
feats=$3
name=$(basename "$data")

for set in mfcc hires fbank; do
  rm -rf "${data}_$set"
  utils/copy_data_dir.sh "$data" "${data}_$set"
done
steps/make_mfcc.sh --nj "$nj" --cmd "$cmd" --mfcc-config "$mfcc_config" \
  "${data}_mfcc" "$logs/make_mfcc/$name" "$feats/mfcc"
steps/make_mfcc.sh --nj "$nj" --cmd "$cmd" --mfcc-config "$hires_config" \
  "${data}_hires" "$logs/make_hires/$name" "$feats/hires"
steps/make_fbank.sh --nj "$nj" --cmd "$cmd" --fbank-config "$fbank_config" \
  "${data}_fbank" "$logs/make_fbank/$name" "$feats/fbank"
for set in mfcc hires fbank; do
  steps/compute_cmvn_stats.sh "${data}_$set" "$logs/make_$set/$name" "$feats/$set"
done
steps/compute_vad_decision.sh --nj "$nj" --cmd "$cmd" --vad-config "$vad_config" \
  "${data}_mfcc" "$logs/make_vad/$name" "$feats/vad"
validate_opts=()
[ -f "$data/text" ] || validate_opts=(--no-text)  # emotion corpora have no transcripts
for set in mfcc hires fbank; do
  [ $set = mfcc ] || cp "${data}_mfcc/vad.scp" "${data}_$set/vad.scp"
  utils/validate_data_dir.sh "${validate_opts[@]}" "${data}_$set"
done
echo "$0: ${data}_{mfcc,hires,fbank}: features, CMVN stats and VAD" >&2

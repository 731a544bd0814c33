#!/usr/bin/env bash
# Usage: steps/train_ivector_extractor.sh [options] <data-dir> <ubm-dir> <extractor-dir>
# Trains an i-vector extractor (total-variability matrix) on the features of <data-dir>
# with the UBM <ubm-dir>/final.ubm, as Kaldi's steps/online/nnet2/train_ivector_extractor.sh:
#   0.ie     initialised from the UBM (which it embeds, with the feature and posterior
#            options: the extractor file is all that extraction needs);
#   <n>.ie   after EM iteration n: zeroth-, first- and second-order Baum-Welch statistics
#            and i-vector posteriors of every utterance (every --subsample-th frame,
#            posteriors of the --num-gselect best UBM Gaussians, pruned at --min-post,
#            times --posterior-scale) accumulated by --nj jobs (split by speaker) and
#            summed; then M, Sigma and the prior are re-estimated;
#   final.ie a copy of the last iteration's extractor.
# A rerun with the same options and inputs (feats.scp, cmvn.scp, UBM) resumes after
# the last finished iteration; with others it starts afresh. Logs in
# <extractor-dir>/log; update.<n>.log has the EM objective per frame of <n>.ie.
# Model format: sertl/ivector/__init__.py.
# Options:
#   --nj <n>                   parallel jobs (default 4)
#   --cmd <cmd>                job runner (default run.py)
#   --ivector-dim <n>          i-vector dimension (default 100)
#   --num-iters <n>            EM iterations (default 10)
#   --num-gselect <n>          UBM Gaussians per frame (default 5)
#   --posterior-scale <s>      scale of the frame posteriors (default 0.1)
#   --min-post <p>             drop frame posteriors below this (default 0.025)
#   --subsample <n>            use every n-th frame (default 2)
#   --gaussian-min-count <c>   Gaussians counted less are not updated (default 100)
#   --device <dev>             torch device, e.g. cpu or cuda (default: cuda if available)
set -euo pipefail
nj=4
cmd=run.py
ivector_dim=100
num_iters=10
num_gselect=5
posterior_scale=0.1
min_post=0.025
subsample=2
gaussian_min_count=100
device=
. utils/parse_options.sh
[ $# -eq 3 ] || { echo "$help_message" >&2; exit 1; }
data=$1
ubm_dir=$2
dir=$3
for f in "$data/feats.scp" "$data/spk2utt" "$ubm_dir/final.ubm"; do
  [ -f "$f" ] || { echo "$0: no $f" >&2; exit 1; }
done
mkdir -p "$dir/log"
device_opt=${device:+--device $device}

opts="data=$data ubm=$ubm_dir/final.ubm ivector_dim=$ivector_dim num_gselect=$num_gselect"
opts+=" posterior_scale=$posterior_scale min_post=$min_post subsample=$subsample"
opts+=" inputs=$(stat -c '%n:%s:%Y' "$data/feats.scp" "$data/cmvn.scp" "$ubm_dir/final.ubm" 2>/dev/null | tr '\n' ' ')"
if [ -f "$dir/train_opts" ] && [ "$(cat "$dir/train_opts")" != "$opts" ]; then
  echo "$0: inputs or options differ from those $dir was trained with; starting afresh" >&2
  rm -f "$dir"/*.ie "$dir"/*.acc
fi
echo "$opts" > "$dir/train_opts"

num_spk=$(wc -l < "$data/spk2utt")
[ "$nj" -gt "$num_spk" ] && nj=$num_spk
utils/split_data.sh "$data" "$nj"
sdata=$data/split$nj

if [ ! -f "$dir/0.ie" ]; then
  $cmd "$dir/log/init.log" \
    python -m sertl.bin.init_ivector_extractor --ivector-dim "$ivector_dim" \
      --num-gselect "$num_gselect" --min-post "$min_post" --posterior-scale "$posterior_scale" \
      "$ubm_dir/final.ubm" "$dir/0.ie"
fi

x=0
while [ -f "$dir/$((x + 1)).ie" ] && [ $x -lt "$num_iters" ]; do x=$((x + 1)); done
[ $x -gt 0 ] && echo "$0: resuming after iteration $x" >&2
rm -f "$dir"/*.acc  # statistics of an iteration cut short
while [ $x -lt "$num_iters" ]; do
  echo "$0: EM iteration $x of $num_iters ($nj jobs)" >&2
  $cmd JOB=1:$nj "$dir/log/acc.$x.JOB.log" \
    python -m sertl.bin.acc_ivector_stats --subsample "$subsample" $device_opt \
      "$dir/$x.ie" "$sdata/JOB" "$dir/$x.JOB.acc"
  $cmd "$dir/log/update.$x.log" \
    python -m sertl.bin.est_ivector_extractor --gaussian-min-count "$gaussian_min_count" \
      $device_opt "$dir/$x.ie" "$dir/$((x + 1)).ie" \
      $(for n in $(seq "$nj"); do echo "$dir/$x.$n.acc"; done)
  rm -f "$dir/$x".*.acc
  grep -h "objective per frame" "$dir/log/update.$x.log" | sed "s|^|$0: |" >&2
  x=$((x + 1))
done
cp "$dir/$num_iters.ie" "$dir/final.ie.tmp"
mv "$dir/final.ie.tmp" "$dir/final.ie"
echo "$0: wrote $dir/final.ie" >&2

#!/usr/bin/env bash
# Usage: steps/train_diag_ubm.sh [options] <data-dir> <num-gauss> <ubm-dir>
# Trains a diagonal-covariance GMM, the UBM of i-vector extraction, on the features of
# <data-dir> (feats.scp, with cmvn.scp applied as --cmvn-opts says), as Kaldi's
# steps/online/nnet2/train_diag_ubm.sh:
#   0.ubm    from one Gaussian by splitting and EM on --num-frames random frames;
#   <n>.ubm  after EM iteration n on every --subsample-th frame of <data-dir>, each frame
#            counting towards its --num-gselect best Gaussians under 0.ubm. Statistics
#            are accumulated by --nj jobs (split by speaker) and summed;
#   final.ubm  a copy of the last iteration's model.
# A rerun with the same options and inputs (feats.scp, cmvn.scp, UBM) resumes after
# the last finished iteration; with others it starts afresh. Logs in
# <ubm-dir>/log. Model format: sertl/ivector/__init__.py.
# Options:
#   --nj <n>                   parallel jobs (default 4)
#   --cmd <cmd>                job runner (default run.py)
#   --num-iters <n>            EM iterations after the initialisation (default 4)
#   --num-iters-init <n>       EM iterations of the initialisation (default 20)
#   --num-frames <n>           frames sampled for the initialisation (default 700000)
#   --num-gselect <n>          Gaussians per frame in the EM iterations (default 30)
#   --subsample <n>            use every n-th frame (default 2)
#   --min-gaussian-weight <w>  weight floor (default 0.0001)
#   --num-threads <n>          torch threads of the initialisation job (default 1)
#   --cmvn-opts <opts>         feature normalisation, stored in the model
#                              (default "--norm-means=true --norm-vars=false")
#   --device <dev>             torch device, e.g. cpu or cuda (default: cuda if available)
set -euo pipefail
nj=4
cmd=run.py
num_iters=4
num_iters_init=20
num_frames=700000
num_gselect=30
subsample=2
min_gaussian_weight=0.0001
num_threads=1
cmvn_opts="--norm-means=true --norm-vars=false"
device=
. utils/parse_options.sh
[ $# -eq 3 ] || { echo "$help_message" >&2; exit 1; }
data=$1
num_gauss=$2
dir=$3
for f in "$data/feats.scp" "$data/spk2utt"; do
  [ -f "$f" ] || { echo "$0: no $f" >&2; exit 1; }
done
mkdir -p "$dir/log"
device_opt=${device:+--device $device}

opts="data=$data num_gauss=$num_gauss num_frames=$num_frames num_iters_init=$num_iters_init"
opts+=" num_gselect=$num_gselect subsample=$subsample cmvn_opts=$cmvn_opts"
opts+=" inputs=$(stat -c '%n:%s:%Y' "$data/feats.scp" "$data/cmvn.scp" 2>/dev/null | tr '\n' ' ')"
if [ -f "$dir/train_opts" ] && [ "$(cat "$dir/train_opts")" != "$opts" ]; then
  echo "$0: inputs or options differ from those $dir was trained with; starting afresh" >&2
  rm -f "$dir"/*.ubm "$dir"/*.acc
fi
echo "$opts" > "$dir/train_opts"

num_spk=$(wc -l < "$data/spk2utt")
[ "$nj" -gt "$num_spk" ] && nj=$num_spk
utils/split_data.sh "$data" "$nj"
sdata=$data/split$nj

if [ ! -f "$dir/0.ubm" ]; then
  echo "$0: initialising $num_gauss Gaussians on $num_frames frames of $data" >&2
  $cmd --num-threads "$num_threads" "$dir/log/init.log" \
    python -m sertl.bin.init_diag_ubm --num-frames "$num_frames" --num-iters "$num_iters_init" \
      --subsample "$subsample" --min-gaussian-weight "$min_gaussian_weight" $cmvn_opts \
      $device_opt "$data" "$num_gauss" "$dir/0.ubm"
fi

x=0
while [ -f "$dir/$((x + 1)).ubm" ] && [ $x -lt "$num_iters" ]; do x=$((x + 1)); done
[ $x -gt 0 ] && echo "$0: resuming after iteration $x" >&2
rm -f "$dir"/*.acc  # statistics of an iteration cut short
while [ $x -lt "$num_iters" ]; do
  echo "$0: EM iteration $x of $num_iters ($nj jobs)" >&2
  $cmd JOB=1:$nj "$dir/log/acc.$x.JOB.log" \
    python -m sertl.bin.acc_diag_ubm_stats --gselect-model "$dir/0.ubm" \
      --num-gselect "$num_gselect" --subsample "$subsample" $device_opt \
      "$dir/$x.ubm" "$sdata/JOB" "$dir/$x.JOB.acc"
  $cmd "$dir/log/update.$x.log" \
    python -m sertl.bin.est_diag_ubm --min-gaussian-weight "$min_gaussian_weight" \
      "$dir/$x.ubm" "$dir/$((x + 1)).ubm" $(for n in $(seq "$nj"); do echo "$dir/$x.$n.acc"; done)
  rm -f "$dir/$x".*.acc
  grep -h "log-likelihood per frame" "$dir/log/update.$x.log" | sed "s|^|$0: |" >&2
  x=$((x + 1))
done
cp "$dir/$num_iters.ubm" "$dir/final.ubm.tmp"
mv "$dir/final.ubm.tmp" "$dir/final.ubm"
echo "$0: wrote $dir/final.ubm" >&2

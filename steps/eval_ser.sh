#!/usr/bin/env bash
# Usage: steps/eval_ser.sh [options] <data-dir> <pretrained-exp|none> <exp-dir>
# Cross-validation of SER fine-tuning on the emotion data dir <data-dir> (utt2emo,
# utt2spk, features). For each fold f (a value of utt2fold, a speaker, or a line of
# --fold-list): <exp-dir>/fold_<f>/data/{train,test} get the fold's training part (every
# utterance not in f) and test part; a speaker in both is an error, checked for all folds
# before any training. steps/train_ser.sh trains on the training part into
# <exp-dir>/fold_<f> (its validation speakers come from the training part only), and
# steps/score_ser.sh scores the test part into <exp-dir>/fold_<f>/test. Finally
# sertl.bin.ser_results writes <exp-dir>/results.json, results.md, confusion.txt and
# confusion.png: UA, WA, macro-F1, per-class recall (AUROC for two classes) per fold,
# mean ± std over folds and pooled, for the config's aggregation rule and the others.
# A rerun skips the scored folds and resumes an unfinished one; it must use the same
# config and folds (<exp-dir>/config.yaml, <exp-dir>/folds), else it fails.
# Options:
#   --config <file>                SER experiment YAML (default conf/ser/tdnn_bottleneck.yaml)
#   --folds <utt2fold|speaker>     folds from <data-dir>/utt2fold, or one per speaker
#                                  (default utt2fold)
#   --fold-list <file>             "<fold> <utt>..." lines: the test utterances of each
#                                  fold (replaces --folds)
#   --ivector-dir <dir>            online i-vectors of <data-dir>, for a model that takes them
#   --nj <n>                       folds trained at the same time (default 1)
#   --nj-train <n>                 data-parallel training processes (default 1)
#   --num-threads <n>              CPU threads per process (default 1)
#   --use-gpu <auto|true|false>    (default auto)
#   --cmd <cmd>                    job runner (default run.py)
set -euo pipefail
config=conf/ser/tdnn_bottleneck.yaml
folds=utt2fold
fold_list=
ivector_dir=
nj=1
nj_train=1
num_threads=1
use_gpu=auto
cmd=run.py
. utils/parse_options.sh
[ $# -eq 3 ] || { echo "$help_message" >&2; exit 1; }
data=$1
pretrained=$2
dir=$3
for f in "$config" "$data/utt2emo" "$data/utt2spk"; do
  [ -f "$f" ] || { echo "$0: no such file: $f" >&2; exit 1; }
done
input=feats.scp   # a system on raw audio (soundnet) reads wav.scp, and may start from a .t7
[ "$(python -m sertl.bin.ser_system input "$config")" != audio ] || input=wav.scp
[ -f "$data/$input" ] || { echo "$0: no such file: $data/$input" >&2; exit 1; }
[ "$pretrained" = none ] || [ -f "$pretrained/final.pt" ] || \
  { [ "$input" = wav.scp ] && [ -f "$pretrained" ]; } || \
  { echo "$0: no $pretrained/final.pt (give 'none' to train from scratch)" >&2; exit 1; }
case $folds in
  utt2fold) fold_opts=(--utt2fold) ;;
  speaker) fold_opts=(--by-speaker) ;;
  *) echo "$0: --folds must be utt2fold or speaker" >&2; exit 1 ;;
esac
[ -z "$fold_list" ] || fold_opts=(--fold-list "$fold_list")

mkdir -p "$dir"
if [ -f "$dir/config.yaml" ] && ! cmp -s "$config" "$dir/config.yaml"; then
  echo "$0: $config differs from $dir/config.yaml of an earlier run; use a new exp dir" >&2
  exit 1
fi
cp "$config" "$dir/config.yaml"
python -m sertl.bin.make_folds "${fold_opts[@]}" "$data" "$dir"

run_fold() {  # run_fold <fold>: train on the fold's training part, score its test part
  local fold_dir=$dir/fold_$1 part
  for part in train test; do
    utils/subset_data_dir.sh --utt-list "$fold_dir/$part.utts" "$data" "$fold_dir/data/$part"
  done
  steps/train_ser.sh --config "$config" ${ivector_dir:+--ivector-dir "$ivector_dir"} \
    --cmd "$cmd" --nj-train "$nj_train" --num-threads "$num_threads" --use-gpu "$use_gpu" \
    "$fold_dir/data/train" "$pretrained" "$fold_dir"
  steps/score_ser.sh ${ivector_dir:+--ivector-dir "$ivector_dir"} --cmd "$cmd" \
    --num-threads "$num_threads" --use-gpu "$use_gpu" \
    "$fold_dir/data/test" "$fold_dir" "$fold_dir/test"
}

# Folds run $nj at a time in the background, each logging to $dir/log/fold_<f>.log.
mkdir -p "$dir/log"
folds_to_run=()
for fold in $(cut -d' ' -f1 "$dir/folds"); do
  if [ -f "$dir/fold_$fold/test/metrics.json" ]; then
    echo "$0: fold $fold: scored already ($dir/fold_$fold/test)" >&2
    continue
  fi
  while [ "$(jobs -rp | wc -l)" -ge "$nj" ]; do wait -n || true; done
  echo "$0: fold $fold: training and scoring, log in $dir/log/fold_$fold.log" >&2
  (run_fold "$fold") > "$dir/log/fold_$fold.log" 2>&1 &
  folds_to_run+=("$fold")
done
wait
for fold in "${folds_to_run[@]}"; do
  [ -f "$dir/fold_$fold/test/metrics.json" ] || \
    { echo "$0: fold $fold failed, see $dir/log/fold_$fold.log" >&2; exit 1; }
done

python -m sertl.bin.ser_results --command "$parse_options_cmdline" results "$dir"
echo "$0: done: $dir/results.md" >&2

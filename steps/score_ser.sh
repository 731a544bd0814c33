#!/usr/bin/env bash
# Usage: steps/score_ser.sh [options] <data-dir> <ser-exp-dir> <out-dir>
# Scores the utterances of <data-dir> with the system of <ser-exp-dir> (steps/train_ser.sh;
# its config.yaml says the kind). An "svm" system (final.npz) writes one table,
# <out-dir>/scores_utterance.txt (sertl.bin.score_svm). A "network" (final.pt) scores
# frame posteriors aggregated by every rule (sum_posteriors, mean_log_posterior,
# majority) into <out-dir>/scores_<rule>.txt ("utt ref hyp <class scores>" lines), and,
# when <data-dir> has utt2emo, each rule's UA, WA, macro-F1, per-class recall, confusion
# matrix (and AUROC for two classes) in <out-dir>/metrics.json. A "soundnet" system reads
# the audio of <data-dir> (wav.scp) and scores it on windows (sertl.bin.score_soundnet):
# scores_window_mean.txt, scores_window_max.txt, metrics.json and, for two classes,
# roc_<rule>.png. A "resnet34" or "vgg16" system writes scores_utterance.txt (a vgg16
# system reads the audio of <data-dir>, sertl.bin.score_vgg16). Log: <out-dir>/log/score.log.
# Options:
#   --ivector-dir <dir>          online i-vectors of <data-dir>, for a model that takes them
#   --frame-scores <bool>        a network also writes its frame log posteriors,
#                                <out-dir>/frame_log_posteriors.{ark,scp} (default false)
#   --num-threads <n>            CPU threads (default 1)
#   --use-gpu <auto|true|false>  (default auto)
#   --cmd <cmd>                  job runner (default run.py)
set -euo pipefail
ivector_dir=
frame_scores=false
num_threads=1
use_gpu=auto
cmd=run.py
. utils/parse_options.sh
[ $# -eq 3 ] || { echo "$help_message" >&2; exit 1; }
data=$1
dir=$2
out=$3
[ -f "$dir/config.yaml" ] || { echo "$0: no such file: $dir/config.yaml" >&2; exit 1; }
input=feats.scp
case $(python -m sertl.bin.ser_system kind "$dir/config.yaml") in
  network) model=$dir/final.pt; tool=sertl.bin.score_ser
    [ "$frame_scores" = false ] || tool="$tool --frame-scores" ;;
  svm) model=$dir; tool=sertl.bin.score_svm ;;
  resnet34) model=$dir/final.pt; tool=sertl.bin.score_resnet34 ;;
  soundnet) model=$dir/final.pt; tool=sertl.bin.score_soundnet; input=wav.scp ;;
  vgg16) model=$dir/final.pt; tool=sertl.bin.score_vgg16; input=wav.scp ;;
esac
[ -f "$data/$input" ] || { echo "$0: no such file: $data/$input" >&2; exit 1; }
[ -e "$model" ] || { echo "$0: no such file: $model (has steps/train_ser.sh finished?)" >&2; exit 1; }
[ -z "$ivector_dir" ] || [ -f "$ivector_dir/ivector_online.scp" ] || \
  { echo "$0: no $ivector_dir/ivector_online.scp" >&2; exit 1; }
. utils/torch_opts.sh
mkdir -p "$out/log"
if ! $cmd --num-threads "$num_threads" "${gpu_opts[@]}" "$out/log/score.log" \
    python -m $tool ${ivector_dir:+--ivector-dir "$ivector_dir"} \
      "${device_opts[@]}" "$data" "$model" "$out"; then
  grep ': error: ' "$out/log/score.log" | sed "s|^|$0: |" >&2 || true
  exit 1
fi
grep '^score_[a-z0-9]*:' "$out/log/score.log" | sed "s|^|$0: |" >&2 || true

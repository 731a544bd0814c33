#!/usr/bin/env bash
# Usage: steps/predict_ser.sh [options] <system-exp> <wav-dir|wav-list|data-dir> <out-dir>
# Labels recordings with a trained SER system of any kind: <system-exp> is an exp dir of
# steps/train_ser.sh (e.g. exp/ser/<system>/final of a recipe's ser.sh, or one fold's
# model); it holds the system's config.yaml and model, and the inputs it was trained on
# (conf/ feature configs, source_model, ivector_extractor; see steps/train_ser.sh).
# The input is a folder of .wav/.flac files, a file listing audio paths (one per line,
# relative to the list), or a Kaldi data dir (wav.scp, utt2spk; with utt2emo the labels
# are scored too, e.g. for a cross-corpus test). The features are computed as at training
# into <out-dir>/data*, then <out-dir> gets:
#   labels.tsv, labels.json   per utterance the label and the class scores of the rule the
#                             system reports (posteriors for a network's sum_posteriors)
#   scores/scores_<rule>.txt  every rule's scores (metrics.json with reference labels)
#   scores/frame_log_posteriors.{ark,scp}  a network's per-frame log posteriors
# Per-speaker normalisation standardises each speaker of the input on its own recordings:
# with a folder or list, --speakers one treats all recordings as one speaker; per-file
# (the default) makes each its own, which such a system refuses (one recording has no
# spread); a data dir's utt2spk is used as it is.
# e.g.: steps/predict_ser.sh exp/ser/tdnn_bottleneck/final /data/new_wavs exp/predict/new
# Options:
#   --speakers <per-file|one>    speakers of a folder or list (default per-file)
#   --nj <n>                     parallel jobs of feature extraction (default 1)
#   --use-gpu <auto|true|false>  (default auto)
#   --cmd <cmd>                  job runner (default run.py)
set -euo pipefail
speakers=per-file
nj=1
use_gpu=auto
cmd=run.py
. utils/parse_options.sh
[ $# -eq 3 ] || { echo "$help_message" >&2; exit 1; }
exp=${1%/}
src=${2%/}
out=${3%/}
[ -f "$exp/config.yaml" ] || { echo "$0: no $exp/config.yaml (not a steps/train_ser.sh exp)" >&2; exit 1; }
[ -e "$src" ] || { echo "$0: no such input: $src" >&2; exit 1; }
mkdir -p "$out"
data=$out/data
if [ -f "$src/wav.scp" ]; then
  rm -rf "$data"
  utils/copy_data_dir.sh "$src" "$data"
  rm -f "$data/feats.scp" "$data/cmvn.scp" "$data/vad.scp" "$data/utt2num_frames"
else
  python -m sertl.bin.predict_ser make-data --speakers "$speakers" "$src" "$data"
fi

read -r _ _ suffix _ _ input _ <<< "$(python -m sertl.bin.ser_system describe "$exp/config.yaml")"
system_data=${data}_$suffix
[ "$suffix" != - ] || system_data=$data
ivector_opts=()
if [ "$input" != audio ]; then  # the feature sets, with the configs of training
  feature_opts=()
  for f in mfcc hires fbank vad; do
    conf=$exp/conf/$([ $f = hires ] && echo mfcc_hires || echo $f).conf
    [ ! -f "$conf" ] || feature_opts+=("--$f-config" "$conf")
  done
  steps/make_feature_sets.sh --nj "$nj" --cmd "$cmd" "${feature_opts[@]}" "$data" "$out/log" "$out/feats"
  if [ -f "$exp/ivector_extractor" ]; then
    steps/extract_ivectors_online.sh --nj "$nj" --cmd "$cmd" \
      "${data}_hires" "$(cat "$exp/ivector_extractor")" "$out/ivectors"
    ivector_opts=(--ivector-dir "$out/ivectors")
  fi
fi
source_model=none
[ ! -f "$exp/source_model" ] || source_model=$(cat "$exp/source_model")
steps/make_system_input.sh --nj "$nj" --cmd "$cmd" --use-gpu "$use_gpu" "${ivector_opts[@]}" \
  --log-root "$out/log" --feat-root "$out/feats" "$exp/config.yaml" "$data" "$source_model"
[ "$(python -m sertl.bin.ser_system kind "$exp/config.yaml")" = network ] || ivector_opts=()

steps/score_ser.sh --cmd "$cmd" --use-gpu "$use_gpu" --frame-scores true "${ivector_opts[@]}" \
  "$system_data" "$exp" "$out/scores"
python -m sertl.bin.predict_ser write-labels "$exp" "$out/scores" "$out"
echo "$0: labelled $(($(wc -l < "$out/labels.tsv") - 1)) recordings: $out/labels.tsv, $out/labels.json" >&2

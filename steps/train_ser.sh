#!/usr/bin/env bash
# Usage: steps/train_ser.sh [options] <data-dir> <pretrained-exp|none> <exp-dir>
# Trains the SER system of the --config YAML on <data-dir>; its "system" key chooses the
# kind (sertl/ser/system.py): "svm", a linear SVM on one vector per utterance
# (sertl.bin.train_svm: <data-dir> holds functionals or embeddings; <exp-dir>/final.npz),
# "soundnet", SoundNet on the raw audio of <data-dir> (its wav.scp; sertl.bin.train_soundnet;
# <pretrained-exp> may also be a SoundNet torch7 .t7 file), "resnet34" (spectrogram images;
# sertl.bin.train_resnet34), "vgg16", VGG16 on feature images made from the raw audio of
# <data-dir> (its wav.scp; sertl.bin.train_vgg16; <pretrained-exp> none), or "network"
# (the default), described here:
# Fine-tunes the acoustic model of <pretrained-exp> (its final.pt, from steps/train_asr.sh)
# for speech emotion recognition, as the --config YAML says: the network cut at a named
# layer, its first layers frozen, a new classifier trained on frames that carry their
# utterance's label (utt2emo of <data-dir>; unvoiced frames "sil" with a silence class),
# holding out the config's number of <data-dir>'s speakers for validation. <pretrained-exp>
# may also be an exp dir of this step (fine-tuning again, e.g. cross-lingual transfer);
# "none" trains the config's model section from scratch (the baseline).
# <exp-dir> gets config.yaml, valid_spk, checkpoint.pt, final.pt, final_metrics.json,
# metrics.jsonl, tensorboard/ and log/train.log.
# For every kind, <exp-dir> also gets what steps/predict_ser.sh needs to make the inputs of
# new audio as at training: conf/ (copies of the --feature-conf-dir feature configs
# mfcc.conf, mfcc_hires.conf, fbank.conf, vad.conf), source_model (the pretrained model
# file, for embeddings) and ivector_extractor (with --ivector-extractor).
# A rerun resumes from checkpoint.pt; with the model file present it does nothing.
# Options:
#   --config <file>        fine-tuning YAML (default conf/ser/tdnn_bottleneck.yaml)
#   --ivector-dir <dir>    online i-vectors of <data-dir>, for a model that takes them
#   --ivector-extractor <dir>  the extractor of those i-vectors (recorded for predict_ser.sh)
#   --feature-conf-dir <dir>   where the feature configs of <data-dir> are (default conf)
#   --nj-train <n>         data-parallel processes (GPUs, or CPU processes with gloo);
#                          more than 1 runs under torchrun (default 1)
#   --num-threads <n>      CPU threads per process (default 1)
#   --use-gpu <auto|true|false>  train on the GPU(s): auto = if available (default auto)
#   --torchrun-opts <opts> torchrun options replacing --standalone, for several nodes
#   --cmd <cmd>            job runner (default run.py)
set -euo pipefail
config=conf/ser/tdnn_bottleneck.yaml
ivector_dir=
ivector_extractor=
feature_conf_dir=conf
nj_train=1
num_threads=1
use_gpu=auto
torchrun_opts=
cmd=run.py
. utils/parse_options.sh
[ $# -eq 3 ] || { echo "$help_message" >&2; exit 1; }
data=$1
pretrained=$2
dir=$3
for f in "$config" "$data/utt2emo"; do
  [ -f "$f" ] || { echo "$0: no such file: $f" >&2; exit 1; }
done
kind=$(python -m sertl.bin.ser_system kind "$config")
input=feats.scp
case $kind in soundnet|vgg16) input=wav.scp ;; esac   # these read the audio
[ -f "$data/$input" ] || { echo "$0: no such file: $data/$input" >&2; exit 1; }
[ "$pretrained" = none ] || [ -f "$pretrained/final.pt" ] || \
  { [ "$kind" = soundnet ] && [ -f "$pretrained" ]; } || \
  { echo "$0: no $pretrained/final.pt (give an exp dir of steps/train_asr.sh, or none)" >&2; exit 1; }
[ -z "$ivector_dir" ] || [ -f "$ivector_dir/ivector_online.scp" ] || \
  { echo "$0: no $ivector_dir/ivector_online.scp" >&2; exit 1; }
. utils/torch_opts.sh
case $kind in
  network) model=final.pt; tool=sertl.bin.train_ser ;;
  svm) model=final.npz; tool=sertl.bin.train_svm; launcher="python -m"; gpu_opts=() ;;
  resnet34) model=final.pt; tool=sertl.bin.train_resnet34; launcher="python -m" ;;
  soundnet) model=final.pt; tool=sertl.bin.train_soundnet; launcher="python -m" ;;
  vgg16) model=final.pt; tool=sertl.bin.train_vgg16; launcher="python -m" ;;
esac
ivector_opts=()
[ -n "$ivector_dir" ] && ivector_opts=(--ivector-dir "$ivector_dir")
mkdir -p "$dir/log"
. utils/lock.sh
lock_dir "$dir"

if [ ! -f "$dir/$model" ]; then
  echo "$0: training $dir ($config, from $pretrained), log in $dir/log/train.log" >&2
  $cmd --num-threads "$num_threads" "${gpu_opts[@]}" "$dir/log/train.log" \
    $launcher $tool --config "$config" "${ivector_opts[@]}" \
      "${device_opts[@]}" "$data" "$pretrained" "$dir"
fi
[ -f "$dir/final_metrics.json" ] || { echo "$0: $dir/$model has no final_metrics.json" \
  "beside it (written by an older or broken run); remove $dir/$model and rerun" >&2; exit 1; }
for f in mfcc.conf mfcc_hires.conf fbank.conf vad.conf; do  # inputs for predict_ser.sh
  [ ! -f "$feature_conf_dir/$f" ] || { mkdir -p "$dir/conf"; cp "$feature_conf_dir/$f" "$dir/conf/$f"; }
done
if [ "$pretrained" != none ]; then
  source_model=$pretrained; [ -f "$source_model" ] || source_model=$pretrained/final.pt
  readlink -f "$source_model" > "$dir/source_model"
fi
[ -z "$ivector_extractor" ] || readlink -f "$ivector_extractor" > "$dir/ivector_extractor"
echo "$0: done: $dir/$model; $(tr -d "\n " < "$dir/final_metrics.json")" >&2

#!/usr/bin/env bash
# Usage: bench/asr_accuracy.sh [options] <speechocean762-dir> <timit-sample-dir> <work-dir>
# Accuracy benchmark of ASR pretraining (run from the repository root, path.sh sourced):
#  1. speechocean762 with 20 speakers held out (egs/speechocean762/s5 data prep), MFCC
#     hires and fbank features with CMVN, lang dir without stress marks, alignment of
#     both sets with steps/align_sb.sh (trained on the 80 training speakers);
#  2. the TDNN-F and the ConvNet trained (steps/train_asr.sh) on the training speakers;
#  3. frame and phone error rates of both on the 20 held-out speakers
#     (steps/eval_asr.sh), and the phone error rate on the TIMIT sample, whose manual
#     phone transcription is folded to the 39-phone set, against the model's phones
#     mapped onto that set (bench/timit39-arpabet.map: other phones lower-cased, AO -> aa,
#     ZH -> sh, SIL and SPN -> sil; applied to both sides, so TIMIT's flap dx -> d).
# Prints every score; each step is skipped when its output exists, so a rerun continues.
# Options:
#   --nj <n>              parallel jobs of feature extraction and alignment (default 2)
#   --tdnn-config <file>  (default conf/asr/tdnn_small.yaml with ivector_dim 0, CMVN with
#                          variance normalisation, 64 chunks of 30 frames per batch and 6
#                          epochs, written to <work-dir>/tdnn.yaml: no i-vectors here)
#   --convnet-config <file>  (default conf/asr/convnet_small.yaml with 2 epochs, written to
#                          <work-dir>/convnet.yaml)
#   --num-threads <n>     CPU threads per training job (default 1)
set -euo pipefail
nj=2
tdnn_config=
convnet_config=
num_threads=1
. utils/parse_options.sh
[ $# -eq 3 ] || { echo "$help_message" >&2; exit 1; }
so=$(cd "$1" && pwd)
timit=$(cd "$2" && pwd)
mkdir -p "$3"
work=$(cd "$3" && pwd)
data=$work/data
exp=$work/exp

if [ ! -f "$data/train/text" ]; then
  (cd egs/speechocean762/s5 && local/prepare_data.sh --num-heldout-spk 20 "$so" "$data")
  (cd egs/timit/s5 && local/prepare_data.sh --phone-set 39 "$timit" "$data")
fi
for part in train heldout sample; do
  if [ ! -f "$data/${part}_hires/cmvn.scp" ]; then
    utils/copy_data_dir.sh "$data/$part" "$data/${part}_hires"
    steps/make_mfcc.sh --nj "$nj" --mfcc-config conf/mfcc_hires.conf "$data/${part}_hires" \
      "$exp/make_mfcc/$part" "$work/mfcc"
    steps/compute_vad_decision.sh --nj "$nj" "$data/${part}_hires" "$exp/make_mfcc/$part" \
      "$work/mfcc"
    steps/compute_cmvn_stats.sh "$data/${part}_hires" "$exp/make_mfcc/$part" "$work/mfcc"
  fi
  if [ ! -f "$data/${part}_fbank/cmvn.scp" ]; then
    utils/copy_data_dir.sh "$data/$part" "$data/${part}_fbank"
    steps/make_fbank.sh --nj "$nj" --fbank-config conf/fbank.conf "$data/${part}_fbank" \
      "$exp/make_fbank/$part" "$work/fbank"
    steps/compute_cmvn_stats.sh "$data/${part}_fbank" "$exp/make_fbank/$part" "$work/fbank"
  fi
done
if [ ! -f "$data/lang/phones.txt" ]; then
  (cd egs/speechocean762/s5 && local/prepare_dict.sh "$so" "$data/local/dict")
  utils/prepare_lang.sh --remove-stress true "$data/local/dict" "<UNK>" "$data/lang"
fi
[ -f "$exp/ali_train/ali.scp" ] || \
  steps/align_sb.sh --nj "$nj" "$data/train_hires" "$data/lang" "$exp/mono" "$exp/ali_train"
[ -f "$exp/ali_heldout/ali.scp" ] || \
  steps/align_sb.sh --nj "$nj" "$data/heldout_hires" "$data/lang" "$exp/ali_train" \
    "$exp/ali_heldout"

if [ -z "$tdnn_config" ]; then
  tdnn_config=$work/tdnn.yaml
  sed -e 's/^  ivector_dim: .*/  ivector_dim: 0/' -e 's/^  apply_cmvn: .*/  apply_cmvn: true/' \
    -e 's/^  norm_vars: .*/  norm_vars: true/' -e 's/^  batch_size: .*/  batch_size: 64/' \
    -e 's/^  chunk_width: .*/  chunk_width: 30/' -e 's/^  num_epochs: .*/  num_epochs: 6/' \
    conf/asr/tdnn_small.yaml > "$tdnn_config"
fi
if [ -z "$convnet_config" ]; then
  convnet_config=$work/convnet.yaml
  sed -e 's/^  num_epochs: .*/  num_epochs: 2/' conf/asr/convnet_small.yaml > "$convnet_config"
fi
for model in tdnn convnet; do
  feats=hires
  config=$tdnn_config
  if [ $model = convnet ]; then feats=fbank; config=$convnet_config; fi
  steps/train_asr.sh --num-threads "$num_threads" --config "$config" \
    "$data/train_$feats" "$exp/ali_train" "$exp/asr_$model"
  [ -f "$exp/asr_$model/eval_heldout/scores.json" ] || \
    steps/eval_asr.sh --num-threads "$num_threads" --name heldout "$data/heldout_$feats" \
      "$exp/ali_heldout" "$exp/asr_$model"
  [ -f "$exp/asr_$model/eval_timit/scores.json" ] || \
    python -m sertl.bin.eval_asr --phone-map bench/timit39-arpabet.map \
      --ref-text "$data/sample/text" "$data/sample_$feats" "$exp/asr_$model/final.pt" \
      "$exp/asr_$model/eval_timit" 2> "$exp/asr_$model/eval_timit.log"
  echo "== $model: $config"
  echo "training: $(tr -d '\n ' < "$exp/asr_$model/final_metrics.json")"
  echo "validation speakers: $(tr -d '\n ' < "$exp/asr_$model/eval_valid/scores.json")"
  echo "held-out speakers: $(tr -d '\n ' < "$exp/asr_$model/eval_heldout/scores.json")"
  echo "TIMIT sample: $(tr -d '\n ' < "$exp/asr_$model/eval_timit/scores.json")"
done

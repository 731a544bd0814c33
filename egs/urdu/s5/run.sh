#!/usr/bin/env bash
# URDU recipe: 4-class speech emotion recognition in Urdu, speaker-independent folds,
# from scratch, by transfer from a pretrained ASR model, and cross-lingually: the ASR
# model first fine-tuned on German emotions (EmoDB), then on Urdu (Durrani & Arshad).
# Usage: ./run.sh --corpus-dir <urdu-dir> [options]
# e.g.:  ./run.sh --corpus-dir /corpora/urdu --pretrained-exp ~/exp/speechocean_tdnn \
#          --emodb-data ../../emodb/s5/data/emodb_hires
# Options:
#   --corpus-dir <dir>        the URDU folder (Angry/ Happy/ Neutral/ Sad/; see README.md)
#   --pretrained-exp <dir>    ASR exp dir with final.pt (steps/train_asr.sh); "none": the
#                             scratch baseline only (default none)
#   --emodb-data <dir>        EmoDB feature dir of the same feature set (egs/emodb/s5 stage
#                             1, e.g. data/emodb_hires there): enables the cross-lingual
#                             system (stages 4-5; needs --pretrained-exp)
#   --ivector-extractor <dir> extractor dir when the pretrained model takes online
#                             i-vectors (default: none; not with --emodb-data)
#   --feature-set <name>      hires (TDNN) or fbank (ConvNet) (default hires)
#   --confs "<files>"         SER confs to cross-validate (default: scratch and, with a
#                             pretrained model, conf/ser/tdnn_bottleneck.yaml)
#   --num-folds <n>           speaker-independent folds; 0: leave-one-speaker-out (default 5)
#   --stage <n> --stop-stage <n> --force <bool>  (see utils/stage_control.sh)
#   --nj <n>                  parallel jobs of feature extraction, and folds trained at
#                             the same time (default 4)
# Stages:
#   0  data prep: data/urdu (utt2emo, utt2fold 1..num-folds)
#   1  features: data/urdu_{mfcc,hires,fbank} with CMVN stats and VAD
#   2  online i-vectors of data/urdu_hires (only with --ivector-extractor)
#   3  cross-validation of every conf: exp/ser/ablations.md
#   4  cross-lingual, step 1: the pretrained model fine-tuned on all of EmoDB
#      (conf/ser/tdnn_bottleneck.yaml) -> exp/emodb_transfer
#   5  cross-lingual, step 2: cross-validation on URDU starting from exp/emodb_transfer
#      -> exp/ser_crosslingual/ablations.md
set -euo pipefail
corpus_dir=
pretrained_exp=none
emodb_data=
ivector_extractor=
feature_set=hires
confs=
num_folds=5
stage=0
stop_stage=100
force=false
nj=4
. ./path.sh
. ./cmd.sh
. utils/parse_options.sh
. utils/stage_control.sh
[ $# -eq 0 ] || { echo "$help_message" >&2; exit 1; }
[ -n "$corpus_dir" ] || { echo "$0: --corpus-dir is required"; echo "$help_message"; exit 1; } >&2
if [ -n "$emodb_data" ] && { [ "$pretrained_exp" = none ] || [ -n "$ivector_extractor" ]; }; then
  echo "$0: --emodb-data needs --pretrained-exp and no --ivector-extractor" >&2; exit 1
fi
transfer_conf=conf/ser/tdnn_bottleneck.yaml
if [ -z "$confs" ]; then
  confs=conf/ser/tdnn_scratch.yaml
  [ "$pretrained_exp" = none ] || confs="$confs $transfer_conf"
fi
ivector_dir=
[ -z "$ivector_extractor" ] || ivector_dir=exp/ivector/online_urdu

if stage_begin 0 "data prep: data/urdu from $corpus_dir"; then
  local/prepare_data.sh --num-folds "$num_folds" "$corpus_dir" data/urdu
  stage_end 0
fi

if stage_begin 1 "features: MFCC, MFCC hires, fbank, CMVN and VAD"; then
  steps/make_feature_sets.sh --nj "$nj" --cmd "$train_cmd" data/urdu exp feats
  stage_end 1
fi

if [ -n "$ivector_dir" ] && stage_begin 2 "online i-vectors with $ivector_extractor"; then
  steps/extract_ivectors_online.sh --nj "$nj" --cmd "$train_cmd" \
    data/urdu_hires "$ivector_extractor" "$ivector_dir"
  stage_end 2
fi

if stage_begin 3 "cross-validation (folds of utt2fold): $confs"; then
  # shellcheck disable=SC2086  # $confs is a list of files
  steps/run_ser_ablations.sh --cmd "$train_cmd" --nj "$nj" ${ivector_dir:+--ivector-dir "$ivector_dir"} \
    data/urdu_$feature_set "$pretrained_exp" exp/ser $confs
  stage_end 3
fi

if [ -n "$emodb_data" ]; then
  if stage_begin 4 "cross-lingual: $pretrained_exp fine-tuned on EmoDB ($emodb_data)"; then
    steps/train_ser.sh --cmd "$train_cmd" --config "$transfer_conf" \
      "$emodb_data" "$pretrained_exp" exp/emodb_transfer
    stage_end 4
  fi
  if stage_begin 5 "cross-lingual: cross-validation on URDU from exp/emodb_transfer"; then
    steps/run_ser_ablations.sh --cmd "$train_cmd" --nj "$nj" data/urdu_$feature_set \
      exp/emodb_transfer exp/ser_crosslingual "$transfer_conf"
    stage_end 5
  fi
fi
if [ "$stop_stage" -ge 3 ]; then
  echo "$0: results in exp/ser/ablations.md and exp/ser_crosslingual/ablations.md" >&2
fi

#!/usr/bin/env bash
# EmoDB recipe: 7-class speech emotion recognition, leave-one-speaker-out (10 folds),
# from scratch and by transfer from a pretrained ASR model (Zhou & Beigi's bottleneck
# fine-tuning; Fayek et al.'s sweep of frozen layers).
# Usage: ./run.sh --corpus-dir <emodb-dir> [options]
# e.g.:  ./run.sh --corpus-dir /corpora/emodb --pretrained-exp ~/exp/speechocean_tdnn
# Options:
#   --corpus-dir <dir>        the EmoDB folder (holding wav/03a01Fa.wav ...; see README.md)
#   --pretrained-exp <dir>    ASR exp dir with final.pt (steps/train_asr.sh), e.g. the
#                             speechocean762 TDNN-F of RESULTS-asr.md ("Phone targets");
#                             "none": the scratch baseline only (default none)
#   --ivector-extractor <dir> extractor dir (steps/train_ivector_extractor.sh) when the
#                             pretrained model takes online i-vectors (default: none)
#   --feature-set <name>      hires (TDNN) or fbank (ConvNet): the pretrained model's
#                             input features (default hires)
#   --confs "<files>"         SER confs to cross-validate (default: the scratch baseline
#                             and, with a pretrained model, transfer with 0, 6 and all
#                             frozen layers: conf/ser/tdnn_*.yaml)
#   --label-map <file>        (default conf/labels.yaml: all 7 emotions)
#   --stage <n> --stop-stage <n> --force <bool>  (see utils/stage_control.sh)
#   --nj <n>                  parallel jobs of feature extraction, and folds trained at
#                             the same time (default 4)
# Stages:
#   0  data prep: data/emodb (utt2emo, utt2fold = speaker)
#   1  features: data/emodb_{mfcc,hires,fbank} with CMVN stats and VAD
#   2  online i-vectors of data/emodb_hires (only with --ivector-extractor)
#   3  leave-one-speaker-out cross-validation of every conf; one table in
#      exp/ser/ablations.md, per conf exp/ser/<conf>/results.md
set -euo pipefail
corpus_dir=
pretrained_exp=none
ivector_extractor=
feature_set=hires
confs=
label_map=conf/labels.yaml
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
if [ -z "$confs" ]; then
  confs=conf/ser/tdnn_scratch.yaml
  [ "$pretrained_exp" = none ] || \
    confs="$confs conf/ser/tdnn_bottleneck.yaml conf/ser/tdnn_freeze6.yaml conf/ser/tdnn_frozen.yaml"
fi
ivector_dir=
[ -z "$ivector_extractor" ] || ivector_dir=exp/ivector/online_emodb

if stage_begin 0 "data prep: data/emodb from $corpus_dir"; then
  local/prepare_data.sh --label-map "$label_map" "$corpus_dir" data/emodb
  stage_end 0
fi

if stage_begin 1 "features: MFCC, MFCC hires, fbank, CMVN and VAD"; then
  steps/make_feature_sets.sh --nj "$nj" --cmd "$train_cmd" data/emodb exp feats
  stage_end 1
fi

if [ -n "$ivector_dir" ] && stage_begin 2 "online i-vectors with $ivector_extractor"; then
  steps/extract_ivectors_online.sh --nj "$nj" --cmd "$train_cmd" \
    data/emodb_hires "$ivector_extractor" "$ivector_dir"
  stage_end 2
fi

if stage_begin 3 "leave-one-speaker-out cross-validation: $confs"; then
  # shellcheck disable=SC2086  # $confs is a list of files
  steps/run_ser_ablations.sh --cmd "$train_cmd" --nj "$nj" ${ivector_dir:+--ivector-dir "$ivector_dir"} \
    data/emodb_$feature_set "$pretrained_exp" exp/ser $confs
  stage_end 3
fi
if [ "$stop_stage" -ge 3 ]; then
  echo "$0: results: exp/ser/ablations.md (per conf: exp/ser/<conf>/results.md)" >&2
fi

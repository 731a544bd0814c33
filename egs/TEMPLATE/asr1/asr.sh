#!/usr/bin/env bash
# The ASR pipeline of every sertl ASR recipe (as ESPnet2's egs2/TEMPLATE/asr1/asr.sh): a
# source model for SER transfer, from a corpus to an evaluated acoustic model. A corpus
# recipe links this script and calls it from its run.sh with its defaults:
#   ./asr.sh --corpus-dir DIR --test-sets "dev test" --asr-config conf/tdnn.yaml "$@"
# Run from the recipe dir (path.sh, cmd.sh, conf/, steps -> ../../../steps,
# utils -> ../../../utils, and the corpus's own
#   local/prepare_data.sh [opts] <corpus-dir> <data-dir>   data/<train-set>, data/<test-set>...
#   local/prepare_dict.sh [opts] <corpus-dir> <dict-dir>   a dict dir for prepare_lang.sh).
# Usage: ./asr.sh --corpus-dir <dir> [options]
# Options:
#   --corpus-dir <dir>        the corpus (layout: the recipe's README.md)
#   --prepare-data-opts <o>   options of local/prepare_data.sh (e.g. --num-heldout-spk 20)
#   --train-set <name>        training set made by the data prep (default train)
#   --test-sets "<names>"     sets to align and score, of held-out speakers (default "")
#   --prepare-dict-opts <o>   options of local/prepare_dict.sh
#   --lang-opts <o>           options of utils/prepare_lang.sh (e.g. --remove-stress true)
#   --oov <word>              the lexicon's out-of-vocabulary word (default "<UNK>")
#   --ivectors <auto|true|false>  UBM, extractor and online i-vectors (stage 3); auto: when
#                             the ASR config's model takes them (ivector_dim > 0) (default auto)
#   --ubm-opts <o>            options of steps/train_diag_ubm.sh (default "--num-iters 4")
#   --num-gauss <n>           UBM Gaussians (default 512)
#   --ivector-opts <o>        options of steps/train_ivector_extractor.sh
#                             (default "--ivector-dim 100 --num-iters 5")
#   --align-config <file>     aligner YAML (default conf/align_sb.yaml)
#   --align-opts <o>          options of steps/align_sb.sh (default "--num-iters 4 --num-states 3")
#   --targets <phones|states> training targets: one per phone, or the HMM states of the
#                             alignment (default states)
#   --asr-config <file>       acoustic model YAML, TDNN-F or ConvNet (default conf/tdnn.yaml);
#                             its data.feature_type picks the features (mfcc_hires or fbank)
#   --asr-exp <dir>           where the model goes (default exp/<asr-config name>)
#   --train-opts <o>          options of steps/train_asr.sh (e.g. --nj-train 4 --use-gpu true)
#   --eval-opts <o>           options of steps/eval_asr.sh (e.g. --phone-map conf/X.map)
#   --realign <bool>          stages 8-9: realign with the trained model, train again
#                             (default false)
#   --nj <n>                  parallel jobs of features, i-vectors and alignment (default 4)
#   --stage <n> --stop-stage <n> --force <bool>  (utils/stage_control.sh)
#   --stage-dir <dir>         where the stage markers go (default exp/stages; another dir
#                             when a recipe runs this pipeline next to its own stages)
# Stages:
#   0  data prep: local/prepare_data.sh <corpus-dir> data (--stop-stage 0: data dirs only)
#   1  dict and lang: local/prepare_dict.sh, utils/prepare_lang.sh -> data/lang
#   2  features of every set: data/<set>_{mfcc,hires,fbank} with CMVN stats; the energy
#      VAD from the 13-dim MFCCs (steps/make_feature_sets.sh), shared by all three
#   3  i-vectors: UBM and extractor on the training set, online i-vectors of every set
#      (exp/ivector/online_<set>)
#   4  flat-start alignment of the training set (steps/align_sb.sh: exp/mono), and
#      alignment of every test set with its final model: exp/mono_ali_<set>
#   5  targets: HMM states (the alignment) or phones (exp/mono_ali_<set>_phones)
#   6  acoustic model training (steps/train_asr.sh) -> <asr-exp>/final.pt, validation
#      speakers scored into <asr-exp>/eval_valid
#   7  evaluation: frame and phone error rates on the validation speakers and every test
#      set (<asr-exp>/eval_{valid,<set>}, with --eval-opts), and a summary of them all in
#      <asr-exp>/results.md
#   8  realignment of every set with <asr-exp>/final.pt (steps/align_sb.sh with an acoustic
#      model, as Kaldi realigns with its better models): exp/<asr-exp name>_ali_<set>
#   9  a new model with the same config on the realignment, evaluated as in stages 6-7:
#      <asr-exp>_realigned
# The last stage leaves <asr-exp> (or <asr-exp>_realigned with --realign true: final.pt,
# config.yaml, metrics, eval_*, results.md) for the SER recipes' --pretrained-exp.
set -euo pipefail
corpus_dir=
prepare_data_opts=
train_set=train
test_sets=
prepare_dict_opts=
lang_opts=
oov="<UNK>"
ivectors=auto
ubm_opts="--num-iters 4"
num_gauss=512
ivector_opts="--ivector-dim 100 --num-iters 5"
align_config=conf/align_sb.yaml
align_opts="--num-iters 4 --num-states 3"
targets=states
asr_config=conf/tdnn.yaml
asr_exp=
train_opts=
eval_opts=
realign=false
nj=4
stage=0
stop_stage=100
force=false
stage_dir=exp/stages
. ./path.sh
. ./cmd.sh
. utils/parse_options.sh
. utils/stage_control.sh
[ $# -eq 0 ] || { echo "$help_message" >&2; exit 1; }
[ -n "$corpus_dir" ] || { echo "$0: --corpus-dir is required"; echo "$help_message"; exit 1; } >&2
case $targets in phones | states) ;; *) echo "$0: --targets phones or states" >&2; exit 1 ;; esac
[ -f "$asr_config" ] || { echo "$0: no such ASR config: $asr_config" >&2; exit 1; }
asr_exp=${asr_exp:-exp/$(basename "$asr_config" .yaml)}
# The model's input features and i-vector dimension, from its config.
read -r feature_type ivector_dim < <(python -c "
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
print(c.get('data', {}).get('feature_type', 'mfcc_hires'), c['model'].get('ivector_dim', 0))
" "$asr_config")
case $feature_type in
  mfcc_hires) feats=hires ;;
  fbank) feats=fbank ;;
  *) echo "$0: $asr_config: data.feature_type must be mfcc_hires or fbank" >&2; exit 1 ;;
esac
[ "$ivectors" = auto ] && { [ "$ivector_dim" -gt 0 ] && ivectors=true || ivectors=false; }
sets="$train_set $test_sets"
ali_of() {  # ali_of <set>: the alignment dir of <set>'s training targets
  if [ "$targets" = phones ]; then echo "exp/mono_ali_$1_phones"; else echo "exp/mono_ali_$1"; fi
}
ivector_opt() {  # ivector_opt <set>: --ivector-dir of <set> when the model takes i-vectors
  [ "$ivectors" = true ] && echo "--ivector-dir exp/ivector/online_$1"
  return 0
}

if stage_begin 0 "data prep: data/{$train_set${test_sets:+ $test_sets}} from $corpus_dir"; then
  # shellcheck disable=SC2086  # option lists
  local/prepare_data.sh $prepare_data_opts "$corpus_dir" data
  for set in $sets; do
    utils/validate_data_dir.sh --no-feats "data/$set"
  done
  stage_end 0
fi

if stage_begin 1 "dict and lang: data/lang"; then
  # shellcheck disable=SC2086
  local/prepare_dict.sh $prepare_dict_opts "$corpus_dir" data/local/dict
  # shellcheck disable=SC2086
  utils/prepare_lang.sh $lang_opts data/local/dict "$oov" data/lang
  stage_end 1
fi

if stage_begin 2 "features: MFCC (VAD), MFCC hires, fbank, CMVN"; then
  for set in $sets; do
    steps/make_feature_sets.sh --nj "$nj" --cmd "$train_cmd" "data/$set" exp feats
  done
  stage_end 2
fi

if [ "$ivectors" = true ] && stage_begin 3 "i-vectors: UBM, extractor, online i-vectors"; then
  # shellcheck disable=SC2086
  steps/train_diag_ubm.sh --nj "$nj" --cmd "$train_cmd" $ubm_opts \
    "data/${train_set}_hires" "$num_gauss" exp/ivector/ubm
  # shellcheck disable=SC2086
  steps/train_ivector_extractor.sh --nj "$nj" --cmd "$train_cmd" $ivector_opts \
    "data/${train_set}_hires" exp/ivector/ubm exp/ivector/extractor
  for set in $sets; do
    steps/extract_ivectors_online.sh --nj "$nj" --cmd "$train_cmd" \
      "data/${set}_hires" exp/ivector/extractor "exp/ivector/online_$set"
  done
  stage_end 3
fi

if stage_begin 4 "flat-start alignment of $train_set (exp/mono), alignment of every set"; then
  for set in $sets; do
    # shellcheck disable=SC2086
    steps/align_sb.sh --nj "$nj" --cmd "$train_cmd" --align-config "$align_config" \
      $align_opts "data/${set}_hires" data/lang exp/mono "exp/mono_ali_$set"
  done
  stage_end 4
fi

if stage_begin 5 "targets: $targets"; then
  if [ "$targets" = phones ]; then
    for set in $sets; do
      python -m sertl.bin.ali_to_phones "exp/mono_ali_$set" "$(ali_of "$set")"
    done
  fi
  stage_end 5
fi

# train_model <exp> <ali-fn>: steps/train_asr.sh on the training set's alignment
# (<ali-fn> <set> names a set's alignment dir)
train_model() {
  # shellcheck disable=SC2046,SC2086
  steps/train_asr.sh --cmd "$cuda_cmd" --config "$asr_config" $(ivector_opt "$train_set") \
    $train_opts "data/${train_set}_$feats" "$($2 "$train_set")" "$1"
}
# eval_model <exp> <ali-fn>: frame and phone error rates on the validation speakers
# (rescored with --eval-opts, e.g. a phone map) and every test set; <exp>/results.md
eval_model() {
  local exp=$1 ali_fn=$2 set
  if [ -s "$exp/valid_spk" ]; then
    # shellcheck disable=SC2046,SC2086
    steps/eval_asr.sh --cmd "$cuda_cmd" --name valid $(ivector_opt "$train_set") $eval_opts \
      "$exp/valid_data" "$($ali_fn "$train_set")" "$exp"
  fi
  for set in $test_sets; do
    # shellcheck disable=SC2046,SC2086
    steps/eval_asr.sh --cmd "$cuda_cmd" --name "$set" $(ivector_opt "$set") $eval_opts \
      "data/${set}_$feats" "$($ali_fn "$set")" "$exp"
  done
  python -m sertl.bin.asr_results "$exp" > "$exp/results.md.tmp"
  mv "$exp/results.md.tmp" "$exp/results.md"
  cat "$exp/results.md" >&2
}
realigned_of() {  # realigned_of <set>: the realignment of <set> with <asr-exp>
  echo "exp/$(basename "$asr_exp")_ali_$1"
}

if stage_begin 6 "acoustic model: $asr_config on data/${train_set}_$feats -> $asr_exp"; then
  train_model "$asr_exp" ali_of
  stage_end 6
fi

if stage_begin 7 "evaluation of $asr_exp on: the validation speakers${test_sets:+ $test_sets}"; then
  eval_model "$asr_exp" ali_of
  stage_end 7
fi

if [ "$realign" = true ] && stage_begin 8 "realignment of every set with $asr_exp"; then
  for set in $sets; do
    # shellcheck disable=SC2046
    steps/align_sb.sh --nj "$nj" --cmd "$train_cmd" $(ivector_opt "$set") \
      "data/${set}_$feats" data/lang "$asr_exp" "$(realigned_of "$set")"
  done
  stage_end 8
fi

if [ "$realign" = true ] && stage_begin 9 "a new model on the realignment: ${asr_exp}_realigned"; then
  train_model "${asr_exp}_realigned" realigned_of
  eval_model "${asr_exp}_realigned" realigned_of
  stage_end 9
fi
final_exp=$asr_exp
[ "$realign" = true ] && final_exp=${asr_exp}_realigned
[ "$stop_stage" -lt 6 ] || echo "$0: source model for SER: $final_exp (final.pt)" >&2

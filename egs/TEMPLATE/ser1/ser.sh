#!/usr/bin/env bash
# The SER pipeline of every sertl emotion recipe (as ESPnet2's egs2/TEMPLATE/asr1/asr.sh):
# from an emotion corpus to one cross-validation table of several SER systems. A corpus
# recipe links this script (egs/TEMPLATE/setup.sh makes the recipe dir) and calls it
# from its run.sh with its defaults:
#   ./ser.sh --corpus emodb --systems "conf/ser/compare_svm_speakernorm.yaml ..." "$@"
# Run from the recipe dir (path.sh, cmd.sh, conf/, steps/, utils/ and the corpus's own
#   local/prepare_data.sh [opts] <corpus-dir> <data-dir>   a labelled data dir:
#   utt2emo, utt2spk, utt2fold (speaker-independent folds), ...).
# A system is a conf (conf/ser/*.yaml; its "system" key: sertl/ser/system.py): a
# frame-level network fine-tuned from --pretrained-exp (or from scratch), a linear SVM
# on openSMILE functionals (the classical baseline), or an SVM on the pretrained
# network's pooled activations (transfer by embedding). Every system is cross-validated
# on the same folds and lands in one table, with paired differences to a reference.
# Usage: ./ser.sh --corpus <name> --corpus-dir <dir> [options]
# Options:
#   --corpus <name>            the data dir's name: data/<name> (required)
#   --corpus-dir <dir>         the corpus (layout: the recipe's README.md) (required)
#   --prepare-data-opts <o>    options of local/prepare_data.sh (label map, folds, ...)
#   --prepare-data <script>    the data prep (default local/prepare_data.sh)
#   --systems "<confs>"        the SER systems to cross-validate (default: the openSMILE
#                              ComParE 2016 and eGeMAPS v02 functionals + SVM baselines,
#                              each speaker standardised on its own utterances or one
#                              standardisation from the training part; the TDNN from
#                              scratch; and, with --pretrained-exp, transfer by
#                              fine-tuning (Zhou & Beigi), by embedding (pooled tdnn12
#                              activations + SVM) and the embedding fused with ComParE);
#                              "<conf>@<exp>": that system starts from <exp> instead of
#                              --pretrained-exp (e.g. a ResNet34 source model that another
#                              recipe trained: conf/ser/resnet34_cpu_transfer.yaml@\
#                              ../../emodb/s5/exp/ser_resnet34/resnet34_cpu_source/final)
#   --pretrained-exp <dir>     source model (final.pt of steps/train_asr.sh or
#                              steps/train_ser.sh); "none": systems that need one are
#                              skipped, with a note (default none)
#   --ivector-extractor <dir>  extractor (steps/train_ivector_extractor.sh) for a
#                              pretrained network that takes online i-vectors
#   --intermediate-data <dir>  labelled features of another corpus (e.g.
#                              ../../emodb/s5/data/emodb_hires): the pretrained network is
#                              first fine-tuned on all of it (--intermediate-config), then
#                              every --intermediate-systems conf starts from that model
#                              (the cross-lingual route: EmoDB, then URDU)
#   --intermediate-config <f>  (default conf/ser/tdnn_bottleneck.yaml)
#   --intermediate-systems "<confs>"  (default: the --intermediate-config)
#   --folds <utt2fold|speaker> (default utt2fold: the data prep's folds)
#   --fold-list <file>         "<fold> <utt>..." test utterances per fold (replaces --folds;
#                              e.g. a speaker-dependent random split, named so in a table)
#   --reference "<names>"      systems whose per-fold UA the others are compared with,
#                              a column each (default: tdnn_scratch and
#                              compare_svm_speakernorm)
#   --train-final <bool>       stage 7: every system trained once more on all of the
#                              corpus, for steps/predict_ser.sh (default true)
#   --nj <n>                   parallel jobs of feature extraction, and folds trained at
#                              the same time (default 4)
#   --stage <n> --stop-stage <n> --force <bool>  (utils/stage_control.sh)
#   --stage-dir <dir>          the stages' completion markers (default exp/stages)
#   --exp-dir <dir>            the systems' exp dirs and the table (default exp/ser; e.g.
#                              exp/ser_random_split for a --fold-list table)
# Stages:
#   0  data prep: local/prepare_data.sh -> data/<corpus> (--stop-stage 0: data only)
#   1  features: data/<corpus>_{mfcc,hires,fbank} with CMVN stats and the energy VAD
#   2  online i-vectors of data/<corpus>_hires (only with --ivector-extractor)
#   3  the inputs each system needs (steps/make_system_input.sh): openSMILE functionals
#      (data/<corpus>_compare, _egemaps), embeddings of the pretrained network
#      (data/<corpus>_emb_<layer>), their fusions, spectrogram images
#   4  intermediate fine-tuning on --intermediate-data (only when given) -> exp/intermediate
#   5  cross-validation of every system: <exp-dir>/<system>/results.md (per fold, mean ±
#      std, pooled, per class, confusion matrix)
#   6  one table of all systems: <exp-dir>/results.md
#   7  (--train-final true) every system on all of data/<corpus>: <exp-dir>/<system>/final,
#      with what steps/predict_ser.sh needs to label new audio
set -euo pipefail
corpus=
corpus_dir=
prepare_data_opts=
prepare_data=local/prepare_data.sh
systems="conf/ser/compare_svm_speakernorm.yaml conf/ser/compare_svm_trainnorm.yaml
  conf/ser/egemaps_svm_speakernorm.yaml conf/ser/egemaps_svm_trainnorm.yaml
  conf/ser/tdnn_scratch.yaml conf/ser/tdnn_bottleneck.yaml conf/ser/tdnn_embedding_svm.yaml
  conf/ser/compare_emb_svm_speakernorm.yaml"
pretrained_exp=none
ivector_extractor=
intermediate_data=
intermediate_config=conf/ser/tdnn_bottleneck.yaml
intermediate_systems=
folds=utt2fold
fold_list=
reference="tdnn_scratch compare_svm_speakernorm"
train_final=true
nj=4
stage=0
stop_stage=100
force=false
stage_dir=exp/stages
exp_dir=exp/ser
. ./path.sh
. ./cmd.sh
. utils/parse_options.sh
. utils/stage_control.sh
[ $# -eq 0 ] || { echo "$help_message" >&2; exit 1; }
for opt in corpus corpus_dir systems; do
  [ -n "${!opt}" ] || { echo "$0: --${opt//_/-} is required"; echo "$help_message"; exit 1; } >&2
done
[ "$pretrained_exp" = none ] || [ -f "$pretrained_exp/final.pt" ] || \
  { echo "$0: no $pretrained_exp/final.pt (--pretrained-exp)" >&2; exit 1; }
if [ -n "$intermediate_data" ] && [ "$pretrained_exp" = none ]; then
  echo "$0: --intermediate-data needs --pretrained-exp" >&2; exit 1
fi
[ -n "$intermediate_systems" ] || intermediate_systems=$intermediate_config
[ -n "$intermediate_data" ] || intermediate_systems=
data=data/$corpus
ivector_dir=
[ -z "$ivector_extractor" ] || ivector_dir=exp/ivector/online_$corpus
start_time=$(date +%s)

# Every conf is checked before any work (one sertl.bin.ser_system process for all); the
# systems needing a pretrained model are dropped without one. run_list: "<name> <conf>
# <pretrained>" per system to run; kind_of, data_of (the data dir it reads): by conf;
# source_of: the <exp> of a "<conf>@<exp>" entry.
declare -A source_of=()
# shellcheck disable=SC2206  # a list of confs
confs=($intermediate_systems)
for entry in $systems; do
  conf=${entry%%@*}
  confs+=("$conf")
  [ "$conf" = "$entry" ] || source_of[$conf]=${entry#*@}
done
for conf in "${confs[@]}"; do
  [ -f "$conf" ] || { echo "$0: no such system conf: $conf" >&2; exit 1; }
  [ -z "${source_of[$conf]:-}" ] || [ -f "${source_of[$conf]}/final.pt" ] || \
    { echo "$0: $conf@${source_of[$conf]}: no ${source_of[$conf]}/final.pt" >&2; exit 1; }
done
description=$(python -m sertl.bin.ser_system describe "${confs[@]}")
declare -A kind_of=() data_of=() needs_of=()
while read -r conf kind suffix _ needs _; do
  kind_of[$conf]=$kind; needs_of[$conf]=$needs
  data_of[$conf]=data/${corpus}_$suffix
  [ "$suffix" != - ] || data_of[$conf]=data/$corpus
done <<< "$description"
run_list=()
for entry in $systems; do
  conf=${entry%%@*}
  pretrained=${source_of[$conf]:-$pretrained_exp}
  if [ "${needs_of[$conf]}" = true ] && [ "$pretrained" = none ]; then
    echo "$0: note: $conf needs --pretrained-exp; not run" >&2
    continue
  fi
  # A network from scratch still takes the pretrained model's layout; other kinds that
  # need no source model are given none (a ResNet34 from scratch refuses one).
  [ "${needs_of[$conf]}" = true ] || [ "${kind_of[$conf]}" = network ] || pretrained=none
  run_list+=("$(basename "$conf" .yaml) $conf $pretrained")
done
for conf in $intermediate_systems; do
  [ "${kind_of[$conf]}" = network ] || \
    { echo "$0: $conf: only networks start from the intermediate model" >&2; exit 1; }
  run_list+=("$(basename "$conf" .yaml)_via_$(basename "$intermediate_data") $conf exp/intermediate")
done
[ ${#run_list[@]} -gt 0 ] || { echo "$0: no system to run" >&2; exit 1; }
duplicate=$(printf '%s\n' "${run_list[@]}" | cut -d' ' -f1 | sort | uniq -d | head -n 1)
[ -z "$duplicate" ] || \
  { echo "$0: two systems named $duplicate (one exp dir each: copy the conf under another name)" >&2; exit 1; }

if stage_begin 0 "data prep: $data from $corpus_dir"; then
  # shellcheck disable=SC2086  # options are words
  $prepare_data $prepare_data_opts "$corpus_dir" "$data"
  stage_end 0
fi

if stage_begin 1 "features: MFCC, MFCC hires, fbank, CMVN and VAD"; then
  steps/make_feature_sets.sh --nj "$nj" --cmd "$train_cmd" "$data" exp feats
  stage_end 1
fi

if [ -n "$ivector_dir" ] && stage_begin 2 "online i-vectors with $ivector_extractor"; then
  steps/extract_ivectors_online.sh --nj "$nj" --cmd "$train_cmd" \
    "${data}_hires" "$ivector_extractor" "$ivector_dir"
  stage_end 2
fi

if stage_begin 3 "inputs made per system: functionals, embeddings, spectrograms, fusions"; then
  for entry in "${run_list[@]}"; do
    read -r name conf pretrained <<< "$entry"
    steps/make_system_input.sh --nj "$nj" --cmd "$train_cmd" ${ivector_dir:+--ivector-dir "$ivector_dir"} \
      "$conf" "$data" "$pretrained"
  done
  stage_end 3
fi

if [ -n "$intermediate_data" ] && stage_begin 4 "intermediate fine-tuning on $intermediate_data"; then
  steps/train_ser.sh --cmd "$train_cmd" --config "$intermediate_config" \
    "$intermediate_data" "$pretrained_exp" exp/intermediate
  stage_end 4
fi

if stage_begin 5 "cross-validation of ${#run_list[@]} systems (folds: ${fold_list:-$folds})"; then
  for entry in "${run_list[@]}"; do
    read -r name conf pretrained <<< "$entry"
    iv_opts=()
    if [ -n "$ivector_dir" ] && [ "${kind_of[$conf]}" = network ]; then
      iv_opts=(--ivector-dir "$ivector_dir")
    fi
    steps/eval_ser.sh --cmd "$train_cmd" --nj "$nj" --config "$conf" --folds "$folds" \
      ${fold_list:+--fold-list "$fold_list"} "${iv_opts[@]}" \
      "${data_of[$conf]}" "$pretrained" "$exp_dir/$name"
  done
  stage_end 5
fi

if stage_begin 6 "one table of all systems: $exp_dir/results.md"; then
  exp_dirs=()
  for entry in "${run_list[@]}"; do
    read -r name _ <<< "$entry"
    exp_dirs+=("$exp_dir/$name")
  done
  ref_opts=()
  for ref in ${reference:-${exp_dirs[0]#"$exp_dir"/}}; do
    if [[ " ${exp_dirs[*]} " == *" $exp_dir/$ref "* ]]; then
      ref_opts+=(--reference "$exp_dir/$ref")
    else
      echo "$0: note: --reference $ref is not among the systems run; no column for it" >&2
    fi
  done
  python -m sertl.bin.ser_results --command "$parse_options_cmdline" \
    ablations "${ref_opts[@]}" "$exp_dir/results.md" "${exp_dirs[@]}"
  stage_end 6
fi

if [ "$train_final" = true ] && stage_begin 7 "every system on all of $data, for steps/predict_ser.sh"; then
  for entry in "${run_list[@]}"; do
    read -r name conf pretrained <<< "$entry"
    iv_opts=()  # the extractor is recorded for every kind (embeddings take i-vectors too)
    [ -z "$ivector_dir" ] || iv_opts=(--ivector-extractor "$ivector_extractor")
    [ -z "$ivector_dir" ] || [ "${kind_of[$conf]}" != network ] || iv_opts+=(--ivector-dir "$ivector_dir")
    steps/train_ser.sh --cmd "$train_cmd" --config "$conf" "${iv_opts[@]}" \
      "${data_of[$conf]}" "$pretrained" "$exp_dir/$name/final"
  done
  stage_end 7
fi

echo "$0: done in $(( $(date +%s) - start_time )) s. Data: $data*; results: $exp_dir/results.md" \
     "(per system: $exp_dir/<system>/results.md); logs under exp/" >&2

#!/usr/bin/env bash
# sertl default recipe: speech emotion recognition by transfer learning, run offline on a
# small emotional speech corpus that stage 0 synthesizes with eSpeak NG.
# Usage: ./run.sh [options]
# Options:
#   --stage <n>         first stage to run; an explicit --stage redoes that stage (default 0)
#   --stop-stage <n>    last stage to run (default 100)
#   --force <bool>      redo the selected stages even when complete (default false)
#   --nj <n>            parallel jobs per step (default 2)
#   --seed <n>          seed of the generated corpus (default 1)
#   --corpus-dir <dir>  where the generated corpus is written (default corpus)
# Stages:
#   0  synthesize the corpus; data/asr (ASR part, 6 speakers) and data/ser (SER part, 8)
#   1  features of the ASR part with CMVN stats: 13-dim MFCC (data/asr_mfcc), 40-dim MFCC
#      hires (data/asr_hires), 40 log-mel fbank (data/asr_fbank); energy VAD in each
#   2  i-vectors: UBM (64 Gaussians) and extractor (dim 100) on the ASR part; online
#      i-vectors of the ASR part (exp/ivector/online_asr)
#   3  lang dir from the corpus lexicon; forced alignment of the ASR part (exp/mono_ali)
#   4  ASR pretraining of a small TDNN-F (conf/asr/tdnn_small.yaml) -> exp/tdnn_small
#   5  the SER pipeline (egs/TEMPLATE/ser1/ser.sh, its stages 0-7 with markers in
#      exp/ser/stages) on data/ser, leave-one-speaker-out: the eGeMAPS + SVM baseline,
#      the TDNN from scratch, transfer from exp/tdnn_small by fine-tuning its tdnn12
#      bottleneck and by embedding (pooled tdnn12 activations + SVM); one table,
#      exp/ser/results.md; final models on all SER speakers in exp/ser/<system>/final
# Completed stages are skipped on a rerun (markers in exp/stages), so after a crash
# ./run.sh continues where it stopped. Logs are under exp/.
set -euo pipefail
stage=0
stop_stage=100
force=false
nj=2
seed=1
corpus_dir=corpus
. ./path.sh
. ./cmd.sh
. utils/parse_options.sh
. utils/stage_control.sh
[ $# -eq 0 ] || { echo "$help_message" >&2; exit 1; }
start_time=$(date +%s)

if stage_begin 0 "synthesize the corpus, prepare data/asr and data/ser"; then
  local/prepare_data.sh --seed "$seed" "$corpus_dir" data
  for part in asr ser; do
    utils/validate_data_dir.sh --no-feats data/$part
  done
  stage_end 0
fi

if stage_begin 1 "features of the ASR part: MFCC, MFCC hires, fbank, CMVN and VAD"; then
  steps/make_feature_sets.sh --nj "$nj" --cmd "$train_cmd" data/asr exp .
  stage_end 1
fi

if stage_begin 2 "i-vectors: UBM and extractor on the ASR part, online i-vectors"; then
  steps/train_diag_ubm.sh --nj "$nj" --cmd "$train_cmd" --num-iters 3 --num-frames 100000 \
    data/asr_hires 64 exp/ivector/ubm
  # Kaldi's --gaussian-min-count 100 (of posteriors scaled by 0.1) would leave all but a
  # few of the 64 Gaussians un-updated on these 13 minutes of speech.
  steps/train_ivector_extractor.sh --nj "$nj" --cmd "$train_cmd" --ivector-dim 100 \
    --num-iters 3 --gaussian-min-count 10 data/asr_hires exp/ivector/ubm exp/ivector/extractor
  steps/extract_ivectors_online.sh --nj "$nj" --cmd "$train_cmd" \
    data/asr_hires exp/ivector/extractor exp/ivector/online_asr
  stage_end 2
fi

if stage_begin 3 "forced alignment of the ASR part (flat start, SpeechBrain HMMAligner)"; then
  local/prepare_dict.sh "$corpus_dir" data/local/dict
  utils/prepare_lang.sh data/local/dict "<UNK>" data/lang
  # conf/align_sb.yaml and 4 iterations: 84.1% of eSpeak's boundaries within 20 ms at half
  # the CPU time of 6 iterations of the built-in defaults (RESULTS-align.md).
  steps/align_sb.sh --nj "$nj" --cmd "$train_cmd" --align-config conf/align_sb.yaml \
    --num-iters 4 data/asr_hires data/lang exp/mono exp/mono_ali
  stage_end 3
fi

if stage_begin 4 "ASR pretraining: small TDNN-F on the alignments, with i-vectors"; then
  steps/train_asr.sh --cmd "$train_cmd" --config conf/asr/tdnn_small.yaml \
    --ivector-dir exp/ivector/online_asr data/asr_hires exp/mono_ali exp/tdnn_small
  stage_end 4
fi

if stage_begin 5 "SER pipeline on data/ser: baseline, scratch and transfer side by side"; then
  egs/TEMPLATE/ser1/ser.sh --corpus ser --corpus-dir "$corpus_dir" \
    --prepare-data local/prepare_ser_data.sh --stage-dir exp/ser/stages --force "$force" \
    --systems "conf/ser/egemaps_svm_speakernorm.yaml conf/ser/tdnn_scratch.yaml
               conf/ser/tdnn_bottleneck.yaml conf/ser/tdnn_embedding_svm.yaml" \
    --reference "tdnn_scratch egemaps_svm_speakernorm" --pretrained-exp exp/tdnn_small \
    --ivector-extractor exp/ivector/extractor --nj "$nj"
  stage_end 5
fi

echo "$0: done in $(( $(date +%s) - start_time )) s. Corpus: $corpus_dir;" \
     "data dirs: data/{asr,ser}{,_mfcc,_hires,_fbank}; features: mfcc/, hires/, fbank/, vad/;" \
     "i-vectors: exp/ivector; alignments: exp/mono_ali; ASR model: exp/tdnn_small;" \
     "SER results: exp/ser/results.md; SER models: exp/ser/<system>/final; logs: exp/" >&2

#!/usr/bin/env bash
# Usage: local/prepare_data.sh [options] <corpus-dir> <data-dir>
# Generates the default recipe's emotional speech corpus with eSpeak NG (offline,
# deterministic for a seed) and its Kaldi data dirs:
#   <corpus-dir>/wav/<spk>/<utt>.wav  16 kHz 16-bit mono
#   <corpus-dir>/phones.ctm           ground-truth phone alignment (utt 1 start dur phone)
#   <corpus-dir>/lexicon.txt          WORD ph1 ph2 ... (eSpeak phone mnemonics)
#   <data-dir>/asr, <data-dir>/ser    wav.scp text utt2spk spk2utt spk2gender utt2emo
#                                     utt2fold (leave-one-speaker-out: fold = speaker)
# ASR and SER speakers are disjoint; every SER speaker says the same sentences in each
# of the emotions neutral, happy, angry and sad.
# Options:
#   --seed <n>                       random seed of the whole corpus (default 1)
#   --num-asr-speakers <n>           speakers of the ASR part (default 6)
#   --num-ser-speakers <n>           speakers of the SER part (default 8)
#   --asr-utts-per-speaker <n>       utterances per ASR speaker, mostly neutral (default 40)
#   --ser-sentences-per-emotion <n>  sentences each SER speaker says per emotion (default 8)
set -euo pipefail
seed=1
num_asr_speakers=6
num_ser_speakers=8
asr_utts_per_speaker=40
ser_sentences_per_emotion=8
. utils/parse_options.sh
[ $# -eq 2 ] || { echo "$help_message" >&2; exit 1; }
corpus_dir=$1
data_dir=$2

python local/make_corpus.py --seed "$seed" \
  --num-asr-speakers "$num_asr_speakers" --num-ser-speakers "$num_ser_speakers" \
  --asr-utts-per-speaker "$asr_utts_per_speaker" \
  --ser-sentences-per-emotion "$ser_sentences_per_emotion" \
  "$corpus_dir" "$data_dir"
echo "$0: corpus in $corpus_dir, data dirs $data_dir/asr and $data_dir/ser" >&2

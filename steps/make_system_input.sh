#!/usr/bin/env bash
# Usage: steps/make_system_input.sh [options] <system-conf> <data-dir> <pretrained-exp|none>
# Makes the data dir that the SER system of <system-conf> reads (sertl.bin.ser_system:
# <data-dir>_<data-suffix>) from the corpus data dir <data-dir>, whose feature sets
# <data-dir>_{mfcc,hires,fbank} steps/make_feature_sets.sh has made:
#   features, audio   nothing to make (a feature set, or <data-dir> itself)
#   functionals       steps/make_functionals.sh
#   embedding         steps/make_embeddings.sh of <pretrained-exp>, from its feature set
#   spectrogram       steps/make_spectrograms.sh with the conf's librosa options
#   fusion            each part as above, then their vectors concatenated
# Each step keeps a complete output made the same way, so this is cheap to rerun; the
# SER pipeline (stage 3) and steps/predict_ser.sh call it.
# Options:
#   --ivector-dir <dir>          online i-vectors of <data-dir>_hires (embeddings)
#   --log-root <dir>             logs in <log-root>/make_<kind>/<out name> (default exp)
#   --feat-root <dir>            archives in <feat-root>/<kind> (default feats)
#   --nj <n>                     parallel jobs (default 4)
#   --use-gpu <auto|true|false>  (default auto)
#   --cmd <cmd>                  job runner (default run.py)
set -euo pipefail
ivector_dir=
log_root=exp
feat_root=feats
nj=4
use_gpu=auto
cmd=run.py
. utils/parse_options.sh
[ $# -eq 3 ] || { echo "$help_message" >&2; exit 1; }
conf=$1
data=${2%/}
pretrained=$3

make_input() {  # make_input <out-dir> <input kind> [<arg>...]
  local out=$1 input=$2 model spec_conf
  shift 2
  case $input in
    features|audio) ;;
    functionals)
      steps/make_functionals.sh --nj "$nj" --cmd "$cmd" --feature-set "$1" \
        "$data" "$out" "$log_root/make_functionals/$(basename "$out")" "$feat_root/functionals" ;;
    embedding)
      [ "$pretrained" != none ] || { echo "$0: $conf: an embedding needs a pretrained model" >&2; exit 1; }
      model=$pretrained; [ -f "$model" ] || model=$pretrained/final.pt
      steps/make_embeddings.sh --cmd "$cmd" --use-gpu "$use_gpu" --layer "$1" --pooling "$2" \
        ${ivector_dir:+--ivector-dir "$ivector_dir"} \
        "${data}_$(python -m sertl.bin.make_embeddings --print-feature-set "$model")" "$model" "$out" ;;
    spectrogram)  # the options, one per line
      spec_conf=$log_root/make_spectrograms/$(basename "$out").conf
      mkdir -p "$(dirname "$spec_conf")"
      printf '%s\n' "$@" > "$spec_conf"
      steps/make_spectrograms.sh --nj "$nj" --cmd "$cmd" --spectrogram-config "$spec_conf" \
        "$data" "$out" "$log_root/make_spectrograms/$(basename "$out")" "$feat_root/spectrograms" ;;
    *) echo "$0: $conf: unknown input kind '$input'" >&2; exit 1 ;;
  esac
}

read -r _ _ suffix _ _ input args <<< "$(python -m sertl.bin.ser_system describe "$conf")"
out=${data}_$suffix
[ "$suffix" != - ] || out=$data
if [ "$input" != fusion ]; then
  # shellcheck disable=SC2086  # the input's words
  make_input "$out" "$input" $args
  exit 0
fi
parts=()
while read -r part_suffix part_input part_args; do
  # shellcheck disable=SC2086  # the input's words
  make_input "${data}_$part_suffix" "$part_input" $part_args
  parts+=("${data}_$part_suffix")
done <<< "$(python -m sertl.bin.ser_system parts "$conf")"
rm -rf "$out"
utils/copy_data_dir.sh "${parts[0]}" "$out"
rm -f "$out/feats.scp" "$out/functionals" "$out/embedding"
mkdir -p "$feat_root/fusion"
python -m sertl.bin.paste_vectors "$(cd "$feat_root/fusion" && pwd)/vectors_$(basename "$out").ark" \
  "$out/feats.scp.tmp" "${parts[@]}"
mv "$out/feats.scp.tmp" "$out/feats.scp"
echo "$0: $out: the vectors of ${parts[*]} side by side" >&2

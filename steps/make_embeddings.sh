#!/usr/bin/env bash
# Usage: steps/make_embeddings.sh [options] <data-dir> <pretrained-exp> <out-data-dir>
# Transfer by embedding: <out-data-dir> is a copy of <data-dir> whose feats.scp holds one
# (1, D) vector per utterance: the activations of <pretrained-exp>/final.pt at --layer over
# the utterance's voiced frames, pooled (sertl/ser/embedding.py). <data-dir> holds the
# features the network reads (python -m sertl.bin.make_embeddings --print-feature-set
# <pretrained-exp>/final.pt names them). A complete <out-data-dir> made from the same model
# file, layer and pooling is kept; anything else is made anew. Log: <out-data-dir>/log.
# e.g.: steps/make_embeddings.sh --layer tdnn12 data/emodb_hires ../../speechocean762/s5/exp/tdnn_phones data/emodb_emb_tdnn12
# Options:
#   --layer <name>               the layer whose output is pooled (required)
#   --pooling <mean_std|mean>    (default mean_std)
#   --ivector-dir <dir>          online i-vectors of <data-dir>, for a network that takes them
#   --use-gpu <auto|true|false>  (default auto)
#   --cmd <cmd>                  job runner (default run.py)
set -euo pipefail
layer=
pooling=mean_std
ivector_dir=
use_gpu=auto
cmd=run.py
. utils/parse_options.sh
[ $# -eq 3 ] && [ -n "$layer" ] || { echo "$help_message" >&2; exit 1; }
data=${1%/}
pretrained=$2
out=${3%/}
model=$pretrained
[ -f "$model" ] || model=$pretrained/final.pt
for f in "$model" "$data/feats.scp"; do
  [ -f "$f" ] || { echo "$0: no such file: $f" >&2; exit 1; }
done
. utils/torch_opts.sh
stamp="$(sha1sum < "$model" | cut -d' ' -f1) $layer $pooling ${ivector_dir:+ivectors}"
if [ -f "$out/feats.scp" ] && [ "$(cat "$out/embedding" 2>/dev/null)" = "$stamp" ] && \
   cmp -s <(cut -d' ' -f1 "$out/feats.scp") <(cut -d' ' -f1 "$data/feats.scp"); then
  echo "$0: $out: embeddings complete already" >&2
  exit 0
fi
rm -rf "$out"
utils/copy_data_dir.sh "$data" "$out"
rm -f "$out/feats.scp" "$out/cmvn.scp" "$out/utt2num_frames"
mkdir -p "$out/log" "$out/data"
ark=$(cd "$out/data" && pwd)/embeddings.ark
echo "$0: embeddings of $data at $layer of $model, log in $out/log/make_embeddings.log" >&2
$cmd "${gpu_opts[@]}" "$out/log/make_embeddings.log" \
  python -m sertl.bin.make_embeddings --layer "$layer" --pooling "$pooling" \
    ${ivector_dir:+--ivector-dir "$ivector_dir"} "${device_opts[@]}" \
    "$data" "$model" "$ark" "$out/feats.scp.tmp"
mv "$out/feats.scp.tmp" "$out/feats.scp"
echo "$stamp" > "$out/embedding"
echo "$0: wrote $(wc -l < "$out/feats.scp") embeddings to $out" >&2

#!/usr/bin/env bash
# Usage: steps/align_sb.sh [options] <data-dir> <lang-dir> <src-dir> <ali-dir>
# Forced alignment of <data-dir> (feats.scp, cmvn.scp, text; vad.scp helps the flat start)
# to phone HMMs whose emission scores come from frame classifiers, with SpeechBrain's
# HMMAligner as the (exact, beam-free) Viterbi search; optional silence before, between
# and after words. See sertl/align/graph.py (graphs, search) and sertl/align/model.py
# (training, and what keeps it stable).
# With <src-dir>/final.mdl it only aligns; with <src-dir>/final.pt (an acoustic model of
# steps/train_asr.sh: realignment, Kaldi's align with a better model) it aligns with that
# network's scaled likelihoods over the HMMs of its targets (sertl/asr/realign.py). Otherwise it first trains that model in
# <src-dir> from a flat start: iteration 0 spreads every transcript evenly over its voiced
# frames (<src-dir>/ali_0); iteration x = 1..num-iters trains new cross-fitted
# classifiers on the alignment of iteration x-1 (<src-dir>/x.mdl) and realigns with them
# (<src-dir>/ali_x); with --final-single true, iteration num-iters + 1 trains a single
# classifier on the last alignment (final.mdl), which realigns every utterance into
# <ali-dir>. A killed run goes on from the last finished iteration. <src-dir> and
# <ali-dir> may be the same.
# Writes to <ali-dir>: ali.JOB.ark + ali.scp (int32 target per frame: phone x state),
# phone_ali.JOB.ark + phone_ali.scp (phone ids of phones.txt per frame), num_targets,
# targets.txt ("name id"), phones.txt, ali.ctm (utt 1 start dur phone), final.mdl, and
# log/. Per iteration, <src-dir>/log/summary.log gives the training loss, the frame
# accuracy on the training frames and on held-out utterances (each classifier on the
# fold it did not see; the single classifier on 1 in 20 utterances kept out of its
# training), and the average per-frame log-likelihood of the
# realigned Viterbi paths (<ali-dir>/log/summary.log for the final pass).
# e.g.: steps/align_sb.sh --nj 4 data/asr_hires data/lang exp/mono exp/mono_ali
# Options:
#   --nj <n>               parallel alignment jobs, split by speaker (default 4)
#   --cmd <cmd>            job runner (default run.py)
#   --num-iters <k>        training iterations after the flat start (default 6)
#   --num-states <n>       HMM states per phone of a new model, e.g. 1 or 3 (default 3)
#   --final-single <bool>  train final.mdl as one classifier (no cross-fitting) on the
#                          last iteration's alignment, so the states agree across the
#                          folds (default true); false: final.mdl = <num-iters>.mdl
#   --ivector-dir <dir>    online i-vectors of <data-dir>, for a final.pt that takes them
#   --align-config <file>  YAML hyper-parameters (sertl.align.model.AlignConfig; default: built in)
#   --device <dev>         torch device, e.g. cpu or cuda (default: cuda when available)
set -euo pipefail
nj=4
cmd=run.py
num_iters=6
num_states=3
final_single=true
ivector_dir=
align_config=
device=
. utils/parse_options.sh
[ $# -eq 4 ] || { echo "$help_message" >&2; exit 1; }
data=$1
lang=$2
srcdir=$3
dir=$4

for f in "$data/feats.scp" "$data/cmvn.scp" "$data/text" "$lang/phones.txt" "$lang/lexicon.txt"; do
  [ -f "$f" ] || { echo "$0: no such file: $f" >&2; exit 1; }
done
[ -z "$align_config" ] || [ -f "$align_config" ] || {
  echo "$0: no such config file: $align_config" >&2; exit 1; }
num_spk=$(wc -l < "$data/spk2utt")
[ "$nj" -gt "$num_spk" ] && nj=$num_spk
utils/split_data.sh "$data" "$nj"
sdata=$data/split$nj
device_opt=()
[ -n "$device" ] && device_opt=(--device "$device")
config_opt=()
[ -n "$align_config" ] && config_opt=(--config "$align_config")

# align_pass <model> <out-dir> <log-prefix> <label> <summary-file>: aligns $sdata/JOB
# into <out-dir> (logs <log-prefix>.JOB.log), merges the per-job tables and appends the
# "<label>: ... log-likelihood ..." line to <summary-file>. ali.scp is written last.
align_pass() {
  local model=$1 out=$2 logs=$3 label=$4 summary=$5 n
  mkdir -p "$out"
  rm -f "$out/ali.scp" "$out"/stats.*
  $cmd JOB=1:"$nj" "$logs.JOB.log" \
    python -m sertl.bin.align_frames "${device_opt[@]}" ${ivector_dir:+--ivector-dir "$ivector_dir"} \
      "$model" "$lang" "$sdata/JOB" "$out" JOB
  for n in $(seq "$nj"); do cat "$out/phone_ali.$n.scp"; done | sort > "$out/phone_ali.scp"
  for n in $(seq "$nj"); do cat "$out/ctm.$n"; done | sort -s -k1,1 > "$out/ali.ctm"
  for n in $(seq "$nj"); do cat "$out/ali.$n.scp"; done | sort > "$out/ali.scp.tmp"
  awk -v label="$label" '{u += $2; f += $4; l += $6; k += $8}
    END {printf "%s: aligned %d utterances (%d left out), %d frames, " \
                "average log-likelihood per frame %.4f\n", label, u, k, f, l / f}' \
    "$out"/stats.* | tee -a "$summary" >&2
  for n in $(seq "$nj"); do
    rm -f "$out/ali.$n.scp" "$out/phone_ali.$n.scp" "$out/ctm.$n" "$out/stats.$n"
  done
  mv "$out/ali.scp.tmp" "$out/ali.scp"
}

model=$srcdir/final.mdl
[ -f "$srcdir/final.pt" ] && model=$srcdir/final.pt
if [ ! -f "$model" ]; then
  mkdir -p "$srcdir/log"
  if [ ! -f "$srcdir/ali_0/ali.scp" ]; then
    echo "$0: flat start: uniform segmentation of $data into $srcdir/ali_0" >&2
    $cmd "$srcdir/log/flat_start.log" python -m sertl.bin.align_flat_start \
      --num-states "$num_states" "${config_opt[@]}" "$data" "$lang" "$srcdir/ali_0"
  fi
  # train_iter <x> <prev-ali-dir> [<train_aligner options>]: trains $srcdir/<x>.mdl
  train_iter() {
    local x=$1 prev=$2
    shift 2
    if [ ! -f "$srcdir/$x.mdl" ]; then
      echo "$0: iteration $x: training $srcdir/$x.mdl" >&2
      $cmd "$srcdir/log/train.$x.log" python -m sertl.bin.train_aligner \
        --num-states "$num_states" "${config_opt[@]}" --iteration "$x" "${device_opt[@]}" \
        "$@" "$data" "$lang" "$prev/ali.scp" "$srcdir/$x.mdl"
    fi
    grep -qs "^iteration $x: loss" "$srcdir/log/summary.log" || \
      grep -o "iteration $x: loss.*" "$srcdir/log/train.$x.log" | tail -n 1 \
        | tee -a "$srcdir/log/summary.log" >&2
  }
  last=$num_iters
  [ "$final_single" = true ] && last=$((num_iters + 1))
  for x in $(seq "$num_iters"); do
    train_iter "$x" "$srcdir/ali_$((x - 1))"
    if [ "$x" -lt "$last" ] && [ ! -f "$srcdir/ali_$x/ali.scp" ]; then
      align_pass "$srcdir/$x.mdl" "$srcdir/ali_$x" "$srcdir/log/align.$x" "iteration $x" \
        "$srcdir/log/summary.log"
    fi
  done
  # The cross-fitted classifiers agree on phones but not on which state of a phone a
  # frame is; one classifier for every utterance makes the states of the final
  # alignment consistent across the folds.
  [ "$final_single" = true ] && train_iter "$last" "$srcdir/ali_$num_iters" --num-folds 1
  cp "$srcdir/$last.mdl" "$srcdir/final.mdl.tmp"
  mv "$srcdir/final.mdl.tmp" "$srcdir/final.mdl"
fi

mkdir -p "$dir/log"
if [ "$model" = "$srcdir/final.mdl" ]; then
  [ "$model" -ef "$dir/final.mdl" ] || cp "$model" "$dir/final.mdl"
  model=$dir/final.mdl
fi
echo "$0: aligning $data with $model into $dir" >&2
align_pass "$model" "$dir" "$dir/log/align" "final model" "$dir/log/summary.log"
python -m sertl.bin.write_targets "$model" "$dir"
cp "$lang/phones.txt" "$dir/phones.txt"
echo "$0: wrote alignments of $(wc -l < "$dir/ali.scp") utterances to $dir" >&2

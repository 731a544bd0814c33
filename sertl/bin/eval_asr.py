"""Frame error rate and phone error rate of a trained acoustic model on a data dir.

Usage: python -m sertl.bin.eval_asr [options] (--ali-dir DIR | --ref-text FILE)
           <data-dir> <model> <out-dir>

<model> is a final.pt of sertl.bin.train_asr (it carries the phone decoder estimated on
the training alignments). References: with --ali-dir, the alignments of <data-dir>'s
utterances (frame and phone error rate); with --ref-text, "utterance phone phone ..."
lines (phone error rate only, e.g. TIMIT's manual transcription). --phone-map folds
phones of both sides before scoring. Writes <out-dir>/hyp and <out-dir>/ref
(utterance, phone sequence) and <out-dir>/scores.json (fer, per and their counts; per
speaker, and the speakers' mean, standard deviation, minimum and maximum).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from sertl.align.alidir import AlignmentDir
from sertl.asr.decode import PhoneDecoder
from sertl.asr.evaluate import DecodeOptions, evaluate
from sertl.io import TableError, read_table, write_table
from sertl.models import load_model
from sertl.train.evaluate import load_eval_set


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    refs = parser.add_mutually_exclusive_group(required=True)
    refs.add_argument("--ali-dir", type=Path, help="alignments of <data-dir>")
    refs.add_argument("--ref-text", type=Path, help="reference phone transcripts")
    parser.add_argument("--ivector-dir", type=Path, help="online i-vectors of <data-dir>")
    parser.add_argument("--device", choices=["cuda", "cpu"], help="default: cuda if available")
    parser.add_argument("--acoustic-scale", type=float, default=1.0)
    parser.add_argument("--lm-weight", type=float, default=1.0)
    parser.add_argument("--insertion-penalty", type=float, default=0.0)
    parser.add_argument("--phone-map", type=Path,
                        help="'phone folded-phone' lines applied before scoring")
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("model", type=Path)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    try:
        model, saved = load_model(args.model, device)
        if not saved["decoder"]:
            raise ValueError(f"{args.model}: holds no phone decoder")
        options = DecodeOptions(args.acoustic_scale, args.lm_weight, args.insertion_penalty,
                                read_table(args.phone_map) if args.phone_map else None)
        ali = AlignmentDir.load(args.ali_dir) if args.ali_dir else None
        ref_text = ({u: t.split() for u, t in read_table(args.ref_text).items()}
                    if args.ref_text else None)
        store = load_eval_set(args.data_dir, ali, saved, args.ivector_dir)
        result = evaluate(model, PhoneDecoder.from_dict(saved["decoder"]), store, options,
                          device, ref_text)
    except (TableError, KeyError, OSError, ValueError) as e:
        print(f"eval_asr: error: {e.args[0] if isinstance(e, KeyError) else e}",
              file=sys.stderr)
        return 1
    args.out_dir.mkdir(parents=True, exist_ok=True)
    write_table(args.out_dir / "hyp", {u: " ".join(p) or "-" for u, p in result.hyps.items()})
    write_table(args.out_dir / "ref", {u: " ".join(p) or "-" for u, p in result.refs.items()})
    scores = result.scores(read_table(args.data_dir / "utt2spk"))
    (args.out_dir / "scores.json").write_text(json.dumps(scores, indent=1) + "\n")
    fer = f"FER {100 * scores['fer']:.2f}% ({scores['frames']} frames), " \
        if scores["fer"] is not None else ""
    print(f"eval_asr: {args.data_dir}: {fer}PER {100 * scores['per']:.2f}% "
          f"({scores['phones']} phones, {scores['utterances']} utterances)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Score a data dir with the vgg16 SER system (sertl.bin.train_vgg16).

Usage: python -m sertl.bin.score_vgg16 [--device cuda|cpu] <data-dir> <exp-dir|final.pt> <out-dir>

<data-dir> is a corpus data dir (wav.scp, optional segments; utt2emo for metrics). Each
utterance's own image (silence removed, no padding) is scored alone. Writes
<out-dir>/scores_utterance.txt (class posteriors; format: sertl.ser.metrics) and, when
<data-dir> has utt2emo, <out-dir>/metrics.json.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sertl.audio import read_segments
from sertl.bin.common import choose_device, run_tool
from sertl.io import atomic_open, read_table
from sertl.ser.metrics import NO_LABEL, UtteranceScores, compute_metrics, write_scores
from sertl.ser.vgg import load_vgg_model, posteriors, utterance_images, utterance_signals

PROG = "score_vgg16"
RULE = "utterance"


def score(data_dir: Path, model_path: Path, out_dir: Path, device: str | None) -> None:
    if model_path.is_dir():
        model_path = model_path / "final.pt"
    dev = choose_device(device)
    model, classes, opts = load_vgg_model(model_path, dev)
    utts = sorted(seg.utt for seg in read_segments(data_dir))
    utt2emo_path = data_dir / "utt2emo"
    refs = read_table(utt2emo_path) if utt2emo_path.is_file() else {}
    unknown = sorted({r for r in refs.values() if r not in classes})
    if unknown:
        raise ValueError(f"{utt2emo_path}: label '{unknown[0]}' is not a class of "
                         f"{model_path} ({' '.join(classes)}); use the same label map")
    images = utterance_images(utterance_signals(data_dir, utts, opts), opts, "test")
    post = posteriors(model, images, dev)
    table = UtteranceScores(classes, utts, [refs.get(u, NO_LABEL) for u in utts],
                            [classes[i] for i in post.argmax(axis=1)], post)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_scores(out_dir / f"scores_{RULE}.txt", table)
    if refs:
        metrics = {RULE: compute_metrics(table)}
        with atomic_open(out_dir / "metrics.json", encoding="utf-8") as f:
            f.write(json.dumps(metrics, indent=1) + "\n")
        m = metrics[RULE]
        print(f"{PROG}: {data_dir}: UA {100 * m['ua']:.2f}% WA {100 * m['wa']:.2f}% "
              f"({m['utterances']} utterances)", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ivector-dir", type=Path, help="not used")
    parser.add_argument("--device", choices=["cuda", "cpu"], help="default: cuda if available")
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("model", type=Path)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    return run_tool(PROG, lambda: score(args.data_dir, args.model, args.out_dir, args.device),
                    (ValueError, KeyError, OSError))


if __name__ == "__main__":
    sys.exit(main())

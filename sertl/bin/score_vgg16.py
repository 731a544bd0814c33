"""Score a data dir with the vgg16 SER system (sertl.bin.train_vgg16).

Usage: python -m sertl.bin.score_vgg16 [--device cuda|cpu] <data-dir> <exp-dir|final.pt> <out-dir>

<data-dir> is a corpus data dir (wav.scp, optional segments; utt2emo for metrics). Each
utterance's own image (silence removed, no padding) is scored alone. Writes
<out-dir>/scores_utterance.txt (class posteriors; format: sertl.ser.metrics) and, when
<data-dir> has utt2emo, <out-dir>/metrics.json.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sertl.audio import read_segments
from sertl.bin.common import choose_device, run_tool
from sertl.io import read_table
from sertl.ser.metrics import write_utterance_results
from sertl.ser.vgg import load_vgg_model, posteriors, utterance_images, utterance_signals

PROG = "score_vgg16"


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
    write_utterance_results(PROG, data_dir, out_dir, classes, utts,
                            posteriors(model, images, dev))


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

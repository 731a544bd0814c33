"""Score a data dir with a SoundNet SER system (sertl.bin.train_soundnet).

Usage: python -m sertl.bin.score_soundnet [--device D] <data-dir> <exp-dir|final.pt> <out-dir>

<data-dir> is a corpus data dir (wav.scp, optional segments; utt2emo for metrics), of
any corpus whose labels are the model's classes (cross-corpus scoring). Each utterance is
scored on windows (the model's window, hop and least audio); writes
<out-dir>/scores_<rule>.txt for window_mean and window_max (format: sertl.ser.metrics),
and with utt2emo <out-dir>/metrics.json (UA, WA, ..., AU-ROC for two classes) and, for
two classes, roc_<rule>.png.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sertl.bin.common import add_device_option, choose_device, run_tool
from sertl.audio import iter_utterances
from sertl.io import atomic_open, read_table
from sertl.ser.metrics import NO_LABEL, compute_metrics, write_scores
from sertl.ser.roc import plot_roc
from sertl.ser.soundnet import WindowOptions, load_soundnet, score_utterances


def score(data_dir: Path, model_path: Path, out_dir: Path, device_name: str | None) -> None:
    if model_path.is_dir():
        model_path = model_path / "final.pt"
    device = choose_device(device_name)
    model, saved = load_soundnet(model_path, device)
    classes = saved["classes"]
    windowing = WindowOptions(**saved["windows"]).samples(saved["sample_rate"])
    audio = dict(iter_utterances(data_dir, saved["sample_rate"]))
    utt2emo_path = data_dir / "utt2emo"
    refs = read_table(utt2emo_path) if utt2emo_path.is_file() else {}
    unknown = sorted({r for r in refs.values() if r not in classes})
    if unknown:
        raise ValueError(f"{utt2emo_path}: label '{unknown[0]}' is not a class of "
                         f"{model_path} ({' '.join(classes)}); use the same label map")
    utts = sorted(audio)
    tables = score_utterances(model, audio, utts, [refs.get(u, NO_LABEL) for u in utts],
                              classes, windowing, device)
    out_dir.mkdir(parents=True, exist_ok=True)
    for rule, table in tables.items():
        write_scores(out_dir / f"scores_{rule}.txt", table)
    if not refs:
        return
    metrics = {rule: compute_metrics(table) for rule, table in tables.items()}
    with atomic_open(out_dir / "metrics.json", encoding="utf-8") as f:
        f.write(json.dumps(metrics, indent=1) + "\n")
    for rule, table in tables.items():
        m = metrics[rule]
        auroc = "-" if m["auroc"] is None else f"{m['auroc']:.3f}"
        print(f"score_soundnet: {data_dir}: {rule}: AU-ROC {auroc} UA {100 * m['ua']:.2f}% "
              f"({m['utterances']} utterances)", file=sys.stderr)
        if m["auroc"] is not None:
            labelled = [i for i, r in enumerate(table.refs) if r != NO_LABEL]
            plot_roc([table.refs[i] == classes[1] for i in labelled],
                     table.scores[labelled, 1] - table.scores[labelled, 0],
                     out_dir / f"roc_{rule}.png", f"{data_dir.name}: {classes[1]} ({rule})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ivector-dir", type=Path, help="not used: the input is audio")
    add_device_option(parser)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("model", type=Path)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    return run_tool("score_soundnet", lambda: score(args.data_dir, args.model, args.out_dir,
                                                    args.device),
                    (ValueError, KeyError, OSError, RuntimeError))


if __name__ == "__main__":
    sys.exit(main())

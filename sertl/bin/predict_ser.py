"""The two ends of steps/predict_ser.sh: recordings in, labels out.

Usage: python -m sertl.bin.predict_ser make-data [--speakers per-file|one]
           <wav-dir|wav-list> <out-data-dir>
       python -m sertl.bin.predict_ser write-labels <system-exp> <scores-dir> <out-dir>

make-data: a Kaldi data dir of recordings: every .wav/.flac file of a folder (sorted), or
the paths listed one per line in a file. The utterance id is the file name without its
extension (it must be unique, and ASCII without spaces, as every id). ``--speakers
per-file`` (the default, Kaldi's convention without speaker information) makes each
recording its own speaker; ``one`` puts them all under speaker ``unknown``, which
per-speaker normalisation then standardises together. For recordings of several known
speakers, give predict_ser.sh a data dir with its utt2spk instead.

write-labels: from <scores-dir>/scores_<rule>.txt of the rule the system reports,
<out-dir>/labels.tsv (``utt label <score per class>``, a header naming the classes) and
labels.json (system, rule, what the scores are, and per utterance its label and scores).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sertl.bin.common import run_tool
from sertl.corpora.common import write_data_dir
from sertl.io import atomic_open
from sertl.ser.metrics import read_scores
from sertl.ser.system import load_system_config, reported_rule

AUDIO_SUFFIXES = (".wav", ".flac")
SCORE_KINDS = {"sum_posteriors": "mean frame posterior",
               "mean_log_posterior": "mean frame log posterior",
               "majority": "vote share of the frames",
               "utterance": "one-vs-one SVM votes plus squashed decision values"}


def recordings(source: Path) -> list[Path]:
    """The audio files of a folder, or those a list file names (relative to the list)."""
    if source.is_dir():
        files = sorted(p for p in source.iterdir()
                       if p.suffix.lower() in AUDIO_SUFFIXES and not p.name.startswith("."))
        if not files:
            raise ValueError(f"{source}: no .wav or .flac files")
        return files
    files = []
    for lineno, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            path = (source.parent / line.strip()).resolve()
            if not path.is_file():
                raise ValueError(f"{source}:{lineno}: no such file: {line.strip()}")
            files.append(path)
    if not files:
        raise ValueError(f"{source}: lists no files")
    return files


def make_data(source: Path, out: Path, speakers: str) -> None:
    utts: dict[str, Path] = {}
    for path in recordings(source):
        utt = path.stem
        if utt in utts:
            raise ValueError(f"two recordings give the utterance id '{utt}': {utts[utt]} "
                             f"and {path}")
        utts[utt] = path
    tables = {"wav.scp": {u: str(p.resolve()) for u, p in utts.items()},
              "utt2spk": {u: (u if speakers == "per-file" else "unknown") for u in utts}}
    write_data_dir(out, tables)
    print(f"predict_ser: {len(utts)} recordings of {source} -> {out}", file=sys.stderr)


def write_labels(exp: Path, scores_dir: Path, out: Path) -> None:
    rule = reported_rule(load_system_config(exp / "config.yaml"))
    table = read_scores(scores_dir / f"scores_{rule}.txt")
    out.mkdir(parents=True, exist_ok=True)
    with atomic_open(out / "labels.tsv", encoding="utf-8") as f:
        f.write("\t".join(["utt", "label", *table.classes]) + "\n")
        for utt, hyp, row in zip(table.utts, table.hyps, table.scores):
            f.write("\t".join([utt, hyp, *(f"{s:.6g}" for s in row)]) + "\n")
    labels = {"system": str(exp), "rule": rule, "scores": SCORE_KINDS[rule],
              "classes": table.classes,
              "utterances": {utt: {"label": hyp, "scores": dict(zip(table.classes,
                                                                     map(float, row)))}
                             for utt, hyp, row in zip(table.utts, table.hyps, table.scores)}}
    with atomic_open(out / "labels.json", encoding="utf-8") as f:
        f.write(json.dumps(labels, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    tools = parser.add_subparsers(dest="tool", required=True)
    data = tools.add_parser("make-data")
    data.add_argument("--speakers", choices=["per-file", "one"], default="per-file")
    data.add_argument("source", type=Path)
    data.add_argument("out", type=Path)
    labels = tools.add_parser("write-labels")
    labels.add_argument("exp", type=Path)
    labels.add_argument("scores_dir", type=Path)
    labels.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    if args.tool == "make-data":
        return run_tool("predict_ser", lambda: make_data(args.source, args.out, args.speakers),
                        (ValueError, OSError))
    return run_tool("predict_ser", lambda: write_labels(args.exp, args.scores_dir, args.out),
                    (ValueError, OSError))


if __name__ == "__main__":
    sys.exit(main())

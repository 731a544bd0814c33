"""What the SER steps need to know of a system conf (sertl.ser.system), one word each.

Usage: python -m sertl.bin.ser_system <query> <conf>
       python -m sertl.bin.ser_system describe <conf>...
  kind              network, svm, resnet34, soundnet or vgg16
  data-suffix       the data dir it reads: <corpus data dir>_<suffix> (hires, fbank,
                    compare, egemaps, emb_<layer>, ...); empty: the corpus data dir
  rule              the aggregation rule its results report
  needs-pretrained  true or false
  input             how the pipeline makes its data dir: "features", "functionals
                    <feature set>", "embedding <layer> <pooling>" or "spectrogram
                    <option>..." (--name=value words: the lines of the options file of
                    steps/make_spectrograms.sh --spectrogram-config) or "audio" (the
                    corpus data dir's wav.scp as it is) or "fusion" (see parts)
  parts             a fusion's parts, one line each: "<data-suffix> <input...>"
  describe          one line per conf: "<conf> <kind> <data-suffix> <rule>
                    <needs-pretrained> <input...>" (one process for a whole list; "-"
                    for an empty data suffix: the corpus data dir itself)

Each conf is read and checked whole first (a bad conf fails here, before any work),
except for ``kind``, which the steps ask once per job: it reads only the ``system`` key,
without importing the systems (and torch).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sertl.bin.common import run_tool
from sertl.ser.kinds import system_kind


def answer(query: str, conf: Path) -> str:
    if query == "kind":
        return system_kind(conf)
    from sertl.ser.resnet import ResnetConfig
    from sertl.ser.soundnet import SoundnetConfig
    from sertl.ser.system import (SvmConfig, data_suffix, load_system_config,
                                  needs_pretrained, reported_rule)
    from sertl.ser.vgg import VggConfig

    config = load_system_config(conf)
    if query == "data-suffix":
        return data_suffix(config)
    if query == "rule":
        return reported_rule(config)
    if query == "needs-pretrained":
        return "true" if needs_pretrained(config) else "false"
    if isinstance(config, ResnetConfig):
        return " ".join(["spectrogram"] + config.spectrogram.kaldi_args())
    if isinstance(config, (SoundnetConfig, VggConfig)):
        return "audio"
    if not isinstance(config, SvmConfig):
        return "features"
    if query == "parts":
        return "\n".join(f"{p.suffix()} {p.spec()}" for p in config.input.parts)
    return config.input.spec()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("query", choices=["kind", "data-suffix", "rule", "needs-pretrained",
                                          "input", "parts", "describe"])
    parser.add_argument("confs", type=Path, nargs="+")
    args = parser.parse_args(argv)
    if args.query != "describe" and len(args.confs) != 1:
        parser.error(f"{args.query} takes one conf")

    def show() -> None:
        queries = (["kind", "data-suffix", "rule", "needs-pretrained", "input"]
                   if args.query == "describe" else [args.query])
        for conf in args.confs:
            words = [answer(q, conf) or "-" for q in queries]
            print(" ".join([str(conf), *words]) if args.query == "describe" else words[0])

    return run_tool("ser_system", show, (ValueError, OSError))


if __name__ == "__main__":
    sys.exit(main())

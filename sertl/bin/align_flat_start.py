"""Flat start of steps/align_sb.sh: uniform segmentation of every transcript.

Usage: python -m sertl.bin.align_flat_start [--num-states 3] [--config conf/align_sb.yaml]
           <data-dir> <lang-dir> <out-dir>

Writes <out-dir>/ali.{ark,scp}: per utterance an int32 vector of targets (phone x state,
see sertl.align.topology) that spread the transcript's phone states evenly over the
frames (over the voiced span when <data-dir> has vad.scp). Utterances without a
transcript, with words missing from the lexicon under the skip policy, or too short for
their transcript are left out and reported.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

from sertl.align import AlignError
from sertl.align.graph import flat_start
from sertl.align.lang import Lang, LangError
from sertl.align.model import describe_skipped, lang_topology, load_align_config, transcript_graphs
from sertl.config import ConfigError
from sertl.data import FeatureReader, LoadOptions
from sertl.io import TableError, write_ark_scp

PROG = "align_flat_start"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    parser.add_argument("--num-states", type=int, default=3,
                        help="HMM states per phone (default 3)")
    parser.add_argument("--config", type=Path, help="aligner YAML config (arc probabilities)")
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("lang_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=f"{PROG}: %(message)s")
    try:
        lang = Lang.load(args.lang_dir)
        config = load_align_config(args.config)
        topo = lang_topology(lang, args.num_states)
        graphs, skipped = transcript_graphs(args.data_dir, lang, topo, config.hmm)
        reader = FeatureReader(args.data_dir, LoadOptions(apply_cmvn=False))
        items = []
        for utt in reader.utterances():
            if utt not in graphs:
                skipped.setdefault(utt, "no transcript")
                continue
            num_frames = len(reader[utt])
            try:
                voiced = reader.voiced(utt) if reader.vad else None
                states = flat_start(graphs[utt], num_frames, voiced)
                items.append((utt, graphs[utt].targets[states].astype(np.int32)))
            except AlignError as e:
                skipped[utt] = str(e)
        if not items:
            raise AlignError(f"{args.data_dir}: no utterance to align "
                             f"({describe_skipped(skipped)})")
        args.out_dir.mkdir(parents=True, exist_ok=True)
        write_ark_scp(args.out_dir / "ali.ark", args.out_dir / "ali.scp", items)
    except (AlignError, ConfigError, LangError, TableError, KeyError, OSError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    logging.info("uniform segmentation of %d utterances (%d states per phone); %s",
                 len(items), args.num_states, describe_skipped(skipped))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Viterbi forced alignment of a data dir with a trained aligner (steps/align_sb.sh).

Usage: python -m sertl.bin.align_frames [--device DEV] [--ivector-dir DIR] <model>
           <lang-dir> <data-dir> <out-dir> <name>

<model> is an aligner (final.mdl of steps/align_sb.sh) or an acoustic model (final.pt of
steps/train_asr.sh: realignment, sertl.asr.realign; --ivector-dir gives the online
i-vectors of <data-dir> when it takes them).

Writes, for the utterances of <data-dir> (e.g. one split of it; <name> is then the job
number) that have a transcript:
  <out-dir>/ali.<name>.{ark,scp}        int32 target (phone x state) per frame
  <out-dir>/phone_ali.<name>.{ark,scp}  int32 phone id (phones.txt) per frame
  <out-dir>/ctm.<name>                  utt 1 start dur phone (seconds, 2 decimals)
  <out-dir>/stats.<name>                "utts N frames F loglike L failed K": L is the sum
                                        over aligned frames of the emission log-likelihood
                                        (log posterior - scaled log prior) on the best path
Utterances that cannot be aligned (no transcript, skipped OOVs, too few frames for the
transcript) are left out and reported.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np
import torch

from sertl.align import AlignError
from sertl.align.graph import Alignment, ctm_lines, phone_segments
from sertl.align.lang import Lang, LangError
from sertl.align.model import (AlignerModel, align_utterances, check_same_phones,
                               describe_skipped, frame_shift, transcript_graphs,
                               viterbi_align)
from sertl.asr.realign import AcousticAligner
from sertl.bin.common import add_device_option, choose_device
from sertl.data import FeatureReader, LoadOptions
from sertl.io import TableError, atomic_open, write_ark_scp

PROG = "align_frames"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    add_device_option(parser)
    parser.add_argument("--ivector-dir", type=Path)
    parser.add_argument("model", type=Path)
    parser.add_argument("lang_dir", type=Path)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("name")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=f"{PROG}: %(message)s")
    device = choose_device(args.device)
    try:
        lang = Lang.load(args.lang_dir)
        if args.model.suffix == ".pt":
            model = AcousticAligner(args.model, lang, args.data_dir, args.ivector_dir, device)
            graphs, skipped = transcript_graphs(args.data_dir, lang, model.topo,
                                                model.config.hmm)
            lengths = model.num_frames()
            skipped.update({u: "no transcript" for u in lengths if u not in graphs})
            found, failed = viterbi_align(model.emission_scores, lengths, graphs,
                                          model.config.batch_utts, PROG)
        else:
            model = AlignerModel.load(args.model, device)
            check_same_phones(model, lang, str(args.model))
            graphs, skipped = transcript_graphs(args.data_dir, lang, model.topo,
                                                model.config.hmm)
            reader = FeatureReader(args.data_dir, LoadOptions(
                apply_cmvn=True, norm_vars=model.config.norm_vars))
            skipped.update({u: "no transcript" for u in reader.utterances() if u not in graphs})
            feats = {u: reader[u] for u in reader.utterances() if u in graphs}
            found, failed = align_utterances(model, feats, graphs, device, PROG)
        skipped.update(failed)
        if not found:
            raise AlignError(f"{args.data_dir}: no utterance aligned ({describe_skipped(skipped)})")
        _write(args.out_dir, args.name, found, graphs, model, frame_shift(args.data_dir),
               len(skipped))
    except (AlignError, LangError, TableError, KeyError, OSError, ValueError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    frames = sum(len(a.states) for a in found.values())
    loglike = sum(a.emission for a in found.values())
    logging.info("aligned %d utterances, %d frames, average log-likelihood per frame %.4f; %s",
                 len(found), frames, loglike / frames, describe_skipped(skipped))
    return 0


def _write(out_dir: Path, name: str, found: dict[str, Alignment], graphs: dict,
           model: AlignerModel | AcousticAligner, shift: float, num_failed: int) -> None:
    """The target and phone alignments, the CTM and the stats of one job."""
    out_dir.mkdir(parents=True, exist_ok=True)
    utts = sorted(found, key=lambda u: u.encode())
    write_ark_scp(out_dir / f"ali.{name}.ark", out_dir / f"ali.{name}.scp",
                  ((u, graphs[u].targets[found[u].states].astype(np.int32)) for u in utts))
    write_ark_scp(out_dir / f"phone_ali.{name}.ark", out_dir / f"phone_ali.{name}.scp",
                  ((u, graphs[u].phones[found[u].states].astype(np.int32)) for u in utts))
    with atomic_open(out_dir / f"ctm.{name}", encoding="utf-8") as f:
        for u in utts:
            f.writelines(ctm_lines(u, phone_segments(graphs[u], found[u].states),
                                   model.topo.phones, shift, model.config.frame_offset))
    frames = sum(len(a.states) for a in found.values())
    loglike = sum(a.emission for a in found.values())
    with atomic_open(out_dir / f"stats.{name}", encoding="utf-8") as f:
        f.write(f"utts {len(found)} frames {frames} loglike {loglike:.4f} failed {num_failed}\n")


if __name__ == "__main__":
    sys.exit(main())

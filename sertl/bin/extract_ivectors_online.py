"""Extract online i-vectors of a data dir, one matrix per utterance (steps/extract_ivectors_online.sh).

Usage: python -m sertl.bin.extract_ivectors_online [options] <extractor> <data-dir>
           <ivector-ark> <ivector-scp>

Row k of an utterance's matrix is the i-vector of its frames 0..k*period, starting from
the statistics of the speaker's previous utterance (at most --utts-per-spk-max
utterances per pseudo-speaker; --max-remembered-frames of them), as Kaldi's
ivector-extract-online2 --spk2utt; see sertl/ivector/online.py.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from sertl.bin.common import add_device_option, choose_device, run_tool
from sertl.io import read_table, write_ark_scp
from sertl.ivector.extractor import IvectorExtractor
from sertl.ivector.frames import FRAME_SHIFT_SECONDS, utterance
from sertl.ivector.online import pseudo_speakers, speaker_online_ivectors
from sertl.progress import Progress

NAME = "extract_ivectors_online"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ivector-period", type=int, default=10,
                        help="frames between i-vectors")
    parser.add_argument("--utts-per-spk-max", type=int, default=2,
                        help="utterances per pseudo-speaker (<1: whole speakers)")
    parser.add_argument("--max-remembered-frames", type=float, default=1000,
                        help="frames of statistics carried to the next utterance")
    add_device_option(parser)
    parser.add_argument("extractor")
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("ark")
    parser.add_argument("scp")
    args = parser.parse_args(argv)
    if args.ivector_period < 1:
        parser.error("--ivector-period must be at least 1")

    def body() -> None:
        ex = IvectorExtractor.load(args.extractor).to(choose_device(args.device))
        reader = ex.features.reader(args.data_dir)
        spk2utt = {s: u.split() for s, u in read_table(args.data_dir / "spk2utt").items()}
        progress = Progress(f"{NAME} {args.data_dir}", len(reader.utterances()))

        def frames(utts: list[str]):
            for utt in utts:
                feats = utterance(reader, utt)
                progress.update(audio_seconds=len(feats) * FRAME_SHIFT_SECONDS)
                yield utt, torch.tensor(feats)

        def extracted():
            for utts in pseudo_speakers(spk2utt, args.utts_per_spk_max):
                for utt, ivectors in speaker_online_ivectors(
                        ex, frames(utts), args.ivector_period, args.max_remembered_frames):
                    yield utt, ivectors.float().cpu().numpy()

        write_ark_scp(args.ark, args.scp, extracted())
        progress.finish()

    return run_tool(NAME, body)


if __name__ == "__main__":
    sys.exit(main())

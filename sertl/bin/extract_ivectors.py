"""Extract one i-vector per utterance, and per speaker, of a data dir (steps/extract_ivectors.sh).

Usage: python -m sertl.bin.extract_ivectors [--device D] <extractor> <data-dir>
           <ivector-ark> <ivector-scp> [<spk-ivector-ark> <spk-ivector-scp>]

Utterance i-vectors are posterior means from all frames, with the extractor's UBM
posterior options and feature normalisation (Kaldi's ivector-extract; prior offset
removed from dimension 1). Speaker i-vectors (spk2utt of <data-dir>) are the
length-normalised means of the length-normalised utterance i-vectors (sid recipes).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sertl.bin.common import add_device_option, choose_device, run_tool
from sertl.io import read_table, write_ark_scp
from sertl.ivector.extractor import IvectorExtractor
from sertl.ivector.frames import FRAME_SHIFT_SECONDS, batches, utterance_frames
from sertl.ivector.store import ModelError
from sertl.ivector.utterance import speaker_ivectors, utterance_ivectors
from sertl.progress import Progress

NAME = "extract_ivectors"
BATCH_FRAMES = 16384


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_device_option(parser)
    parser.add_argument("extractor")
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("ark")
    parser.add_argument("scp")
    parser.add_argument("speaker_outputs", nargs="*", metavar="spk-ark spk-scp")
    args = parser.parse_args(argv)
    if len(args.speaker_outputs) not in (0, 2):
        parser.error("speaker outputs are <spk-ivector-ark> <spk-ivector-scp>")

    def body() -> None:
        ex = IvectorExtractor.load(args.extractor).to(choose_device(args.device))
        reader = ex.features.reader(args.data_dir)
        progress = Progress(f"{NAME} {args.data_dir}", len(reader.utterances()))
        ivectors = {}

        def extracted():
            for batch in batches(utterance_frames(reader), BATCH_FRAMES):
                for utt, ivector in utterance_ivectors(ex, batch):
                    ivectors[utt] = ivector
                    yield utt, ivector
                frames = sum(len(f) for _, f in batch)
                progress.update(len(batch), frames * FRAME_SHIFT_SECONDS)

        write_ark_scp(args.ark, args.scp, extracted())
        progress.finish()
        if args.speaker_outputs:
            spk2utt = {s: u.split() for s, u in read_table(args.data_dir / "spk2utt").items()}
            try:
                means = speaker_ivectors(ivectors, spk2utt)
            except ModelError as e:
                raise ModelError(f"{args.data_dir}/spk2utt: {e}") from e
            write_ark_scp(*args.speaker_outputs, means.items())

    return run_tool(NAME, body)


if __name__ == "__main__":
    sys.exit(main())

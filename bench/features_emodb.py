"""Benchmark: our fbank/MFCC step against kaldi-native-fbank on EmoDB.

Usage (from the repository root, after `. ./path.sh`):
    python bench/features_emodb.py --emodb ../shared/corpora/emodb [--nj 2] [--work exp/bench_features]

1. Speed: runs steps/make_fbank.sh (40-dim fbank, dither 0) over every EmoDB file with
   --nj jobs and times it end to end (audio reading, features, ark writing, process
   start-up); then kaldi-native-fbank over the same files in one process (audio reading
   and features). Throughput is seconds of audio per second per core; the step's wall
   time is charged for all --nj cores. Also times our feature computation alone in one
   process, for a like-for-like compute comparison.
2. Agreement: max abs difference to kaldi-native-fbank per file for fbank (from the
   step's ark), 13-dim MFCC and 40-dim hires MFCC (with conf/mfcc.conf and
   conf/hires.conf options, dither 0).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from sertl.audio import iter_utterances  # noqa: E402
from sertl.features import FeatureExtractor, read_feature_config  # noqa: E402
from sertl.io import load_matrix, read_scp  # noqa: E402
from test_features import knf_features  # noqa: E402


def prepare(emodb: Path, work: Path) -> Path:
    """A data dir of every EmoDB wav (speaker = first two characters of the name)."""
    wavs = sorted((emodb / "wav").glob("*.wav"))
    if not wavs:
        sys.exit(f"no wav files in {emodb / 'wav'}")
    data = work / "data"
    data.mkdir(parents=True, exist_ok=True)
    ids = {w.stem: w for w in wavs}
    (data / "wav.scp").write_text("".join(f"{k} {v.resolve()}\n" for k, v in ids.items()))
    (data / "utt2spk").write_text("".join(f"{k} {k[:2]}\n" for k in ids))
    subprocess.run(["utils/utt2spk_to_spk2utt.sh", str(data / "utt2spk")],
                   stdout=open(data / "spk2utt", "w"), check=True, cwd=REPO)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--emodb", type=Path, required=True)
    parser.add_argument("--nj", type=int, default=2)
    parser.add_argument("--work", type=Path, default=REPO / "exp" / "bench_features")
    args = parser.parse_args()
    data = prepare(args.emodb, args.work)
    conf = args.work / "fbank.conf"
    conf.write_text((REPO / "conf" / "fbank.conf").read_text() + "--dither=0\n")
    audio = dict(iter_utterances(data, 16000))
    utts = list(audio)
    total_sec = sum(len(x) for x in audio.values()) / 16000
    print(f"EmoDB: {len(audio)} files, {total_sec:.1f} s of audio")

    start = time.perf_counter()
    subprocess.run(["steps/make_fbank.sh", "--nj", str(args.nj), "--fbank-config", str(conf),
                    str(data), str(args.work / "log"), str(args.work / "fbank")],
                   check=True, cwd=REPO)
    step_wall = time.perf_counter() - start
    fbank_opts = read_feature_config(conf, "fbank")

    with threadpool_limits(1):
        start = time.perf_counter()
        reference = {u: knf_features(x, fbank_opts) for u, x in iter_utterances(data, 16000)}
        knf_wall = time.perf_counter() - start
        start = time.perf_counter()
        for x in audio.values():
            knf_features(x, fbank_opts)
        knf_compute = time.perf_counter() - start
        extractor = FeatureExtractor(fbank_opts)
        start = time.perf_counter()
        for x in audio.values():
            extractor(x)
        ours_compute = time.perf_counter() - start

    def report(what: str, ours_seconds: float, knf_seconds: float) -> None:
        ours_rate, knf_rate = total_sec / ours_seconds, total_sec / knf_seconds
        print(f"{what}: ours {ours_rate:.0f}, kaldi-native-fbank {knf_rate:.0f}, "
              f"ratio ours/knf {ours_rate / knf_rate:.2f}")

    print("speed, seconds of audio per second per core")
    report(f"  end to end (make_fbank.sh --nj {args.nj} vs one knf process)",
           step_wall * args.nj, knf_wall)
    report("  features only, one core", ours_compute, knf_compute)

    feats = read_scp(data / "feats.scp")
    diffs = {"fbank40": [np.abs(load_matrix(feats[u]) - reference[u]).max() for u in utts]}
    assert feats.keys() == reference.keys()
    for name, conf_file in [("mfcc13", "mfcc.conf"), ("mfcc40hires", "mfcc_hires.conf")]:
        opts = read_feature_config(REPO / "conf" / conf_file, "mfcc")
        opts.dither = 0.0
        ours = FeatureExtractor(opts)
        diffs[name] = [np.abs(ours(audio[u]) - knf_features(audio[u], opts)).max() for u in utts]
    worst = utts[int(np.argmax(diffs["fbank40"]))]
    delta = np.abs(load_matrix(feats[worst]) - reference[worst])
    frame, band = np.unravel_index(delta.argmax(), delta.shape)
    below_db = 10 * np.log10(np.e) * (reference[worst][frame].max() - reference[worst][frame, band])
    print(f"fbank40 worst value: {worst} frame {frame} band {band}, {below_db:.0f} dB below "
          f"the frame's strongest band (where kaldi-native-fbank's FFT rounding, ~1e-7 of the frame's largest bin, dominates)")
    for name, d in diffs.items():
        d = np.array(d)
        print(f"agreement {name}: max abs diff over all files {d.max():.2e} "
              f"(median file {np.median(d):.2e}); files within 1e-3: "
              f"{(d <= 1e-3).sum()}/{len(d)}")


if __name__ == "__main__":
    os.environ.setdefault("LC_ALL", "C")
    main()

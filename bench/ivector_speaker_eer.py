"""Benchmark: speaker discrimination of i-vectors against mean-MFCC vectors, by EER.

Usage (from the repository root, after `. ./path.sh`):
    python bench/ivector_speaker_eer.py --speechocean ../shared/corpora/speechocean762 \\
        --emodb ../shared/corpora/emodb [--work exp/bench_ivector] [--nj 2]
        [--num-gauss 512] [--ivector-dim 100] [--ubm-iters 4] [--ie-iters 5]
        [--gaussian-min-count 10] [--heldout 20] [--cmn none|utterance] [--seed 0]
        [--extractor <dir> --heldout-speakers <file>]

1. 40-dim MFCC hires (conf/mfcc_hires.conf) of all speechocean762 utterances (the Kaldi
   data dir in <speechocean>/train, wav.scp relative to <speechocean>) and all EmoDB
   files (speaker = first two characters of the name).
2. --heldout speakers of speechocean762 (a seeded random choice) are held out; the UBM
   (steps/train_diag_ubm.sh) and extractor (steps/train_ivector_extractor.sh) are
   trained on the others. Or --extractor names one already trained (a recipe's
   exp/ivector/extractor, with --cmn as at its training) and --heldout-speakers the
   speakers it never saw (one per line, or a recipe's data/heldout_hires/spk2utt).
3. Utterance i-vectors (steps/extract_ivectors.sh) of the held-out speakers, of EmoDB
   (cross-corpus: same extractor) and of the training speakers (for the global mean and
   LDA). Every pair of utterances of one test set is a trial, target if both have the
   same speaker; score = cosine after subtracting the training mean, optionally LDA
   (scikit-learn, trained on the training speakers), and length normalisation.
4. Baseline: the mean raw MFCC vector of each utterance, scored the same way.
Speaker labels never reach the features: by default (--cmn none) the features are not
normalised; with --cmn utterance cmvn.scp holds per-utterance mean statistics (each
utterance is its own "speaker" in the data dirs).

Also reports extraction speed (steps/extract_ivectors.sh and
steps/extract_ivectors_online.sh with one job, one thread: seconds of audio per second of
wall time, process start-up included; and the in-process rate from the job's log) and
the peak resident memory of the extraction (largest process).
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.metrics import roc_curve

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sertl.io import load_matrix, load_vector, read_scp, read_table, write_table  # noqa: E402

PEAK_RSS = ("import resource, subprocess, sys; rc = subprocess.call(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
            "sys.exit(rc)")


def run(*command: str) -> None:
    subprocess.run(command, check=True, cwd=REPO)


def write_data_dir(data: Path, wavs: dict[str, str]) -> None:
    """A data dir in which every utterance is its own speaker (per-utterance CMVN)."""
    data.mkdir(parents=True, exist_ok=True)
    write_table(data / "wav.scp", wavs)
    write_table(data / "utt2spk", {u: u for u in wavs})
    write_table(data / "spk2utt", {u: u for u in wavs})


def prepare(args: argparse.Namespace) -> tuple[Path, Path, dict[str, str]]:
    """Data dirs of speechocean762 and EmoDB, and every utterance's speaker."""
    so_dir = args.speechocean.resolve()
    so_wavs = {u: str(so_dir / p) for u, p in read_table(so_dir / "train" / "wav.scp").items()}
    utt2spk = read_table(so_dir / "train" / "utt2spk")
    emodb = {w.stem: str(w.resolve()) for w in sorted((args.emodb / "wav").glob("*.wav"))}
    if not so_wavs or not emodb:
        sys.exit("no speechocean762 or EmoDB audio found")
    utt2spk.update({u: f"emodb{u[:2]}" for u in emodb})
    so, em = args.work / "speechocean", args.work / "emodb"
    for data, wavs in ((so, so_wavs), (em, emodb)):
        if not (data / "feats.scp").exists():
            write_data_dir(data, wavs)
            run("steps/make_mfcc.sh", "--nj", str(args.nj), "--mfcc-config",
                "conf/mfcc_hires.conf", str(data))
        if args.cmn == "utterance" and not (data / "cmvn.scp").exists():
            run("steps/compute_cmvn_stats.sh", str(data))
    return so, em, utt2spk


def split_speakers(so: Path, utt2spk: dict[str, str], args: argparse.Namespace) -> tuple[Path, Path]:
    """Training and held-out subsets of speechocean762 by speaker."""
    speakers = sorted({utt2spk[u] for u in read_table(so / "utt2spk")})
    if args.heldout_speakers:
        held = {line.split()[0] for line in args.heldout_speakers.open() if line.strip()}
        if not held <= set(speakers):
            sys.exit(f"{args.heldout_speakers}: speakers not in speechocean762: "
                     f"{' '.join(sorted(held - set(speakers)))}")
    else:
        held = set(np.random.default_rng(args.seed).choice(speakers, args.heldout, replace=False))
    print(f"held-out speakers: {' '.join(sorted(held))}")
    subsets = {}
    for name, keep in (("train", lambda s: s not in held), ("test", lambda s: s in held)):
        data = args.work / f"speechocean_{name}"
        utt_list = args.work / f"{name}.utts"
        utt_list.write_text("".join(f"{u}\n" for u in read_table(so / "utt2spk")
                                    if keep(utt2spk[u])))
        if not (data / "feats.scp").exists():  # kept, so that a rerun resumes training
            run("utils/subset_data_dir.sh", "--utt-list", str(utt_list), str(so), str(data))
        subsets[name] = data
    return subsets["train"], subsets["test"]


def timed_extraction(step: str, data: Path, extractor: Path, out: Path) -> tuple[float, float, int]:
    """Run an extraction step with one job; (wall seconds, in-process x real time, peak KiB)."""
    env = dict(os.environ, SERTL_MAX_JOBS="1")
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", PEAK_RSS, step, "--nj", "1", "--device", "cpu",
                             str(data), str(extractor), str(out)],
                            check=True, cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    peak_kib = int(result.stderr.strip().splitlines()[-1])
    log = next((out / "log").glob("*.1.log")).read_text()
    rate = float(re.findall(r"(\d+)x real time, finished", log)[-1])
    return wall, rate, peak_kib


def eer(scores: np.ndarray, target: np.ndarray) -> float:
    """Equal error rate of trial scores (target = same speaker)."""
    fpr, tpr, _ = roc_curve(target, scores)
    fnr = 1.0 - tpr
    i = int(np.argmin(np.abs(fnr - fpr)))
    return float((fpr[i] + fnr[i]) / 2)


def trial_eer(train: np.ndarray, train_spk: np.ndarray, test: np.ndarray,
              test_spk: np.ndarray, lda: bool) -> float:
    """EER over all pairs of ``test`` vectors: centred by the training mean, optionally
    LDA-projected, length-normalised, cosine-scored."""
    mean = train.mean(0)
    test = test - mean
    if lda:
        test = LinearDiscriminantAnalysis().fit(train - mean, train_spk).transform(test)
    test = test / np.linalg.norm(test, axis=1, keepdims=True)
    i, j = np.triu_indices(len(test), k=1)
    return eer((test[i] * test[j]).sum(1), test_spk[i] == test_spk[j])


def vectors(scp: Path, utt2spk: dict[str, str], mean_of_matrix: bool) -> tuple[np.ndarray, np.ndarray]:
    """The vectors of an scp (or the mean rows of its matrices) and their speakers."""
    table = read_scp(scp)
    load = (lambda rx: load_matrix(rx).mean(0)) if mean_of_matrix else load_vector
    return (np.stack([load(rx) for rx in table.values()]),
            np.array([utt2spk[u] for u in table]))


def train_extractor(train: Path, cmvn_opts: str, args: argparse.Namespace) -> Path:
    """The UBM and the i-vector extractor trained on ``train``; the extractor dir."""
    start = time.perf_counter()
    run("steps/train_diag_ubm.sh", "--nj", str(args.nj), "--num-threads", str(args.nj),
        "--num-iters", str(args.ubm_iters), "--cmvn-opts", cmvn_opts, str(train),
        str(args.num_gauss), str(args.work / "ubm"))
    ubm_time = time.perf_counter() - start
    run("steps/train_ivector_extractor.sh", "--nj", str(args.nj), "--ivector-dim",
        str(args.ivector_dim), "--num-iters", str(args.ie_iters), "--gaussian-min-count",
        str(args.gaussian_min_count), str(train),
        str(args.work / "ubm"), str(args.work / "extractor"))
    ie_time = time.perf_counter() - start - ubm_time
    print(f"training on {len(read_table(train / 'utt2spk'))} utterances: UBM "
          f"{args.num_gauss} Gaussians {ubm_time:.0f} s, extractor dim {args.ivector_dim} "
          f"{args.ie_iters} iterations {ie_time:.0f} s (--nj {args.nj})")
    return args.work / "extractor"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--speechocean", type=Path, required=True)
    parser.add_argument("--emodb", type=Path, required=True)
    parser.add_argument("--work", type=Path, default=REPO / "exp" / "bench_ivector")
    parser.add_argument("--nj", type=int, default=2)
    parser.add_argument("--num-gauss", type=int, default=512)
    parser.add_argument("--ivector-dim", type=int, default=100)
    parser.add_argument("--ubm-iters", type=int, default=4)
    parser.add_argument("--ie-iters", type=int, default=5)
    parser.add_argument("--gaussian-min-count", type=float, default=10.0,
                        help="Kaldi's 100 leaves most of 512 Gaussians untrained on 2 h")
    parser.add_argument("--heldout", type=int, default=20)
    parser.add_argument("--cmn", choices=("none", "utterance"), default="none")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--extractor", type=Path, help="an extractor already trained")
    parser.add_argument("--heldout-speakers", type=Path,
                        help="the speakers the --extractor never saw")
    args = parser.parse_args()
    if bool(args.extractor) != bool(args.heldout_speakers):
        parser.error("--extractor and --heldout-speakers go together")
    args.work = args.work.resolve()
    so, em, utt2spk = prepare(args)
    train, test = split_speakers(so, utt2spk, args)
    cmvn_opts = "--norm-means=true" if args.cmn == "utterance" else "--norm-means=false"

    extractor = args.extractor.resolve() if args.extractor else train_extractor(
        train, cmvn_opts, args)
    run("steps/extract_ivectors.sh", "--nj", str(args.nj), str(train),
        str(extractor), str(args.work / "ivectors_train"))
    seconds = {}
    for name, data in (("speechocean held-out", test), ("EmoDB", em)):
        frames = sum(int(n) for n in read_table(data / "utt2num_frames").values())
        seconds[name] = frames / 100.0
        out = args.work / f"ivectors_{data.name}"
        wall, rate, peak = timed_extraction("steps/extract_ivectors.sh", data,
                                            extractor, out)
        print(f"{name}: {len(read_table(data / 'utt2spk'))} utterances, "
              f"{seconds[name]:.0f} s of audio; utterance i-vectors {seconds[name] / wall:.0f} s "
              f"of audio per s per core (step, start-up included), {rate:.0f} in-process; "
              f"peak memory {peak / 1024:.0f} MiB")
        online = args.work / f"ivectors_online_{data.name}"
        wall, rate, peak = timed_extraction("steps/extract_ivectors_online.sh", data,
                                            extractor, online)
        print(f"{name}: online i-vectors (period 10) {seconds[name] / wall:.0f} s of audio per "
              f"s per core (step), {rate:.0f} in-process; peak memory {peak / 1024:.0f} MiB")

    train_iv = vectors(args.work / "ivectors_train" / "ivector.scp", utt2spk, False)
    train_mfcc = vectors(train / "feats.scp", utt2spk, True)
    for name, data in (("speechocean held-out", test), ("EmoDB", em)):
        test_iv = vectors(args.work / f"ivectors_{data.name}" / "ivector.scp", utt2spk, False)
        test_mfcc = vectors(data / "feats.scp", utt2spk, True)
        n = len(test_iv[1])
        targets = int((test_iv[1][:, None] == test_iv[1][None, :]).sum() - n) // 2
        print(f"{name}: {n * (n - 1) // 2} trials ({targets} same-speaker)")
        for lda in (False, True):
            iv = trial_eer(*train_iv, *test_iv, lda)
            base = trial_eer(*train_mfcc, *test_mfcc, lda)
            print(f"  EER {'with LDA   ' if lda else 'without LDA'}: i-vector {100 * iv:.2f}%, "
                  f"mean-MFCC baseline {100 * base:.2f}%, ratio {iv / base:.2f}")


if __name__ == "__main__":
    os.environ.setdefault("LC_ALL", "C")
    main()

"""UBM and i-vector extractor: EM, i-vectors, online i-vectors, files and step scripts."""
from __future__ import annotations

import math
import os
import signal
import subprocess
import time

import kaldi_io
import numpy as np
import pytest
import soundfile as sf
import torch

from conftest import REPO, speech_like
from sertl.ivector.extractor import (ExtractorStats, IvectorExtractor, PosteriorOptions,
                                     UpdateOptions, update)
from sertl.ivector.frames import FeatureOptions, sample_frames
from sertl.ivector.gmm import GmmStats, accumulate, init_from_frames, load_ubm, save_ubm
from sertl.ivector.gmm import update as gmm_update
from sertl.ivector.online import (CarriedStats, pseudo_speakers, speaker_online_ivectors,
                                  utterance_online_ivectors)
from sertl.ivector.store import ModelError
from sertl.ivector.utterance import length_normalise, speaker_ivectors

DIM = 13


def gaussian_frames(num_frames: int, shift: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Frames of a 16-cluster mixture whose cluster means move with a speaker ``shift``."""
    centres = torch.linspace(-6, 6, 16)[:, None] * torch.linspace(1, -1, DIM)[None, :]
    centres = centres + torch.cos(torch.arange(16.0)[:, None] * torch.arange(DIM)[None, :])
    which = torch.randint(0, 16, (num_frames,), generator=g)
    return centres[which] + shift + 0.7 * torch.randn(num_frames, DIM, generator=g)


def speaker_utterances(num_speakers: int, utts_each: int, frames: int,
                       g: torch.Generator) -> list[tuple[int, torch.Tensor]]:
    shifts = [1.5 * torch.randn(DIM, generator=g) for _ in range(num_speakers)]
    return [(s, gaussian_frames(frames, shifts[s], g))
            for s in range(num_speakers) for _ in range(utts_each)]


def train_extractor(utts: list[torch.Tensor], num_gauss: int, ivector_dim: int, iters: int,
                    posterior_scale: float = 1.0) -> tuple[IvectorExtractor, list[float]]:
    g = torch.Generator().manual_seed(1)
    ubm = init_from_frames(torch.cat(utts), num_gauss, 10, g)
    ex = IvectorExtractor.from_ubm(ubm, ivector_dim, PosteriorOptions(posterior_scale=posterior_scale),
                                   FeatureOptions(), g)
    objectives = []
    for _ in range(iters):
        stats = ExtractorStats(num_gauss, ubm.dim, ivector_dim)
        for i in range(0, len(utts), 8):
            stats.accumulate(ex, utts[i:i + 8])
        objectives.append(stats.objective / stats.num_frames)
        ex = update(ex, stats, UpdateOptions(gaussian_min_count=5.0))
    return ex, objectives


def utterance_ivector(ex: IvectorExtractor, frames: torch.Tensor) -> torch.Tensor:
    return ex.ivectors(*ex.stats(frames, torch.zeros(len(frames), dtype=torch.long), 1))[0]


def test_ubm_em_increases_likelihood_every_iteration():
    g = torch.Generator().manual_seed(0)
    frames = gaussian_frames(4000, torch.zeros(DIM), g)
    gmm = init_from_frames(frames, 8, 4, g)
    gselect = gmm.gselect(frames, 4)
    likes = []
    for _ in range(6):
        stats = GmmStats.zeros(gmm.num_gauss, DIM)
        accumulate(gmm, stats, frames, gselect)
        likes.append(stats.log_like / stats.num_frames)
        gmm = gmm_update(gmm, stats)
    assert all(b > a for a, b in zip(likes, likes[1:])), likes
    assert float(gmm.weights.sum()) == pytest.approx(1.0, abs=1e-5)


def test_init_reaches_the_requested_number_of_gaussians():
    g = torch.Generator().manual_seed(0)
    gmm = init_from_frames(gaussian_frames(2000, torch.zeros(DIM), g), 12, 6, g)
    assert gmm.num_gauss == 12 and gmm.means.shape == (12, DIM)
    with pytest.raises(ModelError, match="too few"):
        init_from_frames(torch.zeros(5, DIM), 8, 2, g)


def test_reservoir_sample_is_uniform_and_bounded():
    items = [(str(i), np.full((100, 1), i, dtype=np.float32)) for i in range(50)]
    sample = sample_frames(items, 1000, np.random.default_rng(0))
    assert sample.shape == (1000, 1)
    counts = np.bincount(sample[:, 0].astype(int), minlength=50)
    assert counts.min() > 5 and counts.max() < 45  # about 20 from each utterance
    assert len(sample_frames(items[:2], 1000, np.random.default_rng(0))) == 200


def test_extractor_em_increases_its_objective():
    g = torch.Generator().manual_seed(2)
    utts = [u for _, u in speaker_utterances(6, 6, 200, g)]
    _, objectives = train_extractor(utts, 8, 6, 5, posterior_scale=0.1)
    assert all(b > a for a, b in zip(objectives, objectives[1:])), objectives


def test_ivectors_separate_two_speakers():
    """Two synthetic speakers (shared Gaussians, each speaker's means shifted, plus an
    utterance-level nuisance shift): every same-speaker pair of held-out utterances
    scores higher than every different-speaker pair (cosine of centred i-vectors)."""
    g = torch.Generator().manual_seed(7)
    background = [u for _, u in speaker_utterances(8, 4, 200, g)]
    ex, _ = train_extractor(background, 16, 6, 4)
    speakers = [1.5 * torch.randn(DIM, generator=g) for _ in range(2)]
    ivectors, labels = [], []
    for label, shift in enumerate(speakers):
        for _ in range(6):
            nuisance = 0.3 * torch.randn(DIM, generator=g)
            ivectors.append(utterance_ivector(ex, gaussian_frames(200, shift + nuisance, g)))
            labels.append(label)
    background_mean = torch.stack([utterance_ivector(ex, u) for u in background]).mean(0)
    ivectors = length_normalise((torch.stack(ivectors) - background_mean).numpy())
    scores = ivectors @ ivectors.T
    labels = np.array(labels)
    same = labels[:, None] == labels[None, :]
    off_diagonal = ~np.eye(len(labels), dtype=bool)
    assert scores[same & off_diagonal].min() > scores[~same].max()


@pytest.fixture(scope="module")
def small_extractor() -> IvectorExtractor:
    g = torch.Generator().manual_seed(3)
    ex, _ = train_extractor([u for _, u in speaker_utterances(4, 4, 150, g)], 8, 5, 2, 0.1)
    return ex


def test_online_last_row_equals_utterance_ivector(small_extractor):
    ex = small_extractor
    period = 10
    frames = gaussian_frames(12 * period + 1, torch.zeros(DIM), torch.Generator().manual_seed(4))
    online, _ = utterance_online_ivectors(ex, frames, period, CarriedStats.zeros(ex))
    assert online.shape == (13, ex.ivector_dim)
    torch.testing.assert_close(online[-1], utterance_ivector(ex, frames), rtol=0, atol=1e-9)
    torch.testing.assert_close(online[0], utterance_ivector(ex, frames[:1]), rtol=0, atol=1e-9)
    torch.testing.assert_close(online[4], utterance_ivector(ex, frames[:4 * period + 1]),
                               rtol=0, atol=1e-9)
    # rows are computed in chunks (ROWS_PER_CHUNK = 128): the same across a chunk boundary
    long = gaussian_frames(300, torch.zeros(DIM), torch.Generator().manual_seed(8))
    every_frame, _ = utterance_online_ivectors(ex, long, 1, CarriedStats.zeros(ex))
    for t in (127, 128, 200, 299):
        torch.testing.assert_close(every_frame[t], utterance_ivector(ex, long[:t + 1]),
                                   rtol=0, atol=1e-9)
    # frames after the last row's frame are not used, as in Kaldi
    shorter, _ = utterance_online_ivectors(ex, frames[:-1], period, CarriedStats.zeros(ex))
    assert shorter.shape[0] == 12


def test_online_speaker_statistics_carry_over_limited(small_extractor):
    ex = small_extractor
    g = torch.Generator().manual_seed(5)
    first, second = gaussian_frames(300, torch.zeros(DIM), g), gaussian_frames(40, torch.zeros(DIM), g)
    alone = dict(speaker_online_ivectors(ex, [("b", second)], 10, 1000))
    together = dict(speaker_online_ivectors(ex, [("a", first), ("b", second)], 10, 1000))
    assert not torch.allclose(alone["b"][0], together["b"][0])
    _, end = utterance_online_ivectors(ex, first, 10, CarriedStats.zeros(ex))
    limited = end.limited(5.0)
    assert float(limited.gamma.sum()) == pytest.approx(5.0)
    assert float(end.gamma.sum()) > 5.0
    torch.testing.assert_close(limited.first / limited.gamma.sum(), end.first / end.gamma.sum())


def test_pseudo_speakers_cut_speakers_into_runs():
    spk2utt = {"a": ["a1", "a2", "a3"], "b": ["b1"]}
    assert pseudo_speakers(spk2utt, 2) == [["a1", "a2"], ["a3"], ["b1"]]
    assert pseudo_speakers(spk2utt, -1) == [["a1", "a2", "a3"], ["b1"]]


def test_speaker_ivectors_are_normalised_means():
    ivectors = {"u1": np.array([3.0, 0.0]), "u2": np.array([0.0, 1.0])}
    spk = speaker_ivectors(ivectors, {"s": ["u1", "u2"]})["s"]
    np.testing.assert_allclose(spk, [1.0, 1.0])  # length sqrt(2), the mean's direction
    with pytest.raises(ModelError, match="u3"):
        speaker_ivectors(ivectors, {"s": ["u1", "u3"]})


def test_models_round_trip_and_load_with_numpy_alone(small_extractor, tmp_path):
    ex = small_extractor
    ex.save(tmp_path / "final.ie")
    loaded = IvectorExtractor.load(tmp_path / "final.ie")
    frames = gaussian_frames(50, torch.zeros(DIM), torch.Generator().manual_seed(6))
    torch.testing.assert_close(utterance_ivector(loaded, frames), utterance_ivector(ex, frames))
    assert loaded.posterior_options == ex.posterior_options
    with np.load(tmp_path / "final.ie", allow_pickle=False) as archive:
        assert archive["M"].shape == (8, DIM, 5)
        assert archive["sigma_inv"].shape == (8, DIM, DIM)
    save_ubm(ex.ubm, tmp_path / "final.ubm", FeatureOptions().as_dict())
    ubm, options = load_ubm(tmp_path / "final.ubm")
    torch.testing.assert_close(ubm.means, ex.ubm.means)
    assert options == {"norm_means": True, "norm_vars": False}
    with pytest.raises(ModelError, match="final.ubm.*'diag-ubm', expected a 'ivector-extractor'"):
        IvectorExtractor.load(tmp_path / "final.ubm")
    (tmp_path / "junk").write_text("not a model")
    with pytest.raises(ModelError, match="junk"):
        load_ubm(tmp_path / "junk")


# ---------------------------------------------------------------- step scripts


def make_data_dir(root, speakers=((95.0, "a"), (205.0, "b")), utts_each=3):
    """A data dir of generated audio: a few 1-2 s utterances per speaker."""
    data = root / "data"
    data.mkdir(parents=True)
    wav, utt2spk = {}, {}
    for f0, spk in speakers:
        for i in range(utts_each):
            utt = f"{spk}-{i}"
            path = root / f"{utt}.wav"
            sf.write(path, speech_like(1.0 + 0.3 * i, 16000, f0, seed=i) / 32768.0, 16000,
                     subtype="PCM_16")
            wav[utt], utt2spk[utt] = path, spk
    (data / "wav.scp").write_text("".join(f"{u} {wav[u]}\n" for u in sorted(wav)))
    (data / "utt2spk").write_text("".join(f"{u} {utt2spk[u]}\n" for u in sorted(wav)))
    (data / "spk2utt").write_text("".join(
        f"{s} {' '.join(u for u in sorted(wav) if utt2spk[u] == s)}\n" for _, s in speakers))
    return data


def step(env, *args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, **kwargs)


def test_steps_train_resume_after_kill_and_extract(tmp_path, repo_env):
    env = dict(repo_env, SERTL_MAX_JOBS="2")
    data = make_data_dir(tmp_path)
    for command in (("steps/make_mfcc.sh", "--nj", "1", "--mfcc-config", "conf/mfcc_hires.conf",
                     str(data)),
                    ("steps/compute_cmvn_stats.sh", str(data)),
                    ("steps/train_diag_ubm.sh", "--nj", "1", "--num-iters", "1",
                     "--num-iters-init", "4", "--num-frames", "2000", "--num-gselect", "4",
                     str(data), "8", str(tmp_path / "ubm"))):
        result = step(env, *command)
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "ubm" / "final.ubm").exists()

    ie_dir = tmp_path / "ie"
    train = ("steps/train_ivector_extractor.sh", "--nj", "1", "--num-iters", "2",
             "--ivector-dim", "4", "--gaussian-min-count", "1", str(data),
             str(tmp_path / "ubm"), str(ie_dir))
    job = subprocess.Popen(train, cwd=REPO, env=env, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while not (ie_dir / "1.ie").exists() and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(job.pid, signal.SIGTERM)  # as Ctrl-C or scancel: the runner stops its jobs
    job.wait()
    assert (ie_dir / "1.ie").exists() and not (ie_dir / "final.ie").exists()
    first = (ie_dir / "1.ie").stat().st_mtime_ns
    result = step(env, *train)
    assert result.returncode == 0, result.stderr
    assert "resuming after iteration 1" in result.stderr
    assert (ie_dir / "1.ie").stat().st_mtime_ns == first
    assert (ie_dir / "final.ie").read_bytes() == (ie_dir / "2.ie").read_bytes()
    assert not list(ie_dir.glob("*.acc")) and not list(ie_dir.glob("*.tmp"))

    online, offline = tmp_path / "ivectors_online", tmp_path / "ivectors"
    for command in (("steps/extract_ivectors_online.sh", "--nj", "2", "--ivector-period", "7",
                     str(data), str(ie_dir), str(online)),
                    ("steps/extract_ivectors.sh", "--nj", "2", str(data), str(ie_dir),
                     str(offline))):
        result = step(env, *command)
        assert result.returncode == 0, result.stderr
    num_frames = {u: int(n) for u, n in
                  (line.split() for line in (data / "utt2num_frames").read_text().splitlines())}
    matrices = dict(kaldi_io.read_mat_scp(str(online / "ivector_online.scp")))
    assert (online / "ivector_period").read_text().strip() == "7"
    assert {u: m.shape for u, m in matrices.items()} == {
        u: (math.ceil(n / 7), 4) for u, n in num_frames.items()}
    utterance = dict(kaldi_io.read_vec_flt_scp(str(offline / "ivector.scp")))
    speaker = dict(kaldi_io.read_vec_flt_scp(str(offline / "spk_ivector.scp")))
    assert sorted(utterance) == sorted(num_frames) and sorted(speaker) == ["a", "b"]
    assert all(v.shape == (4,) and np.isfinite(v).all() for v in utterance.values())
    assert all(np.linalg.norm(v) == pytest.approx(2.0, rel=1e-5) for v in speaker.values())

    # other options: no resuming from models trained with the old ones
    result = step(env, *train[:4], "0", "--posterior-scale", "0.2", *train[5:])
    assert result.returncode == 0, result.stderr
    assert "starting afresh" in result.stderr
    assert not (ie_dir / "1.ie").exists() and not (ie_dir / "2.ie").exists()
    assert (ie_dir / "final.ie").read_bytes() == (ie_dir / "0.ie").read_bytes()


def test_tool_errors_name_the_file(tmp_path, repo_env):
    (tmp_path / "bad.ie").write_text("junk")
    result = step(repo_env, "python", "-m", "sertl.bin.extract_ivectors",
                  str(tmp_path / "bad.ie"), str(tmp_path), str(tmp_path / "x.ark"),
                  str(tmp_path / "x.scp"))
    assert result.returncode == 1
    assert result.stderr.startswith("extract_ivectors: error: ")
    assert "bad.ie" in result.stderr and "Traceback" not in result.stderr

"""Feature steps end to end: parallel jobs, Kaldi-readable outputs, crash and rerun."""
from __future__ import annotations

import os
import signal
import subprocess
import time

import kaldi_io
import numpy as np
import soundfile as sf

from conftest import REPO, speech_like
from sertl.audio import iter_utterances
from sertl.features import FeatureExtractor, read_feature_config, utterance_seed
from sertl.io import read_table


def make_data(tmp_path, delay_spk: str | None = None):
    """4 speakers x 2 utterances; utterances of ``delay_spk`` come through a slow pipe."""
    data = tmp_path / "data" / "train"
    data.mkdir(parents=True)
    wav, utt2spk = {}, {}
    for s in range(4):
        for u in range(2):
            spk, utt = f"spk{s}", f"spk{s}-u{u}"
            path = tmp_path / f"{utt}.wav"
            sf.write(str(path), speech_like(0.6 + 0.1 * u, seed=10 * s + u).astype(np.int16), 16000)
            wav[utt] = f"sleep 30; cat {path} |" if spk == delay_spk else str(path)
            utt2spk[utt] = spk
    (data / "wav.scp").write_text("".join(f"{k} {v}\n" for k, v in sorted(wav.items())))
    (data / "utt2spk").write_text("".join(f"{k} {v}\n" for k, v in sorted(utt2spk.items())))
    spk2utt = {}
    for utt, spk in sorted(utt2spk.items()):
        spk2utt.setdefault(spk, []).append(utt)
    (data / "spk2utt").write_text("".join(f"{k} {' '.join(v)}\n" for k, v in spk2utt.items()))
    return data


def run_step(args, env, **kwargs):
    return subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, **kwargs)


def expected_features(data, conf):
    opts = read_feature_config(conf, "fbank")
    extractor = FeatureExtractor(opts)
    return {utt: extractor(x, seed=utterance_seed(utt))
            for utt, x in iter_utterances(data, int(opts.sample_frequency))}


def test_make_fbank_parallel_outputs(tmp_path, repo_env):
    data = make_data(tmp_path)
    r = run_step(["steps/make_fbank.sh", "--nj", "2", str(data), str(tmp_path / "log"),
                  str(tmp_path / "fbank")], repo_env)
    assert r.returncode == 0, r.stderr
    feats = dict(kaldi_io.read_mat_scp(str(data / "feats.scp")))
    expected = expected_features(data, REPO / "conf" / "fbank.conf")
    assert feats.keys() == expected.keys()
    for utt in feats:  # equal up to BLAS summation order (jobs run single-threaded)
        np.testing.assert_allclose(feats[utt], expected[utt], rtol=0, atol=1e-4)
    num_frames = read_table(data / "utt2num_frames")
    assert {k: int(v) for k, v in num_frames.items()} == {k: len(v) for k, v in feats.items()}
    assert sorted(p.name for p in (tmp_path / "log").iterdir()) == [
        "make_fbank_train.1.log", "make_fbank_train.2.log"]

    r = run_step(["steps/compute_cmvn_stats.sh", str(data)], repo_env)
    assert r.returncode == 0, r.stderr
    cmvn = dict(kaldi_io.read_mat_scp(str(data / "cmvn.scp")))
    assert sorted(cmvn) == ["spk0", "spk1", "spk2", "spk3"]
    assert cmvn["spk0"][0, -1] == len(feats["spk0-u0"]) + len(feats["spk0-u1"])

    (tmp_path / "vad.conf").write_text("--vad-energy-threshold=5.5\n")
    r = run_step(["steps/compute_vad_decision.sh", "--nj", "2", "--vad-config",
                  str(tmp_path / "vad.conf"), str(data)], repo_env)
    assert r.returncode == 0, r.stderr
    vad = dict(kaldi_io.read_vec_flt_scp(str(data / "vad.scp")))
    assert {k: len(v) for k, v in vad.items()} == {k: len(v) for k, v in feats.items()}


def test_failed_job_names_log_and_leaves_no_feats_scp(tmp_path, repo_env):
    data = make_data(tmp_path)
    (tmp_path / "spk3-u1.wav").write_bytes(b"")  # corrupt one file
    r = run_step(["steps/make_fbank.sh", "--nj", "2", str(data), str(tmp_path / "log"),
                  str(tmp_path / "fbank")], repo_env)
    assert r.returncode != 0
    assert "make_fbank_train.2.log" in r.stderr
    log = (tmp_path / "log" / "make_fbank_train.2.log").read_text()
    assert "spk3-u1" in log and "empty file" in log
    assert not (data / "feats.scp").exists()


def test_killed_extraction_reruns_to_complete_outputs(tmp_path, repo_env):
    data = make_data(tmp_path, delay_spk="spk3")
    args = ["steps/make_fbank.sh", "--nj", "2", str(data), str(tmp_path / "log"),
            str(tmp_path / "fbank")]
    proc = subprocess.Popen(args, cwd=REPO, env=repo_env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first_job = tmp_path / "fbank" / "staging_fbank_train" / "raw_fbank_train.1.scp"
    deadline = time.monotonic() + 600
    while not first_job.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert first_job.exists(), "job 1 did not finish"
    os.killpg(proc.pid, signal.SIGKILL)  # job 2 is still inside its slow pipe
    proc.wait()
    assert not (data / "feats.scp").exists()
    assert not (tmp_path / "fbank" / "raw_fbank_train.1.scp").exists()

    wav_scp = data / "wav.scp"  # the rerun needs no delay
    wav_scp.write_text(wav_scp.read_text().replace("sleep 30; ", ""))
    r = run_step(args, repo_env)
    assert r.returncode == 0, r.stderr
    feats = dict(kaldi_io.read_mat_scp(str(data / "feats.scp")))
    expected = expected_features(data, REPO / "conf" / "fbank.conf")
    assert feats.keys() == expected.keys()
    for utt in feats:  # equal up to BLAS summation order (jobs run single-threaded)
        np.testing.assert_allclose(feats[utt], expected[utt], rtol=0, atol=1e-4)
    r = run_step(["utils/validate_data_dir.sh", "--no-text", str(data)], repo_env)
    assert r.returncode == 0, r.stderr


def test_nan_wav_fails_naming_utterance_and_file(tmp_path, repo_env):
    """A float WAV with one NaN: an error, not NaN features and NaN CMVN stats (issue 12)."""
    data = make_data(tmp_path)
    x = speech_like(0.6, seed=1) / 32768
    x[100] = np.nan
    sf.write(str(tmp_path / "spk1-u0.wav"), x, 16000, subtype="FLOAT")
    r = run_step(["steps/make_mfcc.sh", "--nj", "2", str(data), str(tmp_path / "log"),
                  str(tmp_path / "mfcc")], repo_env)
    assert r.returncode != 0
    log = (tmp_path / "log" / "make_mfcc_train.1.log").read_text()
    assert "'spk1-u0'" in log and "spk1-u0.wav" in log and "NaN or inf" in log, log
    assert not (data / "feats.scp").exists()


def test_non_ascii_id_refused_before_any_job(tmp_path, repo_env):
    data = make_data(tmp_path)
    for name in ("wav.scp", "utt2spk", "spk2utt"):
        path = data / name
        path.write_text(path.read_text().replace("spk2-u1", "spk2-ü1"))
    r = run_step(["steps/make_mfcc.sh", "--nj", "2", str(data), str(tmp_path / "log"),
                  str(tmp_path / "mfcc")], repo_env)
    assert r.returncode != 0
    assert "id 'spk2-ü1' is not ASCII" in r.stderr, r.stderr
    assert not (tmp_path / "log").exists()


def test_bad_feature_config_keeps_previous_outputs(tmp_path, repo_env):
    """A typo in --mfcc-config (or bad audio) must not lose a good data dir's index."""
    data = make_data(tmp_path)
    args = ["steps/make_mfcc.sh", "--nj", "2", str(data), str(tmp_path / "log"),
            str(tmp_path / "mfcc")]
    assert run_step(args, repo_env).returncode == 0
    for step in ("steps/compute_cmvn_stats.sh", "steps/compute_vad_decision.sh"):
        r = run_step([step, str(data)], repo_env)
        assert r.returncode == 0, r.stderr
    outputs = ("feats.scp", "utt2num_frames", "cmvn.scp", "vad.scp")
    before = {name: (data / name).read_text() for name in outputs}
    feats_before = dict(kaldi_io.read_mat_scp(str(data / "feats.scp")))

    (tmp_path / "typo.conf").write_text("--num-ceps=13\n--use-enrgy=false\n")
    r = run_step(args[:1] + ["--mfcc-config", str(tmp_path / "typo.conf")] + args[1:], repo_env)
    assert r.returncode != 0
    assert "use-enrgy" in (tmp_path / "log" / "make_mfcc_train.1.log").read_text()
    (tmp_path / "spk3-u1.wav").write_bytes(b"")  # bad audio in the last job
    r = run_step(args, repo_env)
    assert r.returncode != 0

    assert {name: (data / name).read_text() for name in outputs} == before
    feats = dict(kaldi_io.read_mat_scp(str(data / "feats.scp")))
    for utt in feats_before:
        np.testing.assert_array_equal(feats[utt], feats_before[utt])


def test_second_writer_of_a_data_dir_is_refused(tmp_path, repo_env):
    """Two feature steps on one data dir would race on its arks and scps (issue 12)."""
    data = make_data(tmp_path, delay_spk="spk3")
    args = ["steps/make_fbank.sh", "--nj", "2", str(data), str(tmp_path / "log"),
            str(tmp_path / "fbank")]
    first = subprocess.Popen(args, cwd=REPO, env=repo_env, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        while not (tmp_path / "log" / "make_fbank_train.2.log").exists():
            assert time.monotonic() < deadline and first.poll() is None, "no job started"
            time.sleep(0.1)
        for step in (args, ["steps/compute_cmvn_stats.sh", str(data)]):
            r = run_step(step, repo_env)
            assert r.returncode == 1
            assert f"{data} is being written by another run (pid {first.pid}, " in r.stderr
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()

"""utils/slurm.py against a real Slurm: a one-node cluster on localhost (Debian's
slurm-wlm and munge), started for these tests by tests/slurm/start_slurm.sh.

Where Slurm is missing, tests/slurm/install_slurm.sh installs it (root on Debian); where
that cannot be done the tests are skipped, naming why, except under CI (CI=true), where
a missing Slurm is a failure.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO

SLURM_TESTS = REPO / "tests" / "slurm"
UTILS = REPO / "utils"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def slurm_env(tmp_path_factory) -> dict[str, str]:
    """The environment of a client of the test cluster (SLURM_CONF, utils/ on PATH)."""
    install = subprocess.run([str(SLURM_TESTS / "install_slurm.sh")], capture_output=True,
                             text=True, stdin=subprocess.DEVNULL)
    if install.returncode != 0:
        reason = ("Slurm (Debian packages slurm-wlm and munge) is not installed and could "
                  f"not be installed: {install.stderr.strip()}")
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    state = tmp_path_factory.mktemp("slurm")
    start = subprocess.run([str(SLURM_TESTS / "start_slurm.sh"), str(state),
                            str(free_port()), str(free_port())], capture_output=True,
                           text=True, stdin=subprocess.DEVNULL)
    try:
        assert start.returncode == 0, start.stderr
        yield dict(os.environ, SLURM_CONF=start.stdout.strip(),
                   PATH=f"{UTILS}:{os.environ['PATH']}")
    finally:
        subprocess.run([str(SLURM_TESTS / "stop_slurm.sh"), str(state)])


def bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", "set -euo pipefail\n" + script], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def queue(env: dict[str, str]) -> list[str]:
    """The jobs in the cluster's queue (name and state)."""
    out = subprocess.run(["squeue", "-h", "-o", "%j %T"], env=env, capture_output=True,
                         text=True, check=True).stdout
    return out.splitlines()


def test_job_array_through_the_cmd_sh_convention(tmp_path: Path, slurm_env):
    (tmp_path / "slurm.conf").write_text("nogpu --time=10:00\ngpu --time=20:00\n")
    r = bash('train_cmd="slurm.py --config slurm.conf"\n'
             '$train_cmd JOB=1:3 exp/log/x.JOB.log echo out JOB "|" tr a-z A-Z\n',
             tmp_path, slurm_env)
    assert r.returncode == 0, r.stderr
    for job in (1, 2, 3):
        log = (tmp_path / f"exp/log/x.{job}.log").read_text()
        assert log.startswith(f"# echo out {job} | tr a-z A-Z\n")
        assert f"OUT {job}\n" in log and "# Ended (code 0)" in log
    assert (tmp_path / "exp/log/q/x.sh").exists()


def test_threads_memory_and_gpus_reach_sbatch(tmp_path: Path, slurm_env):
    (tmp_path / "slurm.conf").write_text("nogpu --time=10:00\ngpu --time=20:00\n")
    (tmp_path / "show.sh").write_text('scontrol show job "$SLURM_JOB_ID"\n'
                                      'echo "threads=$OMP_NUM_THREADS"\n')
    r = bash("slurm.py --config slurm.conf --num-threads 2 --mem 100M --gpu 1 log/r.log "
             "bash show.sh\n"
             "slurm.py --config slurm.conf log/plain.log bash show.sh\n", tmp_path, slurm_env)
    assert r.returncode == 0, r.stderr
    job = (tmp_path / "log/r.log").read_text()
    for granted in ("CPUs/Task=2", "MinMemoryNode=100M", "TresPerNode=gres:gpu:1",
                    "TimeLimit=00:20:00", "threads=2"):
        assert granted in job, job
    plain = (tmp_path / "log/plain.log").read_text()
    assert "CPUs/Task=1" in plain and "TimeLimit=00:10:00" in plain
    assert "gres:gpu" not in plain and "threads=1" in plain


def test_failing_task_names_its_log(tmp_path: Path, slurm_env):
    r = bash('slurm.py JOB=1:3 log/x.JOB.log "[" JOB -ne 2 "]"\n', tmp_path, slurm_env)
    assert r.returncode == 1
    assert "slurm.py: 1 / 3 failed, log is in log/x.2.log" in r.stderr
    assert "# Ended (code 1)" in (tmp_path / "log/x.2.log").read_text()


def test_killed_recipe_cancels_its_jobs(tmp_path: Path, slurm_env):
    """kill -9 of a recipe's process group: its array must leave the queue (scancel) and
    its processes end, not run on beside a rerun."""
    (tmp_path / "bg.sh").write_text('sleep 300 &\necho $! > "pid.$1"\nwait\n')
    (tmp_path / "recipe.sh").write_text("slurm.py JOB=1:2 log/k.JOB.log bash bg.sh JOB\n")
    recipe = subprocess.Popen(["bash", "recipe.sh"], cwd=tmp_path, env=slurm_env,
                              start_new_session=True, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    pid_files = [tmp_path / "pid.1", tmp_path / "pid.2"]
    try:
        deadline = time.time() + 120
        while not all(p.exists() and p.read_text().strip() for p in pid_files):
            assert time.time() < deadline, f"the jobs did not start: {queue(slurm_env)}"
            time.sleep(0.2)
        sleeps = [int(p.read_text()) for p in pid_files]
        assert len([job for job in queue(slurm_env) if " RUNNING" in job]) == 2
    finally:
        os.killpg(recipe.pid, signal.SIGKILL)
        recipe.wait()
    deadline = time.time() + 20
    while queue(slurm_env) or any(Path(f"/proc/{pid}").exists() for pid in sleeps):
        assert time.time() < deadline, f"the jobs outlived the recipe: {queue(slurm_env)}"
        time.sleep(0.2)

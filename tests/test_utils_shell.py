"""Recipe machinery in utils/: option parsing, stage control and the job runners."""
from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO

UTILS = REPO / "utils"


def run_bash(script: Path, *args: str, cwd: Path, env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess:
    """Run a bash script in ``cwd`` and capture its output."""
    return subprocess.run(["bash", str(script), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=30)


def run_tool(tool: str, *args: str, cwd: Path, env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess:
    """Run utils/<tool> through its own #! line (the system python3)."""
    return subprocess.run([str(UTILS / tool), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)


# --- utils/parse_options.sh ------------------------------------------------------------

OPTIONS_SCRIPT = """set -euo pipefail
nj=4
name="a b"
use_gpu=false
cmd=run.py
help_message="Usage: opts.sh [options] <arg>"
. {utils}/parse_options.sh
echo "nj=$nj"
echo "name=$name"
echo "use_gpu=$use_gpu"
echo "cmd=$cmd"
echo "given=$parse_options_given"
for a in "$@"; do echo "arg=$a"; done
"""


@pytest.fixture
def options_script(tmp_path: Path) -> Path:
    script = tmp_path / "opts.sh"
    script.write_text(OPTIONS_SCRIPT.format(utils=shlex.quote(str(UTILS))))
    return script


def parsed(result: subprocess.CompletedProcess) -> tuple[dict[str, str], list[str]]:
    """Variables and positional arguments printed by the options script."""
    assert result.returncode == 0, result.stderr
    values, args = {}, []
    for line in result.stdout.splitlines():
        key, _, value = line.partition("=")
        if key == "arg":
            args.append(value)
        else:
            values[key] = value
    return values, args


def test_options_set_variables_and_leave_positionals(options_script: Path, tmp_path: Path):
    values, args = parsed(run_bash(options_script, "--nj", "8", "--name", "x  y z",
                                   "--use-gpu", "true", "--cmd=slurm.py --mem 4G",
                                   "pos 1", "--nj", "9", cwd=tmp_path))
    assert values == {"nj": "8", "name": "x  y z", "use_gpu": "true",
                      "cmd": "slurm.py --mem 4G", "given": "nj name use_gpu cmd"}
    assert args == ["pos 1", "--nj", "9"]


def test_options_stop_at_double_dash(options_script: Path, tmp_path: Path):
    values, args = parsed(run_bash(options_script, "--nj=", "--", "--name", "x",
                                   cwd=tmp_path))
    assert values["nj"] == "" and values["name"] == "a b"
    assert args == ["--name", "x"]


@pytest.mark.parametrize("args, message", [
    (["--bogus", "1"], "invalid option --bogus"),
    (["--use-gpu", "yes"], "option --use-gpu takes true or false, not 'yes'"),
    (["--nj"], "option --nj needs a value"),
    (["--config", "missing.conf"], "--config: no such file: missing.conf"),
])
def test_options_errors(options_script: Path, tmp_path: Path, args: list[str], message: str):
    result = run_bash(options_script, *args, cwd=tmp_path)
    assert result.returncode == 1
    assert message in result.stderr
    assert result.stdout == ""


def test_options_config_file_then_command_line(options_script: Path, tmp_path: Path):
    (tmp_path / "my.conf").write_text('nj=8\ncmd="slurm.py --config conf/slurm.conf"\n')
    values, args = parsed(run_bash(options_script, "--nj", "2", "--config", "my.conf", "x",
                                   cwd=tmp_path))
    assert values["nj"] == "2"  # the command line wins, wherever --config stands
    assert values["cmd"] == "slurm.py --config conf/slurm.conf"
    assert values["given"] == "nj"
    assert args == ["x"]


def test_options_config_is_ordinary_when_script_defines_it(tmp_path: Path):
    script = tmp_path / "feats.sh"
    script.write_text(f"set -euo pipefail\nconfig=\n. {shlex.quote(str(UTILS))}/parse_options.sh\n"
                      'echo "config=$config"\n')
    result = run_bash(script, "--config", "conf/fbank.conf", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "config=conf/fbank.conf\n"


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_options_help(options_script: Path, tmp_path: Path, flag: str):
    result = run_bash(options_script, "--nj", "3", flag, cwd=tmp_path)
    assert result.returncode == 0
    assert result.stderr == "Usage: opts.sh [options] <arg>\n"
    assert result.stdout == ""


# --- utils/stage_control.sh ------------------------------------------------------------

RUN_SH = """set -euo pipefail
stage=0
stop_stage=100
force=false
fail_at=-1
. {utils}/parse_options.sh
. {utils}/stage_control.sh
for n in 0 1 2; do
  if stage_begin "$n" "step $n"; then
    echo "$n" >> ran.txt
    [ "$n" -ne "$fail_at" ] || exit 1
    stage_end "$n"
  fi
done
"""


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    """A directory with a three-stage run.sh that has completed once."""
    (tmp_path / "run.sh").write_text(RUN_SH.format(utils=shlex.quote(str(UTILS))))
    assert stages_run(tmp_path) == ["0", "1", "2"]
    return tmp_path


def stages_run(recipe_dir: Path, *args: str, expect_rc: int = 0) -> list[str]:
    """Run run.sh with ``args``; the stages it ran."""
    ran = recipe_dir / "ran.txt"
    ran.unlink(missing_ok=True)
    result = run_bash(recipe_dir / "run.sh", *args, cwd=recipe_dir)
    assert result.returncode == expect_rc, result.stderr
    return ran.read_text().split() if ran.exists() else []


def markers(recipe_dir: Path) -> list[str]:
    return sorted(p.name for p in (recipe_dir / "exp" / "stages").glob("stage*"))


def test_stage_markers_hold_date_and_command_line(recipe: Path):
    assert markers(recipe) == ["stage0.done", "stage1.done", "stage2.done"]
    assert (recipe / "exp/stages/stage1.done").read_text().splitlines()[1].endswith("run.sh")


def test_complete_run_reruns_nothing(recipe: Path):
    result = run_bash(recipe / "run.sh", "--stop-stage", "1", cwd=recipe)
    assert result.returncode == 0
    assert "stage 1 (step 1): complete, skipping (--force true to redo)" in result.stderr
    assert "stage 2" not in result.stderr  # outside the selected range: silent
    assert stages_run(recipe) == []


def test_explicit_stage_redoes_it_and_the_stale_later_ones(recipe: Path):
    assert stages_run(recipe, "--stage", "1") == ["1", "2"]
    assert stages_run(recipe) == []


def test_stop_stage_leaves_later_stages_stale(recipe: Path):
    assert stages_run(recipe, "--stage", "1", "--stop-stage", "1") == ["1"]
    assert markers(recipe) == ["stage0.done", "stage1.done"]
    assert stages_run(recipe) == ["2"]


def test_killed_stage_is_resumed(tmp_path: Path):
    (tmp_path / "run.sh").write_text(RUN_SH.format(utils=shlex.quote(str(UTILS))))
    assert stages_run(tmp_path, "--fail-at", "1", expect_rc=1) == ["0", "1"]
    assert markers(tmp_path) == ["stage0.done"]
    assert stages_run(tmp_path) == ["1", "2"]


def test_killed_redo_is_resumed(recipe: Path):
    assert stages_run(recipe, "--stage", "1", "--fail-at", "1", expect_rc=1) == ["1"]
    assert stages_run(recipe) == ["1", "2"]


def test_force_redoes_selected_stages(recipe: Path):
    assert stages_run(recipe, "--force", "true", "--stop-stage", "1") == ["0", "1"]
    assert stages_run(recipe) == ["2"]


def test_second_run_of_a_recipe_dir_is_refused(recipe: Path):
    """Two runs in one dir once raced into the same logs and arks (issue 12)."""
    (recipe / "run.sh").write_text(RUN_SH.format(utils=shlex.quote(str(UTILS))).replace(
        'echo "$n" >> ran.txt', 'echo "$n" >> ran.txt; touch started; sleep 3'))
    (recipe / "ran.txt").unlink()
    first = subprocess.Popen(["bash", "run.sh", "--force", "true", "--stop-stage", "0"],
                             cwd=recipe, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 20
    while not (recipe / "started").exists():
        assert time.time() < deadline, "the first run did not start"
        time.sleep(0.05)
    second = run_bash(recipe / "run.sh", "--force", "true", cwd=recipe)
    assert second.returncode == 1
    assert re.search(r"run.sh: exp/stages is being written by another run \(pid "
                     rf"{first.pid}, run.sh, since .*\).*wait for that run to end",
                     second.stderr), second.stderr
    _, stderr = first.communicate(timeout=30)
    assert first.returncode == 0, stderr
    assert (recipe / "ran.txt").read_text().split() == ["0"]  # the second ran nothing
    assert stages_run(recipe) == ["1", "2"]  # the lock went with the first run


def test_lock_held_by_the_calling_run_passes(tmp_path: Path):
    step = tmp_path / "step.sh"
    step.write_text(f". {shlex.quote(str(UTILS))}/lock.sh\nlock_dir out\necho wrote\n")
    outer = tmp_path / "outer.sh"
    outer.write_text(f". {shlex.quote(str(UTILS))}/lock.sh\nlock_dir out\nbash step.sh\n")
    (tmp_path / "out").mkdir()
    result = run_bash(outer, cwd=tmp_path)
    assert result.returncode == 0 and result.stdout == "wrote\n", result.stderr


# --- utils/run.py ------------------------------------------------------------------------

def write_script(path: Path, body: str) -> Path:
    path.write_text("set -euo pipefail\n" + body)
    return path


def test_run_jobs_in_parallel(tmp_path: Path):
    write_script(tmp_path / "meet.sh", 'touch "here.$1"\n'
                 'for _ in $(seq 100); do [ -e "here.$2" ] && exit 0; sleep 0.05; done\n'
                 'exit 1\n')
    env = dict(os.environ, SERTL_MAX_JOBS="2")
    result = run_tool("run.py", "JOB=1:2", "log/meet.JOB.log", "bash", "meet.sh", "JOB",
                      "$((3-JOB))", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("limits", [["--max-jobs-run", "1"], ["--num-threads", "2"]])
def test_run_limits_parallel_jobs(tmp_path: Path, limits: list[str]):
    write_script(tmp_path / "stamp.sh", 'start=$(date +%s.%N); sleep 0.2\n'
                 'echo "$start $(date +%s.%N) $OMP_NUM_THREADS" > "stamp.$1"\n')
    env = dict(os.environ, SERTL_MAX_JOBS="2")
    result = run_tool("run.py", *limits, "JOB=1:3", "log/s.JOB.log", "bash", "stamp.sh", "JOB",
                      cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    stamps = sorted((tmp_path / f"stamp.{i}").read_text().split() for i in (1, 2, 3))
    for earlier, later in zip(stamps, stamps[1:]):
        assert float(earlier[1]) <= float(later[0])  # one at a time
    threads = "2" if "--num-threads" in limits else "1"
    assert {s[2] for s in stamps} == {threads}


def test_run_substitutes_job_index_and_writes_kaldi_logs(tmp_path: Path):
    result = run_tool("run.py", "SPLIT=2:3", "exp/log/x.SPLIT.log", "echo", "part", "SPLIT",
                      "of two words/SPLIT", "|", "tr", "a-z", "A-Z", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "exp/log/x.3.log").read_text().splitlines()
    assert lines[0] == "# echo part 3 'of two words/3' | tr a-z A-Z"
    assert lines[1].startswith("# Started at ")
    assert "PART 3 OF TWO WORDS/3" in lines
    assert lines[-2].startswith("# Accounting: time=") and lines[-2].endswith(" threads=1")
    assert lines[-1].startswith("# Ended (code 0) at ")
    assert not (tmp_path / "exp/log/x.1.log").exists()


def test_run_single_job(tmp_path: Path):
    result = run_tool("run.py", "log/one.log", "echo", "JOB", "ark:-|", "cat", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "JOB ark:-\n" in (tmp_path / "log/one.log").read_text()


def test_run_reports_first_failed_log_after_all_jobs_end(tmp_path: Path):
    result = run_tool("run.py", "JOB=1:4", "log/f.JOB.log", "sleep", "0.$((JOB*JOB))", ";",
                      "exit", "$(((JOB+1)%2))", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == "run.py: 2 / 4 failed, log is in log/f.2.log\n"
    for job, code in [(1, 0), (2, 1), (3, 0), (4, 1)]:
        assert f"# Ended (code {code})" in (tmp_path / f"log/f.{job}.log").read_text()


def test_run_usage_errors(tmp_path: Path):
    result = run_tool("run.py", "JOB=1:2", "log/shared.log", "true", cwd=tmp_path)
    assert result.returncode == 1
    assert "2 jobs would share the log file log/shared.log" in result.stderr
    result = run_tool("run.py", "--num-threads", "0", "log/x.log", "true", cwd=tmp_path)
    assert result.returncode == 1
    assert "option --num-threads: invalid value '0'" in result.stderr


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting to be reaped counts as ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_run_sigterm_kills_the_jobs(tmp_path: Path):
    write_script(tmp_path / "bg.sh", 'sleep 30 &\necho $! > "pid.$1"\nwait\n')
    env = dict(os.environ, SERTL_MAX_JOBS="2")
    runner = subprocess.Popen([str(UTILS / "run.py"), "JOB=1:3", "log/k.JOB.log", "bash", "bg.sh",
                               "JOB"], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    pid_files = [tmp_path / "pid.1", tmp_path / "pid.2"]
    deadline = time.time() + 10
    while not all(p.exists() and p.read_text().strip() for p in pid_files):
        assert time.time() < deadline, "jobs did not start"
        time.sleep(0.05)
    runner.send_signal(signal.SIGTERM)
    _, stderr = runner.communicate(timeout=10)
    assert runner.returncode == 128 + signal.SIGTERM
    assert "stopped by SIGTERM" in stderr
    sleeps = [int(p.read_text()) for p in pid_files]
    deadline = time.time() + 5
    while any(process_alive(pid) for pid in sleeps):
        assert time.time() < deadline, "the jobs' children survived"
        time.sleep(0.05)
    assert not (tmp_path / "pid.3").exists()  # no new job started
    assert "# Ended (code 143)" in (tmp_path / "log/k.1.log").read_text()


def wait_for_pids(pid_files: list[Path], timeout: float = 20) -> list[int]:
    """The pids that jobs wrote into ``pid_files``, once all are written."""
    deadline = time.time() + timeout
    while not all(p.exists() and p.read_text().strip() for p in pid_files):
        assert time.time() < deadline, "jobs did not start"
        time.sleep(0.05)
    return [int(p.read_text()) for p in pid_files]


def test_sigkilled_recipe_leaves_no_job_running(tmp_path: Path):
    """kill -9 of a recipe's process group: the jobs, in sessions of their own, must die
    too (an orphaned training once ran on beside its rerun; issue 12)."""
    write_script(tmp_path / "bg.sh", 'sleep 60 | cat &\necho $! > "pid.$1"\nwait\n')
    write_script(tmp_path / "recipe.sh", f'{UTILS / "run.py"} JOB=1:2 log/k.JOB.log '
                 'bash bg.sh JOB\necho "recipe went on" > after\n')
    env = dict(os.environ, SERTL_MAX_JOBS="2")
    recipe = subprocess.Popen(["bash", "recipe.sh"], cwd=tmp_path, env=env,
                              start_new_session=True)
    try:
        jobs = wait_for_pids([tmp_path / "pid.1", tmp_path / "pid.2"])
    finally:
        os.killpg(recipe.pid, signal.SIGKILL)
        recipe.wait()
    deadline = time.time() + 5
    while any(process_alive(pid) for pid in jobs):
        assert time.time() < deadline, "the jobs outlived the killed recipe"
        time.sleep(0.05)
    assert not (tmp_path / "after").exists()


# --- utils/slurm.py with a fake sbatch ---------------------------------------------------

FAKE_SBATCH = """#!{python}
\"\"\"Fake sbatch: records its arguments, runs the array's tasks here, one after another.\"\"\"
import json, os, subprocess, sys
args = sys.argv[1:]
with open(os.environ["FAKE_SBATCH_RECORD"], "a") as f:
    f.write(json.dumps(args) + "\\n")
opts = dict(a.split("=", 1) for a in args[:-1] if "=" in a)
first, last = map(int, opts["--array"].split("%")[0].split("-"))
skip = os.environ.get("FAKE_SBATCH_SKIP", "").split(",")
codes = []
for task in range(first, last + 1):
    if str(task) in skip:  # as if Slurm had killed it before it could end
        continue
    with open(opts["--output"].replace("%a", str(task)), "w") as out:
        env = dict(os.environ, SLURM_ARRAY_TASK_ID=str(task))
        codes.append(subprocess.call(["bash", args[-1]], stdout=out, stderr=out, env=env))
sys.exit(max(codes, default=0) if "--wait" in args else 0)
"""


@pytest.fixture
def slurm_env(tmp_path: Path) -> dict[str, str]:
    """An environment whose sbatch is the fake one, recording to tmp_path/sbatch.args."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sbatch = bin_dir / "sbatch"
    sbatch.write_text(FAKE_SBATCH.format(python=sys.executable))
    sbatch.chmod(0o755)
    return dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}",
                FAKE_SBATCH_RECORD=str(tmp_path / "sbatch.args"))


def sbatch_calls(tmp_path: Path) -> list[list[str]]:
    return [json.loads(line) for line in (tmp_path / "sbatch.args").read_text().splitlines()]


SLURM_CONF = """# site options
--time=1:00:00  # a day would be too long
gpu --partition=gpu
nogpu --partition=cpu
"""


def test_slurm_submits_array_with_mapped_resources(tmp_path: Path, slurm_env: dict[str, str]):
    (tmp_path / "slurm.conf").write_text(SLURM_CONF)
    result = run_tool("slurm.py", "--config", "slurm.conf", "--num-threads", "2", "--mem", "3G",
                      "--gpu", "1", "--max-jobs-run", "2", "JOB=1:3", "log/x.JOB.log",
                      "echo", "out", "JOB", "|", "tr", "a-z", "A-Z", cwd=tmp_path, env=slurm_env)
    assert result.returncode == 0, result.stderr
    [args] = sbatch_calls(tmp_path)
    assert {"--wait", "--array=1-3%2", "--output=log/q/x.%a.out", "--time=1:00:00",
            "--partition=gpu", "--cpus-per-task=2", "--mem=3G", "--gres=gpu:1"} <= set(args)
    assert "--partition=cpu" not in args
    assert args[-1] == "log/q/x.sh"
    for job in (1, 2, 3):
        log = (tmp_path / f"log/x.{job}.log").read_text()
        assert log.startswith(f"# echo out {job} | tr a-z A-Z\n")
        assert f"OUT {job}\n" in log and "threads=2\n" in log and "# Ended (code 0)" in log


def test_slurm_reports_failed_jobs(tmp_path: Path, slurm_env: dict[str, str]):
    (tmp_path / "slurm.conf").write_text(SLURM_CONF)
    result = run_tool("slurm.py", "--config", "slurm.conf", "JOB=1:3", "log/x.JOB.log",
                      "[", "JOB", "-ne", "2", "]", cwd=tmp_path, env=slurm_env)
    assert result.returncode == 1
    assert result.stderr == "slurm.py: 1 / 3 failed, log is in log/x.2.log\n"
    [args] = sbatch_calls(tmp_path)
    assert "--partition=cpu" in args and "--partition=gpu" not in args
    assert not any(a.startswith("--gres") for a in args)


def test_slurm_job_without_ended_line_failed(tmp_path: Path, slurm_env: dict[str, str]):
    (tmp_path / "log").mkdir()
    (tmp_path / "log/x.3.log").write_text("# Ended (code 0) at an earlier run\n")  # stale
    slurm_env["FAKE_SBATCH_SKIP"] = "3"
    result = run_tool("slurm.py", "JOB=1:3", "log/x.JOB.log", "true", cwd=tmp_path, env=slurm_env)
    assert result.returncode == 1
    assert "slurm.py: 1 / 3 failed, log is in log/x.3.log" in result.stderr
    assert "log/q/x.3.out" in result.stderr


def test_slurm_config_errors_name_the_line(tmp_path: Path, slurm_env: dict[str, str]):
    (tmp_path / "bad.conf").write_text("--time=1:00:00\ngpus --partition=gpu\n")
    result = run_tool("slurm.py", "--config", "bad.conf", "log/x.log", "true", cwd=tmp_path,
                      env=slurm_env)
    assert result.returncode == 1
    assert "bad.conf:2: " in result.stderr
    assert not (tmp_path / "sbatch.args").exists()

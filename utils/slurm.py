#!/usr/bin/env python3
"""Run a command as a Slurm job array, with the calling convention of run.py (Kaldi's run.pl).

Usage: slurm.py [--config FILE] [options] [JOB=1:N] <log-file> <command> [<arg>...]

Options (as "--name VALUE" or "--name=VALUE"), mapped to sbatch options:
  --num-threads N   --cpus-per-task=N (and N threads in the job, as run.py sets them)
  --mem M           --mem=M (memory per job, e.g. 4G)
  --gpu G           --gres=gpu:G; nothing when G is 0 (default)
  --max-jobs-run K  at most K jobs of the array at once: --array=1-N%K
  --config FILE     more sbatch options (default conf/slurm.conf, when it exists): one per
                    line, e.g. "--partition=cpu" or "--time=24:00:00", and lines
                    "gpu <option>" (added when --gpu > 0) or "nogpu <option>" (added when
                    --gpu is 0); "#" starts a comment. The options of the call come after
                    these on sbatch's command line, so they win.

The batch script, <logdir>/q/<name>.sh, runs run.py for the job $SLURM_ARRAY_TASK_ID, so
each job writes the same log as under run.py; what Slurm itself prints for job i goes to
<logdir>/q/<name>.i.out. slurm.py submits the array with "sbatch --wait", which returns
when every job of the array has ended (no polling of squeue), then reads the
"# Ended (code X)" line of each log: a job whose log lacks it (killed by Slurm for its time
or memory limit, or lost with its node) failed too. Logs are removed before submission, so
an old log is never taken for a new result. On failure it names the first failed log and
exits 1, like run.py. SIGINT and SIGTERM cancel the array (scancel by its job name, which
holds slurm.py's process id), and so does run.py's watchdog when slurm.py is gone without
having seen the array end (killed by SIGKILL, e.g. with its recipe's process group).
Only the standard library is used, so any python3 runs it.
"""
from __future__ import annotations

import getpass
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

from run import (RUN_OPTIONS, JobArray, UsageError, Watchdog, failure_message, make_log_dirs,
                 now, on_stop_signals, parse_command_line)

USAGE = ("Usage: slurm.py [--config FILE] [options] [JOB=1:N] <log-file> <command> [<arg>...]"
         " (see utils/slurm.py)")
SLURM_OPTIONS = {**RUN_OPTIONS, "config": str}
DEFAULT_CONFIG = "conf/slurm.conf"
CONDITIONS = {"gpu": lambda gpus: gpus > 0, "nogpu": lambda gpus: gpus == 0}
ENDED = re.compile(r"# Ended \(code (-?\d+)\)")
RUN_PY = Path(__file__).resolve().with_name("run.py")


def config_options(path: str, gpus: int) -> list[str]:
    """The sbatch options that the config file ``path`` gives a job using ``gpus`` GPUs."""
    options: list[str] = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            words = shlex.split(re.sub(r"(^|\s)#.*", "", line))
            if not words:
                continue
            condition = None if words[0].startswith("-") else words.pop(0)
            if condition is not None and condition not in CONDITIONS:
                raise UsageError(f"{path}:{lineno}: expected an sbatch option or "
                                 f"{' or '.join(CONDITIONS)} and an option, got '{condition}'")
            if not words or not words[0].startswith("-"):
                raise UsageError(f"{path}:{lineno}: expected an sbatch option after "
                                 f"'{condition}'")
            if condition is None or CONDITIONS[condition](gpus):
                options += words
    return options


def resource_options(options: dict[str, object]) -> list[str]:
    """The sbatch options for --num-threads, --mem and --gpu."""
    sbatch = [f"--cpus-per-task={options.get('num-threads', 1)}"]
    if "mem" in options:
        sbatch.append(f"--mem={options['mem']}")
    if options.get("gpu", 0):
        sbatch.append(f"--gres=gpu:{options['gpu']}")
    return sbatch


def job_stem(jobs: JobArray) -> str:
    """A name for the array from its log pattern: exp/log/fbank.JOB.log -> fbank."""
    stem = os.path.basename(jobs.log_pattern).removesuffix(".log")
    if jobs.var is not None:
        stem = stem.replace("." + jobs.var, "").replace(jobs.var, "")
    return stem or "job"


def batch_script(jobs: JobArray, threads: int, argv: list[str]) -> str:
    """A bash script running job $SLURM_ARRAY_TASK_ID of ``jobs`` through run.py."""
    job_range = [] if jobs.var is None else [f"{jobs.var}=$SLURM_ARRAY_TASK_ID"]
    run = (["exec", shlex.quote(sys.executable), shlex.quote(str(RUN_PY)),
            f"--num-threads={threads}"] + job_range
           + [shlex.quote(a) for a in (jobs.log_pattern, *jobs.args)])
    return (f"#!/bin/bash\n"
            f"# Written by slurm.py at {now()} for:\n"
            f"#   {shlex.join(['slurm.py', *argv])}\n"
            f"cd {shlex.quote(os.getcwd())}\n"
            f"{' '.join(run)}\n")


def ended_code(log: str) -> int | None:
    """The exit code in the "# Ended (code X)" line of ``log``; None if there is none."""
    try:
        with open(log, encoding="utf-8", errors="replace") as f:
            codes = [int(m[1]) for line in f if (m := ENDED.match(line))]
    except FileNotFoundError:
        return None
    return codes[-1] if codes else None


def cancel_array(job_name: str) -> None:
    """scancel the jobs of this user named ``job_name`` (giving up after a minute, as
    scancel retries for long when the controller is down)."""
    try:
        subprocess.run(["scancel", f"--name={job_name}", f"--user={getpass.getuser()}"],
                       check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        print(f"slurm.py: could not cancel job {job_name}: {e}", file=sys.stderr)


def submit_and_wait(sbatch: list[str], job_name: str, watchdog: Watchdog) -> int:
    """Run sbatch (with --wait) to its end; on SIGINT/SIGTERM cancel the array and exit,
    and should this process be killed outright, ``watchdog`` cancels it."""
    watchdog.register(job_name)
    proc = subprocess.Popen(sbatch, stdout=subprocess.DEVNULL)

    def cancel(signum: int, _frame: object) -> None:
        cancel_array(job_name)
        proc.terminate()
        print(f"slurm.py: stopped by {signal.Signals(signum).name}; cancelled job {job_name}",
              file=sys.stderr)
        sys.exit(128 + signum)

    on_stop_signals(cancel)
    code = proc.wait()
    watchdog.done(job_name)
    return code


def sbatch_command(jobs: JobArray, options: dict[str, object], extra: list[str],
                   script: Path, job_name: str) -> list[str]:
    """The sbatch call that runs ``script`` as the array of ``jobs`` and waits for it."""
    array = f"{jobs.first}-{jobs.last}"
    if "max-jobs-run" in options:
        array += f"%{options['max-jobs-run']}"
    output = script.with_name(f"{script.stem}.%a.out")
    return (["sbatch", "--wait", f"--job-name={job_name}", f"--array={array}",
             f"--output={output}"] + extra + resource_options(options) + [str(script)])


def report_failures(jobs: JobArray, script: Path, sbatch_code: int) -> int:
    """Name the first failed log (run.py's message); 1 if a job failed, else 0."""
    logs = [jobs.log(i) for i in jobs.indices]
    failed = [(i, log) for i, log in zip(jobs.indices, logs) if ended_code(log) != 0]
    if not failed:
        return 0
    print(failure_message("slurm.py", [log for _, log in failed], len(logs)), file=sys.stderr)
    index, log = failed[0]
    if ended_code(log) is None:
        slurm_output = script.with_name(f"{script.stem}.{index}.out")
        print(f"slurm.py: that job never ended normally (sbatch exited with code "
              f"{sbatch_code}); Slurm's output is in {slurm_output}", file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    try:
        options, jobs = parse_command_line(argv, SLURM_OPTIONS)
        config = options.get("config")
        if config is None and os.path.exists(DEFAULT_CONFIG):
            config = DEFAULT_CONFIG
        extra = config_options(config, options.get("gpu", 0)) if config else []
    except UsageError as e:
        print(f"slurm.py: {e}\n{USAGE}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"slurm.py: config: {e}", file=sys.stderr)
        return 1
    logs = [jobs.log(i) for i in jobs.indices]
    stem = job_stem(jobs)
    script = Path(os.path.dirname(jobs.log_pattern) or ".") / "q" / f"{stem}.sh"
    job_name = f"{stem}-{os.getpid()}"
    try:
        make_log_dirs(logs)
        script.parent.mkdir(parents=True, exist_ok=True)
        for log in logs:  # so that an old log is never taken for this run's result
            Path(log).unlink(missing_ok=True)
        script.write_text(batch_script(jobs, options.get("num-threads", 1), argv),
                          encoding="utf-8")
        sbatch_code = submit_and_wait(sbatch_command(jobs, options, extra, script, job_name),
                                      job_name, Watchdog(cancel_array))
    except OSError as e:
        print(f"slurm.py: {e}", file=sys.stderr)
        return 1
    return report_failures(jobs, script, sbatch_code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

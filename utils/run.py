#!/usr/bin/env python3
"""Run a command as an array of jobs on this machine (the calling convention of Kaldi's run.pl).

Usage: run.py [options] [JOB=1:N] <log-file> <command> [<arg>...]
  e.g. run.py --num-threads 2 JOB=1:4 exp/log/fbank.JOB.log \\
         python -m sertl.bin.compute_feats data/split4/JOB ark:- "|" gzip -c ">" x.JOB.gz

Options (as "--name VALUE" or "--name=VALUE"):
  --num-threads N   threads of each job: OMP_NUM_THREADS, MKL_NUM_THREADS and
                    OPENBLAS_NUM_THREADS are set to N, and at most cores // N jobs run at
                    once (default 1)
  --max-jobs-run K  run at most K jobs at once (default: as many as the cores allow)
  --mem M, --gpu G  accepted so that run.py and slurm.py take the same command lines; not
                    enforced here

VAR=first:last (VAR any identifier, e.g. JOB or SPLIT; VAR=i for the single job i) gives
the jobs; without it there is one job. VAR is replaced by the job index wherever it occurs
in the log path and the arguments, as Kaldi's s/JOB/n/g. Arguments without whitespace reach
"bash -c" as they are, so "|" and "ark:-|" keep their shell meaning; arguments with
whitespace are quoted. Each log holds "# <command>", "# Started at <date>", the job's
stdout and stderr, "# Accounting: time=<s> threads=<n>" and "# Ended (code <rc>) at <date>,
elapsed time <s> seconds".

The cores are the CPUs this process may use, or $SERTL_MAX_JOBS when set. When jobs fail,
the others still run to their end; run.py then names the first failed log and exits 1.
SIGTERM and SIGINT (unless ignored, as in a background job) kill the running jobs (each
job's whole process group) and start no new ones; a second signal kills them with SIGKILL.
Jobs die with run.py however it dies: a watchdog process (see Watchdog) SIGKILLs the
process groups of the jobs still running when run.py is gone, even after a SIGKILL of the
recipe's whole process group (which the jobs, in groups of their own, would escape).
Only the standard library is used, so any python3 runs it; utils/slurm.py imports its
command-line parsing from here.
"""
from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable

USAGE = "Usage: run.py [options] [JOB=1:N] <log-file> <command> [<arg>...] (see utils/run.py)"


class UsageError(Exception):
    """A malformed runner command line."""


def positive_int(text: str) -> int:
    """An integer >= 1 (job counts, threads)."""
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def non_negative_int(text: str) -> int:
    """An integer >= 0 (GPUs)."""
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


RUN_OPTIONS: dict[str, Callable[[str], object]] = {
    "num-threads": positive_int,
    "max-jobs-run": positive_int,
    "mem": str,
    "gpu": non_negative_int,
}
JOB_RANGE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(\d+)(?::(\d+))?")


def shell_join(args: Iterable[str]) -> str:
    """Join arguments into a bash command line as run.pl does: an argument without
    whitespace is kept as it is (so shell syntax such as "|" works), others are quoted."""
    return " ".join(a if a and not any(c.isspace() for c in a) else shlex.quote(a) for a in args)


@dataclass(frozen=True)
class JobArray:
    """The jobs of one runner call: index variable and range, log pattern and command."""

    var: str | None  # None: a single job, nothing substituted
    first: int
    last: int
    log_pattern: str
    args: tuple[str, ...]

    @property
    def indices(self) -> range:
        return range(self.first, self.last + 1)

    def _substitute(self, text: str, index: int) -> str:
        return text if self.var is None else text.replace(self.var, str(index))

    def log(self, index: int) -> str:
        """The log file of job ``index``."""
        return self._substitute(self.log_pattern, index)

    def command(self, index: int) -> str:
        """The bash command line of job ``index``."""
        return shell_join(self._substitute(a, index) for a in self.args)


def parse_command_line(
    argv: list[str], options: dict[str, Callable[[str], object]]
) -> tuple[dict[str, object], JobArray]:
    """Split ``[options] [VAR=a:b] <log> <command...>`` into option values and the jobs."""
    values: dict[str, object] = {}
    i = 0
    while i < len(argv) and argv[i].startswith("--"):
        name, has_value, value = argv[i][2:].partition("=")
        if name not in options:
            raise UsageError(f"unknown option {argv[i]}")
        if not has_value:
            if i + 1 == len(argv):
                raise UsageError(f"option --{name} needs a value")
            i += 1
            value = argv[i]
        try:
            values[name] = options[name](value)
        except ValueError:
            raise UsageError(f"option --{name}: invalid value '{value}'") from None
        i += 1
    rest = argv[i:]
    var, first, last = None, 1, 1
    match = JOB_RANGE.fullmatch(rest[0]) if rest else None
    if match:
        var, first, last = match[1], int(match[2]), int(match[3] or match[2])
        rest = rest[1:]
        if first > last:
            raise UsageError(f"empty job range {match[0]}")
    if len(rest) < 2:
        raise UsageError("expected a log file and a command")
    if var is not None and last > first and var not in rest[0]:
        raise UsageError(f"{last - first + 1} jobs would share the log file {rest[0]} "
                         f"(put {var} in its name)")
    return values, JobArray(var, first, last, rest[0], tuple(rest[1:]))


def make_log_dirs(logs: Iterable[str]) -> None:
    """Create the directories of the log files."""
    for directory in {os.path.dirname(log) for log in logs}:
        if directory:
            os.makedirs(directory, exist_ok=True)


def failure_message(prog: str, failed_logs: list[str], num_jobs: int) -> str:
    """Kaldi's report of failed jobs, naming the first failed log."""
    return f"{prog}: {len(failed_logs)} / {num_jobs} failed, log is in {failed_logs[0]}"


def now() -> str:
    """The date as date(1) prints it."""
    return time.strftime("%a %b %d %H:%M:%S %Z %Y")


class Watchdog:
    """A process that acts for this one once it is gone, however it ended (even by SIGKILL).

    It runs in a session of its own, so a signal to the recipe's process group does not
    reach it, and reads lines "+KEY" (register) and "-KEY" (done) from a pipe whose write
    end only this process and the jobs' registration hold. When every writer has exited,
    the pipe reads end-of-file and the watchdog calls ``on_orphaned(KEY)`` for each key still
    registered, then exits. Start it before any thread (it forks).
    """

    def __init__(self, on_orphaned: Callable[[str], None]):
        read_fd, self.fd = os.pipe()
        if os.fork() == 0:
            code = 1
            try:
                os.close(self.fd)
                os.setsid()
                devnull = os.open(os.devnull, os.O_RDWR)
                os.dup2(devnull, 0)
                os.dup2(devnull, 1)  # so that a pipe reading run.py's output ends with it
                live: set[str] = set()
                with os.fdopen(read_fd, "rb") as pipe:
                    for line in pipe:
                        key = line.decode().rstrip("\n")
                        (live.add if key.startswith("+") else live.discard)(key[1:])
                for key in live:
                    on_orphaned(key)
                code = 0
            finally:
                os._exit(code)
        os.close(read_fd)

    def _send(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\n")

    def register(self, key: str) -> None:
        self._send("+" + key)

    def done(self, key: str) -> None:
        self._send("-" + key)

    def registering(self, command: str) -> str:
        """``command`` preceded by bash lines that register its process group ($$, as the
        job runs in a group of its own) with the watchdog and close the pipe. The job
        registers itself, so no job escapes if run.py dies just after starting it."""
        return f"echo +$$ >&{self.fd}; exec {self.fd}>&-; {command}"


def kill_orphaned_job(pgid: str) -> None:
    """Watchdog action of run.py: SIGKILL a job's process group left behind."""
    try:
        os.killpg(int(pgid), signal.SIGKILL)
    except ProcessLookupError:
        pass


class LocalJobs:
    """Runs jobs as process groups on this machine and kills the live ones on a signal;
    ``watchdog`` kills them when run.py itself is killed."""

    def __init__(self, threads: int, watchdog: Watchdog):
        self.threads = threads
        self.watchdog = watchdog
        self.stopped_by: int | None = None
        self._live: set[subprocess.Popen] = set()
        self._lock = threading.Lock()
        thread_vars = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
        self._env = dict(os.environ, **{name: str(threads) for name in thread_vars})

    def run(self, command: str, log: str) -> int | None:
        """Run ``command`` with its output in ``log``; its exit code, None if not started."""
        start = time.time()
        # O_APPEND: the job's output and the closing lines all land at the end of the log.
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o666)
        with open(fd, "a", encoding="utf-8") as f:
            with self._lock:
                if self.stopped_by is not None:
                    f.write("# Not started: run.py was stopped\n")
                    return None
                f.write(f"# {command}\n# Started at {now()}\n#\n")
                f.flush()
                job = subprocess.Popen(["bash", "-c", self.watchdog.registering(command)],
                                       stdin=subprocess.DEVNULL, stdout=f,
                                       stderr=subprocess.STDOUT, env=self._env,
                                       start_new_session=True, pass_fds=(self.watchdog.fd,))
                self._live.add(job)
            code = job.wait()
            with self._lock:
                self._live.discard(job)
                self.watchdog.done(str(job.pid))
            if code < 0:  # killed by signal -code: report it as bash does, 128 + signal
                code = 128 - code
            elapsed = round(time.time() - start)
            f.write(f"# Accounting: time={elapsed} threads={self.threads}\n"
                    f"# Ended (code {code}) at {now()}, elapsed time {elapsed} seconds\n")
        return code

    def stop(self, signum: int, _frame: object = None) -> None:
        """Signal handler: start no more jobs and kill the running ones (SIGKILL if again)."""
        with self._lock:
            kill_with = signal.SIGTERM if self.stopped_by is None else signal.SIGKILL
            self.stopped_by = signum
            for job in self._live:
                try:
                    os.killpg(job.pid, kill_with)
                except ProcessLookupError:
                    pass


def on_stop_signals(handler: Callable[[int, object], None]) -> None:
    """Call ``handler`` on SIGTERM, and on SIGINT unless it is ignored (as bash makes it
    for background jobs, which Ctrl-C must not stop)."""
    signal.signal(signal.SIGTERM, handler)
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, handler)


def num_cores() -> int:
    """CPUs available to the jobs: $SERTL_MAX_JOBS, else the CPUs this process may use."""
    override = os.environ.get("SERTL_MAX_JOBS")
    if override:
        try:
            return positive_int(override)
        except ValueError:
            raise UsageError(f"SERTL_MAX_JOBS must be a positive integer, not '{override}'"
                             ) from None
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def main(argv: list[str]) -> int:
    try:
        options, jobs = parse_command_line(argv, RUN_OPTIONS)
        cores = num_cores()
    except UsageError as e:
        print(f"run.py: {e}\n{USAGE}", file=sys.stderr)
        return 1
    threads = options.get("num-threads", 1)
    max_jobs = options.get("max-jobs-run", len(jobs.indices))
    parallel = min(max_jobs, max(1, cores // threads), len(jobs.indices))
    logs = [jobs.log(i) for i in jobs.indices]
    runner = LocalJobs(threads, Watchdog(kill_orphaned_job))
    on_stop_signals(runner.stop)
    try:
        make_log_dirs(logs)
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            codes = list(pool.map(runner.run, [jobs.command(i) for i in jobs.indices], logs))
    except OSError as e:
        print(f"run.py: {e}", file=sys.stderr)
        return 1
    if runner.stopped_by is not None:
        print(f"run.py: stopped by {signal.Signals(runner.stopped_by).name}; "
              "killed the running jobs", file=sys.stderr)
        return 128 + runner.stopped_by
    failed = [log for log, code in zip(logs, codes) if code != 0]
    if failed:
        print(failure_message("run.py", failed, len(logs)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

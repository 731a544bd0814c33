#!/usr/bin/env bash
# Usage: tests/slurm/stop_slurm.sh <state-dir>
# Cancels the jobs of the test cluster of <state-dir> and stops its daemons
# (tests/slurm/start_slurm.sh started them).
set -uo pipefail
[ $# -eq 1 ] || { echo "Usage: $0 <state-dir>" >&2; exit 1; }
# Jobs first, so that no slurmstepd outlives its slurmd.
SLURM_CONF=$1/slurm.conf scancel --user="$(id -un)" 2>/dev/null && sleep 1
for pid_file in "$1/slurmd.pid" "$1/slurmctld.pid" "$1/munge/munged.pid"; do
  [ -s "$pid_file" ] && kill "$(cat "$pid_file")" 2>/dev/null
done
exit 0

#!/usr/bin/env bash
# Usage: tests/slurm/stop_slurm.sh <state-dir>
# Stops the daemons that tests/slurm/start_slurm.sh started for <state-dir>.
set -uo pipefail
[ $# -eq 1 ] || { echo "Usage: $0 <state-dir>" >&2; exit 1; }
for pid_file in "$1/slurmd.pid" "$1/slurmctld.pid" "$1/munge/munged.pid"; do
  [ -s "$pid_file" ] && kill "$(cat "$pid_file")" 2>/dev/null
done
exit 0

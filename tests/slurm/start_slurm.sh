#!/usr/bin/env bash
# Usage: tests/slurm/start_slurm.sh <state-dir> [<slurmctld-port> <slurmd-port>]
# Starts a one-node Slurm cluster on localhost for the tests: munged, slurmctld and slurmd,
# run as the calling user (root in CI), with every file (config, MUNGE key and socket,
# state, logs, pid files) under <state-dir> and its own ports (default 16817 and 16818),
# so nothing of the machine's own set-up is used or changed. The node "localhost" has 4 CPUs, 2000 MB and
# one GPU as a generic resource (counted, no device), so that sbatch accepts
# --cpus-per-task, --mem and --gres=gpu:1. Prints the path of slurm.conf: point
# SLURM_CONF at it for sbatch, squeue and scancel. Waits until the node is idle.
# Stop it with tests/slurm/stop_slurm.sh <state-dir>.
set -euo pipefail
[ $# -eq 1 ] || [ $# -eq 3 ] || \
  { echo "Usage: $0 <state-dir> [<slurmctld-port> <slurmd-port>]" >&2; exit 1; }
dir=$(mkdir -p "$1" && cd "$1" && pwd)
ctld_port=${2:-16817}
slurmd_port=${3:-16818}
mkdir -p "$dir/state" "$dir/spool" "$dir/log" "$dir/munge"
chmod 755 "$dir/munge"
user=$(id -un)

[ -f "$dir/munge/munge.key" ] || mungekey --create --keyfile="$dir/munge/munge.key" --bits=1024
chmod 400 "$dir/munge/munge.key"
munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
  --seed-file="$dir/munge/munged.seed"

cat > "$dir/slurm.conf" <<CONF
ClusterName=sertltest
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=100
SlurmdParameters=config_overrides
GresTypes=gpu
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
KillWait=2
InactiveLimit=0
MinJobAge=30
NodeName=localhost NodeAddr=127.0.0.1 CPUs=4 RealMemory=2000 Gres=gpu:1 State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
echo "NodeName=localhost Name=gpu File=/dev/null" > "$dir/gres.conf"
export SLURM_CONF=$dir/slurm.conf
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF" -N localhost

for _ in $(seq 150); do
  if sinfo -h -n localhost -o %t 2>/dev/null | grep -qx "idle"; then
    echo "$SLURM_CONF"
    exit 0
  fi
  sleep 0.2
done
echo "$0: the node did not become idle within 30 s; logs in $dir/log" >&2
sinfo -N -l >&2 || true
exit 1

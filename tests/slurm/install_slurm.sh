#!/usr/bin/env bash
# Usage: tests/slurm/install_slurm.sh
# Installs Debian's Slurm (controller, node daemon, client) and MUNGE when they are missing,
# so that tests/test_slurm.py runs utils/slurm.py against a real Slurm. Needs root and the
# Debian archive; does nothing when sbatch, slurmctld, slurmd and munged are all there.
# .ci/run calls it; a developer machine without root skips the Slurm tests instead.
set -euo pipefail
if command -v sbatch >/dev/null && command -v slurmctld >/dev/null \
    && command -v slurmd >/dev/null && command -v munged >/dev/null; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "$0: Slurm is not installed and this is not root on a Debian system; not installing" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null

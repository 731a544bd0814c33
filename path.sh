# Source me (". ./path.sh"): puts sertl's environment, steps/, utils/ and the package in reach.
# Creates the virtual environment on first use (utils/setup_venv.sh).
SERTL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export SERTL_ROOT
"$SERTL_ROOT/utils/setup_venv.sh"
export PATH=$SERTL_ROOT/.venv/bin:$SERTL_ROOT/utils:$PATH
export PYTHONPATH=$SERTL_ROOT${PYTHONPATH:+:$PYTHONPATH}
export PYTHONUNBUFFERED=1
export LC_ALL=C

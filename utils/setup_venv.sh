#!/usr/bin/env bash
# Usage: utils/setup_venv.sh
# Creates <repo>/.venv (Python 3.11) and installs sertl with its pinned dependencies
# (pyproject.toml, extra "dev" for the tests). Does nothing when the installed
# environment already matches pyproject.toml, so every entry point can call it.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=$root/.venv
stamp=$venv/.sertl-installed
want=$(sha1sum "$root/pyproject.toml" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
python=${SERTL_PYTHON:-$(command -v python3.11 || command -v python3)}
if ! "$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "$0: need Python 3.11 (found $("$python" --version 2>&1)); set SERTL_PYTHON" >&2
  exit 1
fi
echo "$0: installing sertl and its pinned dependencies into $venv (first use; several GB)" >&2
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -e "$root[dev]"
echo "$want" > "$stamp"

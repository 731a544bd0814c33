#!/usr/bin/env bash
# Usage: egs/TEMPLATE/setup.sh <asr|ser> <recipe-dir>
# Makes (or completes) a corpus recipe dir, as ESPnet's egs2/TEMPLATE/*/setup.sh:
#   steps/ utils/            links to the shared steps and tools
#   asr.sh or ser.sh         a link to the task's pipeline (egs/TEMPLATE/<task>1/)
#   path.sh cmd.sh           the recipe's own, sourcing the top-level ones
#   conf/                    the recipe's own copies of the task's confs (feature configs,
#                            and conf/ser/*.yaml or conf/asr/*.yaml + conf/align_sb.yaml):
#                            editing them changes this recipe only
#   local/                   for the corpus's local/prepare_data.sh (yours to write)
# Files that exist already are left as they are, so a rerun only adds what is missing.
# Then write local/prepare_data.sh, a run.sh that calls ./<task>.sh with the corpus's
# defaults, README.md (the corpus layout and protocol) and a fixture test in tests/.
# e.g.: egs/TEMPLATE/setup.sh ser egs/shemo/s5
set -euo pipefail
[ $# -eq 2 ] && { [ "$1" = asr ] || [ "$1" = ser ]; } || \
  { sed -n '2,15s/^# \{0,1\}//p' "$0" >&2; exit 1; }
task=$1
dir=${2%/}
root=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(cd "$(dirname "$dir")/../.." 2>/dev/null && pwd)" = "$root" ] || \
  { echo "$0: $dir is not egs/<corpus>/s5 of $root" >&2; exit 1; }
mkdir -p "$dir/local" "$dir/conf"
link() {  # link <target> <name>: a relative symlink, unless <name> exists
  [ -e "$dir/$2" ] || [ -L "$dir/$2" ] || ln -s "$1" "$dir/$2"
}
link ../../../steps steps
link ../../../utils utils
link "../../TEMPLATE/${task}1/$task.sh" "$task.sh"
[ -e "$dir/path.sh" ] || cat > "$dir/path.sh" <<'PATH_SH'
# Source me (". ./path.sh") in this recipe: sertl's environment from the top-level path.sh.
SERTL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
. "$SERTL_ROOT/path.sh"
PATH_SH
[ -e "$dir/cmd.sh" ] || cat > "$dir/cmd.sh" <<'CMD_SH'
# Job runners for this recipe: the top-level cmd.sh (edit that one, or override here).
. ../../../cmd.sh
CMD_SH
for f in mfcc.conf mfcc_hires.conf fbank.conf vad.conf; do
  cp -n "$root/conf/$f" "$dir/conf/$f"
done
if [ "$task" = ser ]; then
  mkdir -p "$dir/conf/ser"
  cp -n "$root"/conf/ser/*.yaml "$dir/conf/ser/"
else
  mkdir -p "$dir/conf/asr"
  cp -n "$root"/conf/asr/*.yaml "$dir/conf/asr/"
  cp -n "$root/conf/align_sb.yaml" "$dir/conf/align_sb.yaml"
fi
echo "$0: $dir is set up for $task; write local/prepare_data.sh, run.sh and README.md" >&2

# utils/lock.sh: one writer per directory; a second run on the same dir is refused.
#
# Usage (sourced by a recipe or a step, after utils/parse_options.sh):
#   . utils/lock.sh
#   lock_dir <dir>
#
# lock_dir takes an exclusive flock(1) on <dir>/.lock (<dir> must exist) for the rest of
# this shell's life (the lock fd is inherited by its child scripts; utils/run.py's jobs
# do not hold it). If another run holds it, it exits 1 naming the dir and the holder
# (pid, script and start time, from the lock file). The lock is the kernel's: it is
# released however the holder dies, so there is no stale lock to remove. Steps started by
# the holder (their dirs are listed in the exported $SERTL_LOCKED_DIRS, colon-separated)
# pass through a lock_dir on the same dir instead of refusing their own run.
# Sourcing it changes no shell option.

lock_dir() {  # lock_dir DIR: exit 1 unless this run may write DIR
  local dir=$1 abs lock fd
  [ -d "$dir" ] || { echo "$0: no such directory: $dir" >&2; exit 1; }
  abs=$(cd "$dir" && pwd -P)
  case ":${SERTL_LOCKED_DIRS:-}:" in
    *":$abs:"*) return 0 ;;  # held by the run that started this script
  esac
  lock=$abs/.lock
  exec {fd}<>"$lock"  # read-write, not truncated: the holder's line stays readable
  if ! flock -n "$fd"; then
    echo "$0: $dir is being written by another run ($(head -n 1 "$lock" 2>/dev/null)); " \
         "refusing to write it at the same time: wait for that run to end" >&2
    exit 1
  fi
  printf 'pid %s, %s, since %s\n' "$$" "$0" "$(date '+%Y-%m-%d %H:%M:%S')" > "$lock"
  export SERTL_LOCKED_DIRS="${SERTL_LOCKED_DIRS:+$SERTL_LOCKED_DIRS:}$abs"
}

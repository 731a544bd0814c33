# utils/stage_control.sh: which stages of a run.sh to run, with completion markers.
#
# Usage (sourced by a run.sh after utils/parse_options.sh):
#   stage=0; stop_stage=100; force=false
#   . utils/parse_options.sh
#   . utils/stage_control.sh
#   if stage_begin 1 "features: fbank + CMVN + VAD"; then
#     steps/make_fbank.sh ...
#     stage_end 1
#   fi
#
# Reads $stage and $stop_stage (integers), $force (true/false), $stage_dir (where the
# markers live, default exp/stages) and, from utils/parse_options.sh,
# $parse_options_given and $parse_options_cmdline. Sets stage_explicit=true when --stage
# was given on the command line (parse_options_given names "stage"), else false.
#
# A stage N is selected when stage <= N <= stop_stage; unselected stages log nothing.
# stage_begin N DESC  succeeds (the stage runs) when N is selected and
#     - force is true, or
#     - N is the first selected stage reached and stage_explicit is true
#       ("./run.sh --stage 3" redoes stage 3, as Kaldi users expect), or
#     - $stage_dir/stageN.done is missing (never finished, or made stale).
#   It then removes stageN.done (a stage killed half-way is redone on the next run) and
#   logs "=== stage N: DESC ===" with the time to stderr. Otherwise it fails, logging
#   that the stage is complete.
# stage_end N  writes $stage_dir/stageN.done (date and command line; written under a
#   temporary name and renamed) and removes the markers of all later stages: their
#   inputs have changed, so they run again.
# Sourcing it also locks $stage_dir (utils/lock.sh): a second run of the same recipe
# dir is refused while this one runs.
# Sourcing it changes no shell option; its helpers start with _stage_.

. "$(dirname "${BASH_SOURCE[0]}")/lock.sh"

_stage_int() {  # _stage_int <what> <value>: fail unless value is an integer
  if ! [[ $2 =~ ^-?[0-9]+$ ]]; then
    echo "$0: $1 must be an integer, not '$2'" >&2
    exit 1
  fi
}

_stage_marker() {  # _stage_marker N: path of stage N's completion marker
  echo "${stage_dir:-exp/stages}/stage$1.done"
}

stage_begin() {  # stage_begin N DESC: succeed when stage N must run now
  local n=$1 desc=$2 first=false marker
  _stage_int "stage_begin: stage number" "$n"
  if [ "$n" -lt "$stage" ] || [ "$n" -gt "$stop_stage" ]; then
    return 1
  fi
  if [ "$_stage_first_reached" = false ]; then
    first=true
    _stage_first_reached=true
  fi
  marker=$(_stage_marker "$n")
  if [ "$force" = true ] || { [ "$first" = true ] && [ "$stage_explicit" = true ]; } \
      || [ ! -f "$marker" ]; then
    rm -f "$marker"
    echo "$(date '+%Y-%m-%d %H:%M:%S') === stage $n: $desc ===" >&2
    return 0
  fi
  echo "$0: stage $n ($desc): complete, skipping (--force true to redo)" >&2
  return 1
}

stage_end() {  # stage_end N: mark stage N complete and later stages stale
  local n=$1 marker done_file later
  _stage_int "stage_end: stage number" "$n"
  marker=$(_stage_marker "$n")
  mkdir -p "$(dirname "$marker")"
  printf '%s\n%s\n' "$(date)" "${parse_options_cmdline:-$0}" > "$marker.tmp"
  mv -f "$marker.tmp" "$marker"
  for done_file in "$(dirname "$marker")"/stage*.done; do
    later=${done_file##*/stage}
    later=${later%.done}
    if [[ $later =~ ^-?[0-9]+$ ]] && [ "$later" -gt "$n" ]; then
      rm -f "$done_file"
    fi
  done
}

_stage_int --stage "$stage"
_stage_int --stop-stage "$stop_stage"
case $force in
  true | false) ;;
  *)
    echo "$0: --force must be true or false, not '$force'" >&2
    exit 1 ;;
esac
case " ${parse_options_given:-} " in
  *" stage "*) stage_explicit=true ;;
  *) stage_explicit=false ;;
esac
_stage_first_reached=false
mkdir -p "${stage_dir:-exp/stages}"
lock_dir "${stage_dir:-exp/stages}"

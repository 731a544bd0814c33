# utils/parse_options.sh: Kaldi-style command-line options for bash scripts.
#
# Usage (sourced, after the script has set its defaults and usage):
#   nj=4
#   fbank_config=conf/fbank.conf
#   help_message="Usage: $0 [--nj N] [--fbank-config FILE] <data-dir>"
#   . utils/parse_options.sh
#   [ $# -eq 1 ] || { echo "$help_message" >&2; exit 1; }
#
# Reads options from the front of "$@" and leaves the positional arguments there:
#   --foo-bar V, --foo-bar=V  set foo_bar to V. foo_bar must already be set (its default),
#                             else the option is invalid; a true/false default only takes
#                             true or false.
#   --config FILE             source FILE (shell assignments such as "nj=8") before the
#                             other options are applied, so the command line wins. A script
#                             that sets a variable named config itself (e.g. a feature or
#                             YAML config path) takes --config as an ordinary option instead.
#   --help, -h                print $help_message (default: the script's header comment)
#                             to stderr and exit 0.
#   --                        end of the options.
# Parsing stops at the first argument that does not start with "--".
#
# Also sets, for the caller:
#   parse_options_given    names of the variables set by options, space-separated (e.g.
#                          "nj stage"), so a script can tell an explicit --stage from its
#                          default (utils/stage_control.sh does).
#   parse_options_cmdline  the script's command line as given, quoted for the shell.
#
# Works under "set -euo pipefail" (and changes no shell option); values may hold spaces.
# Its own temporary variables start with _po_ and are unset at the end.

# The usage defaults to the script's header: its comment lines after the "#!" line.
if [ -z "${help_message+set}" ]; then
  help_message=$(sed -n '2,${/^#/!q;s/^# \{0,1\}//;p}' "$0")
fi
parse_options_cmdline=$(printf '%q ' "$0" "$@")
parse_options_cmdline=${parse_options_cmdline% }
parse_options_given=
_po_flags=()    # options as written, for error messages
_po_names=()    # the variables they set
_po_values=()
_po_configs=()  # files given with --config (when config is not a variable of the script)

while [ $# -gt 0 ]; do
  case $1 in
    --)
      shift
      break ;;
    --help | -h)
      printf '%s\n' "$help_message" >&2
      exit 0 ;;
    --*=*)
      _po_flag=${1%%=*}
      _po_value=${1#*=}
      shift ;;
    --?*)
      if [ $# -lt 2 ]; then
        echo "$0: option $1 needs a value" >&2
        exit 1
      fi
      _po_flag=$1
      _po_value=$2
      shift 2 ;;
    *)
      break ;;
  esac
  _po_name=${_po_flag#--}
  _po_name=${_po_name//-/_}
  if [ "$_po_name" = config ] && [ -z "${config+set}" ]; then
    _po_configs+=("$_po_value")
  else
    _po_flags+=("$_po_flag")
    _po_names+=("$_po_name")
    _po_values+=("$_po_value")
  fi
done

_po_i=0
while [ "$_po_i" -lt "${#_po_configs[@]}" ]; do
  if [ ! -f "${_po_configs[$_po_i]}" ]; then
    echo "$0: --config: no such file: ${_po_configs[$_po_i]}" >&2
    exit 1
  fi
  . "${_po_configs[$_po_i]}"
  _po_i=$((_po_i + 1))
done

_po_i=0
while [ "$_po_i" -lt "${#_po_names[@]}" ]; do
  _po_flag=${_po_flags[$_po_i]}
  _po_name=${_po_names[$_po_i]}
  _po_value=${_po_values[$_po_i]}
  if ! [[ $_po_name =~ ^[A-Za-z][A-Za-z0-9_]*$ ]] || [ -z "${!_po_name+set}" ]; then
    echo "$0: invalid option $_po_flag" >&2
    exit 1
  fi
  case ${!_po_name} in
    true | false)
      case $_po_value in
        true | false) ;;
        *)
          echo "$0: option $_po_flag takes true or false, not '$_po_value'" >&2
          exit 1 ;;
      esac ;;
  esac
  printf -v "$_po_name" '%s' "$_po_value"
  parse_options_given+="${parse_options_given:+ }$_po_name"
  _po_i=$((_po_i + 1))
done

unset _po_flags _po_names _po_values _po_configs _po_flag _po_name _po_value _po_i

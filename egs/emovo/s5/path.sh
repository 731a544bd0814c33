# Source me (". ./path.sh") in this recipe: sertl's environment from the top-level path.sh.
SERTL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
. "$SERTL_ROOT/path.sh"

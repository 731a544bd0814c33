# Job runners for this recipe: the top-level cmd.sh (edit that one, or override here).
. ../../../cmd.sh

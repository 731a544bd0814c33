#!/usr/bin/env bash
# Usage: utils/prepare_lang.sh [options] <dict-dir> <oov-word> <lang-dir>
# Makes a lang dir from a Kaldi dict dir (lexicon.txt, silence_phones.txt,
# nonsilence_phones.txt, optional_silence.txt), as Kaldi's utils/prepare_lang.sh does
# minus the FSTs: phones.txt, words.txt, oov.txt, oov_policy, lexicon.txt, phones/*.txt.
# e.g.: utils/prepare_lang.sh --remove-stress true data/local/dict "<UNK>" data/lang
# Options:
#   --remove-stress <true|false>  strip stress digits (AH0 -> AH) from nonsilence phones
#                                 (default false)
#   --oov-policy <unk|skip>       words missing from the lexicon: unk = use the OOV word's
#                                 pronunciation; skip = leave the utterance out (default unk)
set -euo pipefail
remove_stress=false
oov_policy=unk
. utils/parse_options.sh
[ $# -eq 3 ] || { echo "$help_message" >&2; exit 1; }
stress_flag=()
[ "$remove_stress" = true ] && stress_flag=(--remove-stress)
python -m sertl.bin.prepare_lang "${stress_flag[@]}" --oov-policy "$oov_policy" "$@"

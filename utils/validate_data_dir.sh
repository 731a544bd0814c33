#!/usr/bin/env bash
# Usage: utils/validate_data_dir.sh [--no-feats] [--no-text] [--no-wav] <data-dir>
# Checks a data dir as Kaldi's utils/validate_data_dir.sh does: utt2spk and spk2utt agree,
# tables are sorted (LC_ALL=C) without duplicate keys, every per-utterance table (text,
# feats.scp, segments, utt2*) covers the same utterances, segments and wav.scp agree,
# cmvn.scp and spk2* cover the speakers. Exits 1 with the file and line of the first fault.
# Options:
#   --no-feats   feats.scp need not exist (it is checked if it does)
#   --no-text    text need not exist (it is checked if it does)
#   --no-wav     wav.scp need not exist (it is checked if it does)
set -euo pipefail
exec python -m sertl.bin.datadir validate_data_dir "$@"

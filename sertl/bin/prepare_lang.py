"""Make a lang dir from a Kaldi dict dir (utils/prepare_lang.sh).

Usage: python -m sertl.bin.prepare_lang [--remove-stress] [--oov-policy unk|skip]
           <dict-dir> <oov-word> <lang-dir>

Writes phones.txt, words.txt, oov.txt, oov_policy, lexicon.txt and phones/*.txt; see
sertl/align/lang.py for the format and the OOV policies.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sertl.align.lang import OOV_POLICIES, LangError, prepare_lang


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--remove-stress", action="store_true",
                        help="strip ARPAbet stress digits from the nonsilence phones")
    parser.add_argument("--oov-policy", choices=OOV_POLICIES, default="unk",
                        help="unk: missing words take the OOV word's pronunciation; "
                             "skip: utterances with missing words are left out")
    parser.add_argument("dict_dir", type=Path)
    parser.add_argument("oov_word")
    parser.add_argument("lang_dir", type=Path)
    args = parser.parse_args(argv)
    try:
        lang = prepare_lang(args.dict_dir, args.oov_word, args.lang_dir,
                            remove_stress=args.remove_stress, oov_policy=args.oov_policy)
    except (LangError, OSError) as e:
        print(f"prepare_lang: error: {e}", file=sys.stderr)
        return 1
    print(f"prepare_lang: {args.lang_dir}: {len(lang.phones) - 1} phones, "
          f"{len(lang.words) - 1} words, OOV word '{lang.oov}' ({lang.oov_policy})",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

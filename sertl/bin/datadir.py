"""Command line of the data-dir tools: ``python -m sertl.bin.datadir <tool> ARGS``.

The utils/*.sh wrappers (validate_data_dir.sh, fix_data_dir.sh, split_data.sh, ...) call
this with their own name as ``<tool>`` and take Kaldi's argument shapes. Expected errors
print one line, ``<tool>.sh: error: <message>``, and exit 1; so do bad arguments and
``--help`` (after the usage), as Kaldi's scripts do.
"""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Callable, NoReturn, Sequence

from sertl import datadir
from sertl.datadir import DataDirError
from sertl.io import TableError, c_sorted, read_table


class _Parser(argparse.ArgumentParser):
    """argparse that exits with status 1 for both usage errors and --help."""

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        sys.exit(1)


class _Formatter(logging.Formatter):
    """``<tool>: message``, with ``warning:`` before warnings."""

    def __init__(self, prog: str) -> None:
        super().__init__()
        self.prog = prog

    def format(self, record: logging.LogRecord) -> str:
        level = f"{record.levelname.lower()}: " if record.levelno >= logging.WARNING else ""
        return f"{self.prog}: {level}{record.getMessage()}"


def _positive_int(text: str) -> int:
    if not text.isdecimal() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got '{text}'")
    return int(text)


def _count(parser: argparse.ArgumentParser, text: str) -> int:
    """A positive integer argument parsed after argparse (usage error if it is not)."""
    try:
        return _positive_int(text)
    except argparse.ArgumentTypeError as e:
        parser.error(str(e))


def _print_table(table: dict[str, str]) -> None:
    for key in c_sorted(table):
        print(key, table[key])


def _validate(args: argparse.Namespace) -> None:
    datadir.validate_data_dir(args.data_dir, no_feats=args.no_feats, no_text=args.no_text,
                              no_wav=args.no_wav)
    logging.getLogger(__name__).info("successfully validated data directory %s", args.data_dir)


def _fix(args: argparse.Namespace) -> None:
    datadir.fix_data_dir(args.data_dir)


def _utt2spk_to_spk2utt(args: argparse.Namespace) -> None:
    spk2utt = datadir.utt2spk_to_spk2utt(read_table(args.utt2spk))
    _print_table({spk: " ".join(utts) for spk, utts in spk2utt.items()})


def _spk2utt_to_utt2spk(args: argparse.Namespace) -> None:
    _print_table(datadir.spk2utt_to_utt2spk(datadir.read_spk2utt(args.spk2utt)))


def _split(args: argparse.Namespace) -> None:
    datadir.split_data_dir(args.data_dir, args.num_to_split)


def _subset(args: argparse.Namespace) -> None:
    """Bring Kaldi's forms (``<src> <N> <dest>``, ``--per-spk <src> <N> <dest>``) and the
    option forms (``--first N``, ``--per-spk N``, ``--utt-list F``, ``--spk-list F`` with
    ``<src> <dest>``) to one subset_data_dir call."""
    per_spk, dirs = args.per_spk, args.dirs
    if per_spk and not per_spk.isdecimal() and len(dirs) == 2:  # --per-spk <src> <N> <dest>
        per_spk, dirs = dirs[0], [per_spk, dirs[1]]
    selectors = {"utt_list": args.utt_list, "spk_list": args.spk_list, "first": args.first,
                 "per_spk": None if per_spk is None else _count(args.parser, per_spk)}
    chosen = {name: value for name, value in selectors.items() if value is not None}
    if len(dirs) == 3 and not chosen:
        chosen, dirs = {"first": _count(args.parser, dirs[1])}, [dirs[0], dirs[2]]
    if len(dirs) != 2 or not chosen:
        args.parser.error("expected <src> <N> <dest>, --per-spk <src> <N> <dest>, or one of "
                          "--utt-list/--spk-list/--first/--per-spk with <src> <dest>")
    datadir.subset_data_dir(dirs[0], dirs[1], **chosen)


def _combine(args: argparse.Namespace) -> None:
    datadir.combine_data_dirs(args.dest, args.srcs)


def _copy(args: argparse.Namespace) -> None:
    datadir.copy_data_dir(args.src, args.dest, utt_prefix=args.utt_prefix,
                          spk_prefix=args.spk_prefix, utt_suffix=args.utt_suffix,
                          spk_suffix=args.spk_suffix)


def _get_utt2dur(args: argparse.Namespace) -> None:
    # Imported here so that the other tools do not load the audio stack.
    from sertl.audio import AudioError, recording_duration
    if datadir.utt2dur_is_complete(args.data_dir):
        logging.getLogger(__name__).info("%s/utt2dur is already complete; not recomputed",
                                         args.data_dir)
        return
    try:
        datadir.compute_utt2dur(args.data_dir, recording_duration)
    except AudioError as e:
        raise DataDirError(f"{args.data_dir}: {e}") from e


def _build_parser() -> _Parser:
    parser = _Parser(prog="python -m sertl.bin.datadir", description=__doc__)
    tools = parser.add_subparsers(dest="tool", required=True, metavar="<tool>")

    def tool(name: str, run: Callable[[argparse.Namespace], None], description: str,
             usage: str | None = None) -> _Parser:
        sub = tools.add_parser(name, prog=f"{name}.sh", help=description,
                               description=description, usage=usage)
        sub.set_defaults(run=run, prog=f"{name}.sh", parser=sub)
        return sub

    sub = tool("validate_data_dir", _validate, "Check a data dir as Kaldi's "
               "validate_data_dir.sh does; --no-X: X need not exist (checked if it does).")
    sub.add_argument("--no-feats", action="store_true")
    sub.add_argument("--no-text", action="store_true")
    sub.add_argument("--no-wav", action="store_true")
    sub.add_argument("data_dir", metavar="<data-dir>")

    sub = tool("fix_data_dir", _fix, "Sort a data dir's files and drop inconsistent "
               "entries in place; originals go to <data-dir>/.backup.")
    sub.add_argument("data_dir", metavar="<data-dir>")

    sub = tool("utt2spk_to_spk2utt", _utt2spk_to_spk2utt, "Print spk2utt made from utt2spk "
               "(a file, or stdin).")
    sub.add_argument("utt2spk", metavar="<utt2spk>", nargs="?", default="/dev/stdin")

    sub = tool("spk2utt_to_utt2spk", _spk2utt_to_utt2spk, "Print utt2spk made from spk2utt "
               "(a file, or stdin).")
    sub.add_argument("spk2utt", metavar="<spk2utt>", nargs="?", default="/dev/stdin")

    sub = tool("split_data", _split, "Split a data dir by speaker into "
               "<data-dir>/split<N>/1..N (reused while newer than the data dir's files).")
    sub.add_argument("data_dir", metavar="<data-dir>")
    sub.add_argument("num_to_split", metavar="<num-to-split>", type=_positive_int)

    sub = tool("subset_data_dir", _subset, "Write part of a data dir: the first N "
               "utterances (<src> <N> <dest> or --first N), N per speaker (--per-spk), or "
               "those in an utterance or speaker list.",
               usage="%(prog)s [--per-spk] <src> <N> <dest>\n       %(prog)s [--first N | "
                     "--per-spk N | --utt-list FILE | --spk-list FILE] <src> <dest>")
    group = sub.add_mutually_exclusive_group()
    group.add_argument("--utt-list", metavar="FILE")
    group.add_argument("--spk-list", metavar="FILE")
    group.add_argument("--first", metavar="N", type=_positive_int)
    group.add_argument("--per-spk", metavar="N", nargs="?", const="",
                       help="N utterances per speaker; Kaldi form: --per-spk <src> <N> <dest>")
    sub.add_argument("dirs", metavar="<src> [<N>] <dest>", nargs="+", help=argparse.SUPPRESS)

    sub = tool("combine_data", _combine, "Write the union of data dirs; tables missing "
               "from some sources are left out with a warning.")
    sub.add_argument("dest", metavar="<dest-data>")
    sub.add_argument("srcs", metavar="<src-data>", nargs="+")

    sub = tool("copy_data_dir", _copy, "Copy a data dir, adding prefixes or suffixes to "
               "utterance and speaker ids.")
    for option in ("--utt-prefix", "--spk-prefix", "--utt-suffix", "--spk-suffix"):
        sub.add_argument(option, default="", metavar="STRING")
    sub.add_argument("src", metavar="<src>")
    sub.add_argument("dest", metavar="<dest>")

    sub = tool("get_utt2dur", _get_utt2dur, "Write <data-dir>/utt2dur from segments or "
               "from the audio in wav.scp (kept if already complete).")
    sub.add_argument("data_dir", metavar="<data-dir>")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(args.prog))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    try:
        args.run(args)
    except (DataDirError, TableError, OSError) as e:
        print(f"{args.prog}: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Command line: python -m kit doctor | prepare | book."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    doctor = commands.add_parser("doctor", help="report versions, threads, quantization engines and data")
    doctor.add_argument("--brief", action="store_true", help="print only problems and the summary")
    prep = commands.add_parser("prepare", help="train (or check) the checkpoints the chapters start from")
    prep.add_argument("--quick", action="store_true", help="the small, fast variants the tests use")
    prep.add_argument("--force", action="store_true",
                      help="retrain even when a checkpoint is stored (the old one is kept as *.previous)")
    prep.add_argument("--data", help="train on this data instead of the embedded default (e.g. wikitext-2, mrpc)")
    prep.add_argument("names", nargs="*", help="checkpoints to prepare (default: all)")
    book = commands.add_parser("book", help="execute the chapters and build the documentation site")
    book.add_argument("--quick", action="store_true", help="run the chapters with QUICK=True (small, fast)")
    book.add_argument("chapters", nargs="*", help="chapter prefixes to run, e.g. 01 (default: all)")
    args = parser.parse_args(argv)

    if args.command == "doctor":
        from kit.doctor import report

        return report(brief=args.brief)
    if args.command == "prepare":
        from kit.prepare import prepare

        return prepare(args.names, quick=args.quick, force=args.force, data=args.data)
    from kit.book import ChapterFailed, build_book

    try:
        build_book(quick=args.quick, names=args.chapters)
    except (ChapterFailed, FileNotFoundError, ValueError) as error:
        print(f"book: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

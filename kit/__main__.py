"""Command line: python -m kit doctor | prepare | book | bundle."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Run one command; Ctrl-C ends it with one line (training has saved its state) and exit status 130."""
    try:
        return _run(argv)
    except KeyboardInterrupt as interrupt:
        print(f"\nstopped: {interrupt or 'interrupted'}", file=sys.stderr)
        return 130


def _run(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    doctor = commands.add_parser("doctor", help="report versions, threads, quantization engines and data")
    doctor.add_argument("--brief", action="store_true", help="print only problems and the summary")
    prep = commands.add_parser("prepare", help="train (or check) the checkpoints the chapters start from")
    prep.add_argument("--quick", action="store_true", help="the small, fast variants the tests use")
    prep.add_argument("--force", action="store_true",
                      help="retrain even when a checkpoint is stored (the old one is kept as *.previous)")
    prep.add_argument("--data", help="train on this data instead of the embedded default (e.g. wikitext-2, mrpc)")
    prep.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                      help="a recipe option (e.g. seed=7 for cnn-grid, chapter 8's grid at another SEED); "
                           "repeatable")
    prep.add_argument("names", nargs="*", help="checkpoints to prepare (default: all)")
    book = commands.add_parser("book", help="execute the chapters and build the documentation site")
    book.add_argument("--quick", action="store_true", help="run the chapters with QUICK=True (small, fast)")
    book.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                      help="set a chapter parameter (e.g. SEED=7, TARGET_SPARSITY=0.8); repeatable. It goes to the "
                           "chapters that define it; a name no selected chapter defines is an error")
    book.add_argument("chapters", nargs="*", help="chapter prefixes to run, e.g. 01 (default: all)")
    bundle = commands.add_parser("bundle", help="write an offline workshop folder: the course, a wheelhouse of "
                                                 "every package it installs, the prepared data dir, a README")
    bundle.add_argument("dest", nargs="?", help="the folder to write, which must not exist or be empty "
                                                "(default: build/bundle/compression-kit-workshop in the checkout)")
    bundle.add_argument("--no-train", action="store_true",
                        help="do not train missing checkpoints: fail naming them instead")
    args = parser.parse_args(argv)

    if args.command == "doctor":
        from kit.doctor import report

        return report(brief=args.brief)
    if args.command == "prepare":
        from kit.chapters import parse_assignment
        from kit.parameters import ParameterError
        from kit.prepare import prepare

        try:
            options = dict(parse_assignment(text, flag="--option", example="seed=7") for text in args.option)
        except ParameterError as error:
            print(f"prepare: {error}", file=sys.stderr)
            return 2
        return prepare(args.names, quick=args.quick, force=args.force, data=args.data, options=options)
    if args.command == "bundle":
        from kit.bundle import BundleError, build_bundle, default_destination

        try:
            build_bundle(args.dest or default_destination(), prepare=not args.no_train)
        except BundleError as error:
            print(f"bundle: {error}", file=sys.stderr)
            return 1
        return 0
    from kit.book import build_book
    from kit.chapters import parse_assignment
    from kit.parameters import ParameterError

    try:
        parameters = dict(parse_assignment(text) for text in args.param)
        book = build_book(quick=args.quick, names=args.chapters, parameters=parameters)
    except (ParameterError, FileNotFoundError, ValueError) as error:
        print(f"book: {error}", file=sys.stderr)
        return 2
    if not book.ok:
        failed = [r.chapter.name for r in book.results if not r.ok]
        what = f"{len(failed)} chapter(s) failed: {', '.join(failed)}" if failed else "the site was not built"
        print(f"book: {what} (see the table above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

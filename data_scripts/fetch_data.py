"""Fetch the real datasets and weights into the data dir (run on a connected machine).

    python data_scripts/fetch_data.py wikitext-2 mrpc mnist fashion-mnist bert-base-uncased
    python data_scripts/fetch_data.py all --mirror http://classroom-server:8000/   # a local mirror

Every file is checked against its published checksum and written atomically; an interrupted
download resumes when the command is run again. The chapters then switch to the real data by one
parameter (e.g. CORPUS = "wikitext-2", PAIRS = "mrpc", IMAGES = "fashion-mnist").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kit.data.fetch import FetchError  # noqa: E402
from kit.data.sources import BERT_REPO, DATASETS, fetch_dataset, fetch_hf_model  # noqa: E402

BERT = "bert-base-uncased"
CHOICES = [*DATASETS, BERT]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="+", choices=[*CHOICES, "all"], metavar="NAME",
                        help=f"one or more of: {', '.join(CHOICES)}, all")
    parser.add_argument("--mirror", help="base address serving the same file names (datasets only)")
    parser.add_argument("--hf-endpoint", help="a Hugging Face mirror for bert-base-uncased")
    parser.add_argument("--data-dir", type=Path, help="where to put them (default: $KIT_DATA_DIR or ./data)")
    args = parser.parse_args(argv)
    names = CHOICES if "all" in args.names else list(dict.fromkeys(args.names))
    failed = 0
    for name in names:
        try:
            if name == BERT:
                folder = fetch_hf_model(BERT_REPO, endpoint=args.hf_endpoint, root=args.data_dir)
            else:
                folder = fetch_dataset(name, mirror=args.mirror, root=args.data_dir)
        except FetchError as error:
            print(f"[failed] {name}: {error}", file=sys.stderr)
            failed += 1
            continue
        print(f"[ok] {name} -> {folder}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

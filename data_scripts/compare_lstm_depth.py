"""Does the PyTorch LSTM tutorial's 5-layer stack learn in the budget chapter 3's 2-layer checkpoint gets?

    python data_scripts/compare_lstm_depth.py                 # the chapter's full budget (5 epochs each)
    python data_scripts/compare_lstm_depth.py --epochs 1      # a shorter, cheaper comparison

Trains the chapter's LSTM language model twice from the same seed, with the recipe's settings, changing only
the depth and the dropout (5 layers / 0.5 as in the tutorial, 2 layers / 0.2 as in the chapter), and records
the validation loss and training time of each in benchmarks/results/lstm_depth.json, which chapter 3 prints.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kit.data.corpus import load_corpus  # noqa: E402
from kit.files import atomic_write  # noqa: E402
from kit.measure import cpu_description  # noqa: E402
from kit.models.lstm_lm import LSTMModel  # noqa: E402
from kit.recipes import LSTMRecipe  # noqa: E402
from kit.train import precision  # noqa: E402
from kit.train.language_model import evaluate_language_model, train_language_model  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "lstm_depth.json"
DEPTHS = ((5, 0.5), (2, 0.2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=float, default=None, help="epochs per model (default: the recipe's)")
    parser.add_argument("--corpus", default="bbc", choices=("bbc", "wikitext-2"))
    args = parser.parse_args()
    import torch

    config = LSTMRecipe().config(False, args.corpus)
    epochs = args.epochs if args.epochs is not None else config["epochs"]
    if not epochs or epochs <= 0:
        parser.error(f"--epochs must be a positive number, got {epochs}")
    corpus = load_corpus(args.corpus)
    used = precision.resolve(config["precision"])   # the checkpoint's own: bf16 decoder where native
    runs = []
    for nlayers, dropout in DEPTHS:
        torch.manual_seed(config["seed"])
        model = LSTMModel(config["ntoken"], config["ninp"], config["nhid"], nlayers, dropout)
        history = train_language_model(model, corpus.train, epochs=epochs, batch_size=config["batch_size"],
                                       bptt=config["bptt"], lr=config["lr"], clip=config["clip"],
                                       precision=used, desc=f"{nlayers} layers")
        loss = evaluate_language_model(model, corpus.valid, max_tokens=config["valid_tokens"])
        runs.append({"nlayers": nlayers, "dropout": dropout, "valid_loss": loss, "seconds": history.seconds})
        print(f"{nlayers} layers, dropout {dropout}: validation loss {loss:.3f} nats after {history.seconds:.0f} s")
    command = "python data_scripts/compare_lstm_depth.py" + (f" --epochs {args.epochs:g}" if args.epochs else "")
    record = {"command": command, "date": datetime.date.today().isoformat(), "cpu": cpu_description(),
              "threads": torch.get_num_threads(), "corpus": args.corpus,
              "budget": f"{epochs:g} epoch(s) each, batch {config['batch_size']}, bptt {config['bptt']}",
              "train_precision": used,
              "runs": runs}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(OUT, json.dumps(record, indent=1) + "\n")
    print(f"recorded: {OUT}")


if __name__ == "__main__":
    main()

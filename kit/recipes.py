"""How each trained checkpoint the chapters start from is made: data, model, budget, metrics.

A recipe turns (quick, data, options) into a plain-JSON config, builds the untrained model,
trains it and measures it. ``kit.checkpoints`` stores the result and decides when to reuse it. A recipe made
from other stored checkpoints (a student from its teacher) declares them in ``upstream``; the store ensures
them and hands them over, so recipes never call the store.
The first book's training on 2 cores (README's checkpoint table): the CNN grid about 16 min (two worker
processes), the LSTM LM about 12 min, the BERT fine-tune, its students and the decoder 5-7 min each, the CNNs
under a minute; every quick variant under a minute.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from kit.errors import CheckpointMissing, WeightsMismatch
from kit.train import precision
from kit.train.resume import ResumeFile

if TYPE_CHECKING:
    from kit.checkpoints import Checkpoint

Config = dict[str, Any]
Upstream = dict[str, "Checkpoint"]  # role ("teacher") -> the loaded checkpoint the store hands over


@dataclass(frozen=True)
class Trained:
    metrics: dict[str, float]
    losses: list[float]
    seconds: float


@dataclass(frozen=True)
class UpstreamSpec:
    """A stored checkpoint another one is made from: the arguments of kit.checkpoints.ensure that find it."""

    name: str
    quick: bool = False
    data: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


class Recipe:
    """One checkpoint family. Subclasses define the four steps."""

    name: str
    description: str
    data_choices: tuple[str, ...]
    option_names: tuple[str, ...] = ()

    @property
    def default_data(self) -> str:
        return self.data_choices[0]

    def config(self, quick: bool, data: str, **options: Any) -> Config:
        raise NotImplementedError

    def variant(self, **options: Any) -> str:
        """A folder-name suffix for non-default options (so variants never share a folder); '' by default."""
        return ""

    def fingerprint(self, config: Config) -> str:
        """A short digest of the data (the store folds in the checksums of the upstream checkpoints)."""
        raise NotImplementedError

    def upstream(self, config: Config) -> dict[str, UpstreamSpec]:
        """The stored checkpoints this one is made from, by role (e.g. its teacher); none by default.

        The store verifies them, folds each one's manifest checksum into the fingerprint (so a retrained
        teacher makes its students out of date), ensures them before training, and passes them to `build`
        and `train` as `upstream` (role -> Checkpoint); recipes without any are called without it. Loading a
        stored checkpoint needs none of them: such a recipe overrides `load` so that it does not call `build`.
        """
        return {}

    def stale_because(self, config: Config) -> str:
        """How a checkpoint whose fingerprint differs was made, for the error message."""
        names = " or ".join(spec.name for spec in self.upstream(config).values())
        if names:
            return (f"from another {names} checkpoint than the one stored now (it was retrained), or on "
                    f"other data than the {config['data']} data here")
        return f"on different data than the {config['data']} data here"

    def handed(self, upstream: Upstream | None, role: str, config: Config) -> Checkpoint:
        """The upstream checkpoint `role` that the store passed to build/train; CheckpointMissing without it."""
        if upstream and role in upstream:
            return upstream[role]
        spec = self.upstream(config)[role]
        raise CheckpointMissing(f"{self.name} is made from the {spec.name} checkpoint, which the store hands to "
                                f"it: train it with kit.checkpoints.ensure({self.name!r}) (python -m kit prepare "
                                f"{self.name}), not by calling the recipe's build or train alone")

    def build(self, config: Config, upstream: Upstream | None = None) -> tuple[nn.Module, Any]:
        """The untrained model and what goes with it (a tokenizer, or None)."""
        raise NotImplementedError

    def train(self, model: nn.Module, extra: Any, config: Config, resume: ResumeFile | None = None,
              upstream: Upstream | None = None) -> Trained:
        """Train `model` (continuing from `resume` when it holds a saved state) and measure it."""
        raise NotImplementedError

    def ready_made(self, **options: Any) -> bool:
        """True when these options name a model that needs no training (e.g. a folder already fine-tuned)."""
        return False

    def headline(self, metrics: dict[str, float]) -> str:
        return ", ".join(f"{k} {v:.4g}" for k, v in metrics.items())

    def save(self, model: nn.Module, extra: Any, folder: Path) -> None:
        """Write the weights into `folder` (safetensors)."""
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, folder / "model.safetensors")

    def load(self, folder: Path, config: Config) -> tuple[nn.Module, Any]:
        """Rebuild the model from `config` and load the saved weights; returns (model, extra)."""
        from safetensors.torch import load_file

        model, extra = self.build(config)
        state = load_file(folder / "model.safetensors")
        check_shapes(model, state, folder / "model.safetensors")
        model.load_state_dict(state)
        model.eval()
        return model, extra


def check_shapes(model: nn.Module, state: dict[str, torch.Tensor], path: Path) -> None:
    """Raise WeightsMismatch naming the first tensor that is missing, unexpected or of the wrong shape."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in state.items()}
    missing = [k for k in expected if k not in found]  # in the model's own order, so the message is stable
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise WeightsMismatch(f"{path} has no tensor {missing[0]!r}{more}: is it a checkpoint of another model?")
    unexpected = [k for k in found if k not in expected]
    if unexpected:
        raise WeightsMismatch(f"{path} has a tensor {unexpected[0]!r} that {type(model).__name__} does not")
    for key, shape in expected.items():
        if found[key] != shape:
            raise WeightsMismatch(
                f"{path}: {key} has shape {list(found[key])}, {type(model).__name__} needs {list(shape)}"
            )


# --- LeNet on Fashion-MNIST -----------------------------------------------------------------------
@cache
def _images(name: str):
    from kit.data.images import load_images

    return load_images(name)


class LeNetRecipe(Recipe):
    name = "lenet-fashion"
    description = "LeNet-5 trained on Fashion-MNIST images (chapter 2)"
    data_choices = ("fashion-embedded", "fashion-mnist", "mnist")

    def config(self, quick: bool, data: str, **options: Any) -> Config:
        return {"data": data, "seed": 0, "batch_size": 64, "lr": 1e-3,
                "train_images": 2000 if quick else None, "held_out": "stratified validation",
                "steps": 120 if quick else 2400}

    def fingerprint(self, config: Config) -> str:
        d = _images(config["data"])
        digest = hashlib.sha256()
        for t in (d.fit_images, d.fit_labels, d.valid_labels, d.test_images, d.test_labels):   # the split too
            digest.update(t.numpy().tobytes())
        return digest.hexdigest()[:16]

    def build(self, config: Config) -> tuple[nn.Module, Any]:
        from kit.models.lenet import LeNet

        return LeNet(len(_images(config["data"]).classes)), None

    def train(self, model: nn.Module, extra: Any, config: Config, resume: ResumeFile | None = None) -> Trained:
        from kit.train.classify import classification_metrics, fit_classifier

        d = _images(config["data"])
        n = config["train_images"] or len(d.fit_labels)  # the validation images stay held out
        per_epoch = -(-n // config["batch_size"])
        history = fit_classifier(model, d.fit_images[:n], d.fit_labels[:n], epochs=config["steps"] / per_epoch,
                                 batch_size=config["batch_size"], lr=config["lr"], seed=config["seed"],
                                 desc="training LeNet", resume=resume)
        m = classification_metrics(model, d.test_images, d.test_labels)
        return Trained({"test_accuracy": m["accuracy"], "test_f1_macro": m["f1_macro"]}, history.losses,
                       history.seconds)

    def headline(self, metrics: dict[str, float]) -> str:
        return f"test accuracy {metrics['test_accuracy']:.2%}"


# --- small CNN with BatchNorm (chapters 5, 6, 8) ------------------------------------------------------
class CNNRecipe(Recipe):
    name = "cnn-fashion"
    description = "small CNN with BatchNorm trained on Fashion-MNIST images (chapters 5, 6 and 8)"
    data_choices = ("fashion-embedded", "fashion-mnist", "mnist")

    def config(self, quick: bool, data: str, **options: Any) -> Config:
        from kit.models.cnn import DEFAULT_WIDTHS

        return {"data": data, "seed": 0, "widths": list(DEFAULT_WIDTHS), "batch_size": 64, "lr": 2e-3,
                "weight_decay": 1e-4, "warmup": 0.1, "train_images": 2000 if quick else None,
                "held_out": "stratified validation", "epochs": 3 if quick else 6,
                "train_memory_format": "contiguous" if quick else "channels_last",
                "precision": precision.WHERE_NATIVE}

    def fingerprint(self, config: Config) -> str:
        return LeNetRecipe().fingerprint(config)

    def build(self, config: Config) -> tuple[nn.Module, Any]:
        from kit.models.cnn import SmallCNN

        return SmallCNN(len(_images(config["data"]).classes), widths=tuple(config["widths"])), None

    def train(self, model: nn.Module, extra: Any, config: Config, resume: ResumeFile | None = None) -> Trained:
        from kit.compression_grid import training_layout
        from kit.train.classify import classification_metrics, fit_classifier

        d = _images(config["data"])
        n = config["train_images"] or len(d.fit_labels)  # the validation images stay held out
        model.to(memory_format=training_layout(config))
        history = fit_classifier(model, d.fit_images[:n], d.fit_labels[:n], epochs=config["epochs"],
                                 batch_size=config["batch_size"], lr=config["lr"], seed=config["seed"],
                                 warmup=config["warmup"], weight_decay=config["weight_decay"],
                                 desc="training the CNN", resume=resume,
                                 precision=precision.resolve(config["precision"]))
        model.to(memory_format=torch.contiguous_format)
        valid = classification_metrics(model, d.valid_images, d.valid_labels)
        test = classification_metrics(model, d.test_images, d.test_labels)
        return Trained({"valid_accuracy": valid["accuracy"], "test_accuracy": test["accuracy"],
                        "test_f1_macro": test["f1_macro"]}, history.losses, history.seconds)

    def headline(self, metrics: dict[str, float]) -> str:
        return f"validation accuracy {metrics['valid_accuracy']:.2%}, test accuracy {metrics['test_accuracy']:.2%}"


# --- chapter 6a's teacher: the same CNN, trained on the labelled fraction of the images only ------------------
class FewLabelTeacherRecipe(Recipe):
    """Chapter 5's CNN trained only on the images that keep their label in chapter 6a (kit.distillation.
    labelled_subset), with the full teacher's recipe and number of steps: a teacher that never saw the labels
    the chapter hides."""

    name = "cnn-few-labels"
    description = ("small CNN with BatchNorm trained on the labelled fraction of the training images only, the "
                   "few-label teacher of chapter 6a")
    data_choices = ("fashion-embedded", "fashion-mnist", "mnist")
    option_names = ("fraction",)
    DEFAULT_FRACTION = 0.1

    def config(self, quick: bool, data: str, **options: Any) -> Config:
        fraction = options.get("fraction", self.DEFAULT_FRACTION)
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
            raise ValueError(f"the labelled fraction is a number strictly between 0 and 1, got {fraction!r}")
        full = CNNRecipe().config(quick, data)
        n = full["train_images"] or len(_images(data).fit_labels)
        steps = full["epochs"] * -(-n // full["batch_size"])   # as many updates as the full teacher's
        return {**{k: v for k, v in full.items() if k not in ("epochs", "train_images")},
                "fraction": float(fraction), "subset_seed": 0, "steps": steps}

    def variant(self, **options: Any) -> str:
        fraction = float(options.get("fraction", self.DEFAULT_FRACTION))
        return "" if fraction == self.DEFAULT_FRACTION else f"fraction{fraction:g}"

    def fingerprint(self, config: Config) -> str:
        return LeNetRecipe().fingerprint(config)

    def build(self, config: Config) -> tuple[nn.Module, Any]:
        return CNNRecipe().build(config)

    def train(self, model: nn.Module, extra: Any, config: Config, resume: ResumeFile | None = None) -> Trained:
        from kit.compression_grid import training_layout
        from kit.distillation import labelled_subset
        from kit.train.classify import classification_metrics, fit_classifier

        d = _images(config["data"])
        labelled = labelled_subset(d.fit_labels, config["fraction"], config["subset_seed"])
        per_epoch = -(-len(labelled) // config["batch_size"])
        model.to(memory_format=training_layout(config))
        history = fit_classifier(model, d.fit_images[labelled], d.fit_labels[labelled],
                                 epochs=config["steps"] / per_epoch, batch_size=config["batch_size"], lr=config["lr"],
                                 seed=config["seed"], warmup=config["warmup"], weight_decay=config["weight_decay"],
                                 desc="training the few-label teacher", resume=resume,
                                 precision=precision.resolve(config["precision"]))
        model.to(memory_format=torch.contiguous_format)
        valid = classification_metrics(model, d.valid_images, d.valid_labels)
        test = classification_metrics(model, d.test_images, d.test_labels)
        return Trained({"labelled_images": float(len(labelled)), "valid_accuracy": valid["accuracy"],
                        "test_accuracy": test["accuracy"], "test_f1_macro": test["f1_macro"]}, history.losses,
                       history.seconds)

    def headline(self, metrics: dict[str, float]) -> str:
        return (f"trained on {metrics['labelled_images']:.0f} labelled images: validation accuracy "
                f"{metrics['valid_accuracy']:.2%}, test accuracy {metrics['test_accuracy']:.2%}")


# --- LSTM word language model ---------------------------------------------------------------------
@cache
def _corpus(name: str):
    from kit.data.corpus import load_corpus

    return load_corpus(name)


class LSTMRecipe(Recipe):
    name = "lstm-lm"
    description = "LSTM word language model of the PyTorch dynamic quantization tutorial, 2 layers (chapter 3)"
    data_choices = ("bbc", "wikitext-2")

    def config(self, quick: bool, data: str, **options: Any) -> Config:
        # The PyTorch LSTM dynamic quantization tutorial stacks 5 LSTM layers; trained from scratch on 2 CPU
        # cores that stack stays on the unigram plateau (loss 6.5, perplexity 690 after 4 epochs / 20 min),
        # while 2 layers learn.
        # Five epochs at a constant 2e-3 reach perplexity 131. Where the CPU has bf16 the decoder trains in bf16
        # autocast and the recurrence stays FP32 (LSTMModel.forward): 0.85x the FP32 step, the same losses to
        # 3 decimals over 200 steps. With a bf16 recurrence too (0.77x the step), a 3-epoch run at 3e-3 stayed on
        # the unigram plateau (loss 6.7) for half its steps (perplexity 300); 4 epochs decaying linearly from 2e-3
        # in FP32 reached 164.7 (issue 27's measurements).
        return {"data": data, "seed": 0, "ntoken": len(_corpus(data).dictionary), "ninp": 512, "nhid": 256,
                "nlayers": 2, "dropout": 0.2, "batch_size": 32 if quick else 64, "bptt": 35, "lr": 2e-3,
                "clip": 0.25, "epochs": None if quick else 5, "steps": 60 if quick else None,
                "valid_tokens": 20_000 if quick else None, "precision": precision.WHERE_NATIVE}

    def fingerprint(self, config: Config) -> str:
        return _corpus(config["data"]).fingerprint()

    def build(self, config: Config) -> tuple[nn.Module, Any]:
        from kit.models.lstm_lm import LSTMModel

        model = LSTMModel(config["ntoken"], config["ninp"], config["nhid"], config["nlayers"], config["dropout"])
        return model, None

    def train(self, model: nn.Module, extra: Any, config: Config, resume: ResumeFile | None = None) -> Trained:
        from kit.train.language_model import evaluate_language_model, perplexity, train_language_model

        corpus = _corpus(config["data"])
        epochs = config["epochs"]
        if epochs is None:  # quick: a fixed number of steps
            steps_per_epoch = (len(corpus.train) // config["batch_size"]) // config["bptt"]
            epochs = config["steps"] / steps_per_epoch
        history = train_language_model(model, corpus.train, epochs=epochs, batch_size=config["batch_size"],
                                       bptt=config["bptt"], lr=config["lr"], clip=config["clip"],
                                       desc="training LSTM LM", resume=resume,
                                       precision=precision.resolve(config["precision"]))
        loss = evaluate_language_model(model, corpus.valid, max_tokens=config["valid_tokens"])
        return Trained({"valid_loss": loss, "valid_perplexity": perplexity(loss)}, history.losses, history.seconds)

    def headline(self, metrics: dict[str, float]) -> str:
        return f"valid perplexity {metrics['valid_perplexity']:.1f} (loss {metrics['valid_loss']:.3f} nats)"


# --- a small decoder-only transformer language model (chapter 9) --------------------------------------
class DecoderRecipe(Recipe):
    name = "decoder-lm"
    description = ("a 4-layer decoder-only transformer (RoPE, ReLU MLP, tied embeddings) on chapter 3's corpus "
                   "and vocabulary (chapter 9)")
    data_choices = ("bbc", "wikitext-2")

    def config(self, quick: bool, data: str, **options: Any) -> Config:
        # Full: 4 x 256 (5.7 M parameters, 3.1 M of them in the blocks' Linear weights), two epochs of 128-token
        # windows; quick: a narrower, shallower model for a few steps (the same code path, under a minute).
        return {"data": data, "seed": 0, "vocab": len(_corpus(data).dictionary), "width": 128 if quick else 256,
                "layers": 2 if quick else 4, "heads": 4, "context": 128, "batch_size": 16 if quick else 32, "lr": 1e-3,
                "weight_decay": 0.1, "warmup": 0.05, "clip": 1.0, "epochs": None if quick else 2,
                "steps": 45 if quick else None, "valid_tokens": 20_000 if quick else None,
                "precision": precision.WHERE_NATIVE}

    def fingerprint(self, config: Config) -> str:
        return _corpus(config["data"]).fingerprint()

    def build(self, config: Config) -> tuple[nn.Module, Any]:
        from kit.models.decoder_lm import DecoderLM

        return DecoderLM(config["vocab"], config["width"], config["layers"], config["heads"], config["context"]), None

    def train(self, model: nn.Module, extra: Any, config: Config, resume: ResumeFile | None = None) -> Trained:
        from kit.train.decoder import evaluate_decoder, perplexity, train_decoder

        corpus = _corpus(config["data"])
        history = train_decoder(model, corpus.train, context=config["context"], epochs=config["epochs"],
                                steps=config["steps"], batch_size=config["batch_size"], lr=config["lr"],
                                weight_decay=config["weight_decay"], warmup=config["warmup"], clip=config["clip"],
                                seed=config["seed"], desc="training the decoder", resume=resume,
                                precision=precision.resolve(config["precision"]))
        loss = evaluate_decoder(model, corpus.valid, context=config["context"], max_tokens=config["valid_tokens"])
        return Trained({"valid_loss": loss, "valid_perplexity": perplexity(loss)}, history.losses, history.seconds)

    def save(self, model: nn.Module, extra: Any, folder: Path) -> None:
        """safetensors refuses shared tensors: the tied head is stored once, as the embedding."""
        from safetensors.torch import save_file

        state = {k: v.contiguous() for k, v in model.state_dict().items() if k != "head.weight"}
        save_file(state, folder / "model.safetensors")

    def load(self, folder: Path, config: Config) -> tuple[nn.Module, Any]:
        from safetensors.torch import load_file

        model, extra = self.build(config)
        state = load_file(folder / "model.safetensors")
        state["head.weight"] = state.get("embed.weight", torch.empty(0))
        check_shapes(model, state, folder / "model.safetensors")
        model.load_state_dict(state)
        model.eval()
        return model, extra

    def headline(self, metrics: dict[str, float]) -> str:
        return f"valid perplexity {metrics['valid_perplexity']:.1f} (loss {metrics['valid_loss']:.3f} nats)"


# --- BERT-family model fine-tuned on sentence pairs ------------------------------------------------
class BertPairsRecipe(Recipe):
    name = "bert-pairs"
    description = "MiniLM (or a local BERT) fine-tuned on MRPC-format sentence pairs (chapter 4)"
    data_choices = ("verses", "mrpc")
    option_names = ("base",)

    def config(self, quick: bool, data: str, **options: Any) -> Config:
        from kit.models.bert import MINILM, model_folder

        base = options.get("base") or MINILM
        folder = model_folder(base)  # fail early, with the fix, when the base model is missing
        return {"data": data, "base": base if base == MINILM else str(folder.resolve()), "seed": 0,
                "max_length": 128, "batch_size": 16 if quick else 32, "lr": 1e-4 if base == MINILM else 2e-5,
                "epochs": 3, "train_pairs": 160 if quick else None, "eval_pairs": 200 if quick else None,
                "bucket": not quick, "precision": precision.WHERE_NATIVE}

    def variant(self, **options: Any) -> str:
        from kit.models.bert import MINILM

        base = options.get("base") or MINILM
        if str(base) == MINILM:
            return ""
        return re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(base).expanduser().resolve().name).strip("-.") or "local"

    def fingerprint(self, config: Config) -> str:
        from kit.data.pairs import checked_pair_file

        digest = hashlib.sha256()
        for split in ("train", "dev"):
            digest.update(checked_pair_file(config["data"], split).read_bytes())
        return digest.hexdigest()[:16]

    def build(self, config: Config) -> tuple[nn.Module, Any]:
        from kit.models.bert import load_pair_classifier

        return load_pair_classifier(config["base"])

    def train(self, model: nn.Module, tokenizer: Any, config: Config, resume: ResumeFile | None = None) -> Trained:
        from kit.data.pairs import load_pairs
        from kit.train.pairs import encode_pairs, evaluate_pairs, fine_tune_pairs

        train = load_pairs(config["data"], "train")[: config["train_pairs"]]
        dev = load_pairs(config["data"], "dev")[: config["eval_pairs"]]
        history = fine_tune_pairs(model, encode_pairs(tokenizer, train, config["max_length"]),
                                  epochs=config["epochs"], batch_size=config["batch_size"], lr=config["lr"],
                                  seed=config["seed"], desc="fine-tuning", resume=resume, bucket=config["bucket"],
                                  precision=precision.resolve(config["precision"]))
        m = evaluate_pairs(model, encode_pairs(tokenizer, dev, config["max_length"]))
        return Trained({"dev_f1": m["f1"], "dev_accuracy": m["accuracy"]}, history.losses, history.seconds)

    def ready_made(self, **options: Any) -> bool:
        from kit.models.bert import MINILM, is_pair_classifier

        return is_pair_classifier(options.get("base") or MINILM)

    def save(self, model: nn.Module, tokenizer: Any, folder: Path) -> None:
        from transformers.utils import logging as hf_logging

        # save_pretrained draws a "Writing model shards" bar; in a notebook it would stay behind as a stale widget.
        was_enabled = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            model.save_pretrained(folder)
            tokenizer.save_pretrained(folder)
        finally:
            if was_enabled:
                hf_logging.enable_progress_bar()

    def load(self, folder: Path, config: Config) -> tuple[nn.Module, Any]:
        from kit.models.bert import load_pair_classifier

        try:
            return load_pair_classifier(folder)
        except (RuntimeError, ValueError, OSError) as error:
            raise WeightsMismatch(f"{folder} does not load as a pair classifier: {error}") from None

    def headline(self, metrics: dict[str, float]) -> str:
        return f"dev F1 {metrics['dev_f1']:.4f}, accuracy {metrics['dev_accuracy']:.2%}"


# --- a smaller BERT distilled from the fine-tuned one ---------------------------------------------
class BertStudentRecipe(BertPairsRecipe):
    """Students of the fine-tuned MiniLM, each a copy of two of its layers: for every seed one distilled on the
    teacher's cached logits and one trained on the labels alone (alpha = 0), from the same initialisation, with
    the same batches, steps and schedule. The model is an nn.ModuleDict keyed by `member(way, seed)`."""

    name = "bert-student"
    description = ("2-layer students of chapter 4's fine-tuned MiniLM, initialised from its layers: distilled on its "
                   "cached logits and, as the control, trained on the labels alone, over several seeds (chapter 6)")
    option_names = ("base", "seed")
    WAYS = ("distilled", "labels only")

    @staticmethod
    def member(way: str, seed: int) -> str:
        """The key of one student in the checkpoint's ModuleDict, e.g. 'labels_only_seed0'."""
        return f"{way.replace(' ', '_')}_seed{seed}"

    def config(self, quick: bool, data: str, **options: Any) -> Config:
        seed = options.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"the students' first seed is a whole number >= 0, got {seed!r}")
        teacher = super().config(quick, data, base=options.get("base"))
        # Two of the teacher's six layers: at one thread a 3-layer student still takes about half the teacher's
        # time (the embeddings and the head do not shrink), two layers about a third. Both ways share one short
        # schedule (2 epochs) over batches of similar length, and keep the teacher's word embeddings frozen (11.7 M
        # of the student's 15.4 M parameters, most of the optimizer's work): six students in about 10 minutes.
        return {"data": data, "base": teacher["base"], "teacher": "bert-pairs", "quick": quick, "seed": seed,
                "seeds": [seed + i for i in range(1 if quick else 3)], "ways": list(self.WAYS),
                "max_length": teacher["max_length"], "layers": [0, 3], "temperature": 2.0, "alpha": 0.5,
                "batch_size": teacher["batch_size"], "lr": 2e-4, "epochs": 2, "bucket": True,
                "frozen": "word embeddings", "train_pairs": 320 if quick else None,
                "eval_pairs": teacher["eval_pairs"], "precision": teacher["precision"]}

    def variant(self, **options: Any) -> str:
        seed = options.get("seed", 0)
        return "-".join(part for part in (super().variant(**options), f"seed{seed}" if seed else "") if part)

    def upstream(self, config: Config) -> dict[str, UpstreamSpec]:
        """The fine-tuned teacher of the same data, mode and base model."""
        from kit.models.bert import MINILM

        options = {} if config["base"] == MINILM else {"base": config["base"]}
        return {"teacher": UpstreamSpec(config["teacher"], quick=config["quick"], data=config["data"],
                                        options=options)}

    def build(self, config: Config, upstream: Upstream | None = None) -> tuple[nn.Module, Any]:
        # The students are made from the teacher in train(), one per way and seed.
        return nn.ModuleDict(), self.handed(upstream, "teacher", config).tokenizer

    def _student(self, teacher: nn.Module, config: Config) -> nn.Module:
        from kit.models.bert import student_from_layers

        student = student_from_layers(teacher, config["layers"])
        student.get_input_embeddings().weight.requires_grad_(False)   # config["frozen"]
        return student

    def train(self, model: nn.Module, tokenizer: Any, config: Config, resume: ResumeFile | None = None,
              upstream: Upstream | None = None) -> Trained:
        from kit.data.pairs import load_pairs
        from kit.train.distill import distill_pairs
        from kit.train.pairs import encode_pairs, evaluate_pairs, pair_logits

        teacher = self.handed(upstream, "teacher", config).model
        train = encode_pairs(tokenizer, load_pairs(config["data"], "train")[: config["train_pairs"]],
                             config["max_length"])
        dev = encode_pairs(tokenizer, load_pairs(config["data"], "dev")[: config["eval_pairs"]], config["max_length"])
        start = time.perf_counter()
        logits = pair_logits(teacher, train, by_length=True)   # once: every student and every epoch reuses them
        saved = resume.load() if resume is not None else None
        done: dict[str, Any] = dict(saved["done"]) if saved else {}
        start -= float(saved.get("seconds", 0.0)) if saved else 0.0   # the time spent before an interruption
        metrics: dict[str, float] = {}
        losses: list[float] = []
        for seed in config["seeds"]:
            for way in config["ways"]:
                key = self.member(way, seed)
                student = self._student(teacher, config)
                if key in done:
                    student.load_state_dict({**student.state_dict(), **done[key]["state"]})
                    student.eval()
                    history_losses = done[key]["losses"]
                else:
                    own = (ResumeFile(resume.path.with_name(f"{resume.path.name}.{key}"), {**config, "member": key})
                           if resume is not None else None)
                    torch.manual_seed(seed)   # dropout
                    history = distill_pairs(student, train, logits, temperature=config["temperature"],
                                            alpha=config["alpha"] if way == "distilled" else 0.0,
                                            epochs=config["epochs"], batch_size=config["batch_size"], lr=config["lr"],
                                            seed=seed, desc=f"{way} student, seed {seed}", resume=own,
                                            bucket=config["bucket"], precision=precision.resolve(config["precision"]))
                    history_losses = history.losses
                    trained = {n: t for n, t in student.state_dict().items()
                               if n != self._frozen_name(student)}
                    done[key] = {"state": trained, "losses": history_losses}
                    if resume is not None:
                        resume.save({"done": done, "seconds": time.perf_counter() - start})
                        own.discard()
                m = evaluate_pairs(student, dev)
                metrics[f"{key}/dev_f1"], metrics[f"{key}/dev_accuracy"] = m["f1"], m["accuracy"]
                if not losses and way == "distilled":
                    losses = list(history_losses)
                model[key] = student
        return Trained(metrics, losses, time.perf_counter() - start)

    @staticmethod
    def _frozen_name(student: nn.Module) -> str:
        """The state-dict name of the word embeddings, which every student shares with the teacher (frozen)."""
        weight = student.get_input_embeddings().weight
        return next(n for n, p in student.named_parameters() if p is weight)

    def ready_made(self, **options: Any) -> bool:
        return False

    def save(self, model: nn.Module, tokenizer: Any, folder: Path) -> None:
        from safetensors.torch import save_file

        first = next(iter(model.values()))
        frozen = self._frozen_name(first)
        shared = first.state_dict()[frozen]
        tensors = {f"shared.{frozen}": shared.contiguous()}
        for key, student in model.items():
            for name, tensor in student.state_dict().items():
                if name == frozen and torch.equal(tensor, shared):
                    continue   # stored once for all students
                tensors[f"{key}.{name}"] = tensor.contiguous()
        save_file(tensors, folder / "model.safetensors")
        first.config.save_pretrained(folder)   # the 2-layer architecture, to rebuild the students without the teacher
        tokenizer.save_pretrained(folder)

    def load(self, folder: Path, config: Config) -> tuple[nn.Module, Any]:
        from safetensors.torch import load_file
        from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

        try:
            architecture = AutoConfig.from_pretrained(folder, local_files_only=True)
            tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            state = load_file(folder / "model.safetensors")
        except Exception as error:   # unreadable config, tokenizer or weights: the same way out
            raise WeightsMismatch(f"{folder} does not hold readable students ({type(error).__name__}: "
                                  f"{str(error)[:200]})") from None
        shared = {n[len("shared."):]: t for n, t in state.items() if n.startswith("shared.")}
        students = nn.ModuleDict()
        for seed in config["seeds"]:
            for way in config["ways"]:
                key = self.member(way, seed)
                own = {n[len(key) + 1:]: t for n, t in state.items() if n.startswith(key + ".")}
                if not own:
                    raise WeightsMismatch(f"{folder} has no weights for the student {key}")
                student = AutoModelForSequenceClassification.from_config(architecture)
                weights = {**shared, **own}
                check_shapes(student, weights, folder / "model.safetensors")
                student.load_state_dict(weights)
                students[key] = student.eval()
        return students, tokenizer

    def headline(self, metrics: dict[str, float]) -> str:
        def mean_f1(way: str) -> tuple[float, int]:
            values = [v for k, v in metrics.items() if k.startswith(way.replace(" ", "_") + "_seed")
                      and k.endswith("/dev_f1")]
            return sum(values) / len(values), len(values)

        (distilled, n), (labels, _) = mean_f1("distilled"), mean_f1("labels only")
        return f"mean dev F1 over {n} seed{'' if n == 1 else 's'}: distilled {distilled:.4f}, labels only {labels:.4f}"


# --- chapter 8's grid: the CNN pruned to several budgets, recovered several ways -----------------------
class CompressionGridRecipe(Recipe):
    name = "cnn-grid"
    description = ("chapter 5's CNN pruned to three MAC budgets and recovered five ways (labels, distillation, QAT, "
                   "from scratch at Scratch-E and Scratch-B), the dense model given the same recovery steps, "
                   "learning rates chosen on validation (chapter 8)")
    data_choices = ("fashion-embedded", "fashion-mnist", "mnist")
    option_names = ("seed",)
    GRID_FILE = "grid.json"

    def config(self, quick: bool, data: str, **options: Any) -> Config:
        seed = options.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"the grid's seed is a whole number >= 0, got {seed!r}")
        # The teacher is the full CNN in both modes (a pipeline that starts from a weak model teaches little);
        # quick mode scans fewer ratios, has two budgets, one learning rate, one seed, half the calibration batches,
        # and every training run scaled by the same factor (recovery 0.25 epoch instead of 3, Scratch-E half an
        # epoch instead of the teacher's 6).
        full_recovery = 3
        recovery = 0.25 if quick else full_recovery
        dense_epochs = CNNRecipe().config(False, data)["epochs"]   # the full teacher's training epochs
        return {"data": data, "seed": seed, "teacher": "cnn-fashion", "criterion": "bn-scale",
                "calibration_batches": 10 if quick else 20,
                "ratios": [0.5, 0.25] if quick else [0.75, 0.5, 0.375, 0.25, 0.125],
                "budgets": [0.5, 0.2] if quick else [0.5, 0.3, 0.15],
                "lrs": [3e-3] if quick else [1e-3, 3e-3], "seeds": [seed] if quick else [seed, seed + 1, seed + 2],
                "epochs": recovery, "dense_epochs": dense_epochs,
                "scratch_epochs": dense_epochs * recovery / full_recovery, "train_memory_format": "channels_last",
                "warmup": 0.05, "temperature": 4.0, "alpha": 0.5, "qat_freeze": 0.8, "engine": "x86", "quick": quick}

    def variant(self, **options: Any) -> str:
        seed = options.get("seed", 0)
        return "" if seed == 0 else f"seed{seed}"

    def upstream(self, config: Config) -> dict[str, UpstreamSpec]:
        """The full (never the quick) dense CNN of the same data."""
        return {"teacher": UpstreamSpec(config["teacher"], quick=False, data=config["data"])}

    def fingerprint(self, config: Config) -> str:
        return LeNetRecipe().fingerprint(config)

    def _teacher(self, config: Config) -> Any:
        """Reached only when train() is called without the teacher the store hands over: says how to train."""
        return self.handed(None, "teacher", config)

    def build(self, config: Config, upstream: Upstream | None = None) -> tuple[nn.Module, Any]:
        # The members' shapes come from the sensitivity scan, made in train(), which also fills in the description.
        return nn.ModuleDict(), {}

    def train(self, model: nn.Module, extra: Any, config: Config, resume: ResumeFile | None = None,
              upstream: Upstream | None = None) -> Trained:
        from kit.compression_grid import GridData, plan_shapes, train_grid
        from kit.grid_workers import pool_size, threads_per_model, train_members
        from kit.static_quantization import select_engine

        select_engine(config["engine"])
        d = _images(config["data"])
        teacher = upstream["teacher"] if upstream else self._teacher(config)
        data = GridData(teacher.model, d.fit_images, d.fit_labels, d.valid_images, d.valid_labels,
                        d.test_images, d.test_labels)
        start = time.perf_counter()
        saved = resume.load() if resume is not None else None
        done: dict[str, dict[str, Any]] = {}
        scan = None
        if saved is not None:
            start -= float(saved.get("seconds", 0.0))   # the time spent before an interruption
            scan = {"drops": {(int(b), float(r)): float(v) for b, r, v in saved["drops"]}, "keeps": saved["keeps"]}
            for key, entry in saved["done"].items():
                done[key] = {**entry, "model": self._member_model(key, entry["state"], scan["keeps"],
                                                                  teacher.model.widths, config, d)}
            print(f"resuming the grid: {len(done)} models already trained (saved in {resume.path})", flush=True)
        else:
            drops, keeps = plan_shapes(data, config)
            scan = {"drops": drops, "keeps": keeps}

        def keep_going(member, result) -> None:
            if resume is None:
                return
            resume.save({"seconds": time.perf_counter() - start,
                         "drops": [[b, r, v] for (b, r), v in scan["drops"].items()], "keeps": scan["keeps"],
                         "done": {k: {"state": r["model"].state_dict(), "valid": r["valid"], "test": r["test"]}
                                  for k, r in done.items()}})

        # QUICK's runs are too short for workers to pay for their start (36.5 s in this process, 39.5 s in two)
        workers = 1 if config["quick"] else pool_size()
        grid = train_grid(data, config, done, keep_going, scan=scan,
                          train_many=lambda *args: train_members(*args, workers=workers))
        # processes that trained at once, and the threads of each model (what training one again bit for bit needs)
        extra.update(workers=workers, threads_per_model=threads_per_model(workers))
        for key in [m["key"] for m in grid["members"]]:
            model[key] = done[key]["model"]
        extra.update(grid)
        metrics = {}
        for key in model:
            metrics[f"{key}/valid_accuracy"] = done[key]["valid"]
            metrics[f"{key}/test_accuracy"] = done[key]["test"]
        return Trained(metrics, [], time.perf_counter() - start)

    @staticmethod
    def _member_model(key: str, state: dict[str, torch.Tensor], keeps: list[list[int]], dense_widths: Any,
                      config: Config, images: Any) -> nn.Module:
        """A grid member's model (key b<budget>-... or dense-...) with `state` loaded."""
        from kit.compression_grid import member_model

        where = key.split("-")[0]
        if where == "dense":
            if dense_widths is None:
                raise WeightsMismatch(f"the grid model {key} is the dense model, but the grid has no dense widths")
            widths = list(dense_widths)
        else:
            widths = keeps[int(where[1:])]
        way = "qat" if "-qat-" in key else "float"
        return member_model(way, state, widths, len(images.classes), config["engine"])

    def save(self, model: nn.Module, extra: Any, folder: Path) -> None:
        import json

        from safetensors.torch import save_file

        floats = {k: m for k, m in model.items() if "-qat-" not in k}
        save_file({f"{k}.{n}": t.contiguous() for k, m in floats.items() for n, t in m.state_dict().items()},
                  folder / "model.safetensors")
        int8 = {k: m.state_dict() for k, m in model.items() if "-qat-" in k}
        torch.save(int8, folder / "qat_int8.pt")
        (folder / self.GRID_FILE).write_text(json.dumps(extra, indent=1) + "\n")

    def load(self, folder: Path, config: Config) -> tuple[nn.Module, Any]:
        import json

        from safetensors.torch import load_file

        from kit.static_quantization import select_engine

        select_engine(config["engine"])
        try:
            grid = json.loads((folder / self.GRID_FILE).read_text())
            state = load_file(folder / "model.safetensors")
            int8 = torch.load(folder / "qat_int8.pt", weights_only=True)
        except Exception as error:   # unreadable JSON, safetensors or pickle: the same way out
            raise WeightsMismatch(f"{folder} does not hold a readable grid ({type(error).__name__}: "
                                  f"{str(error)[:200]})") from None
        images = _images(config["data"])
        models = nn.ModuleDict()
        for member in grid["members"]:
            key = member["key"]
            if "-qat-" in key:
                own = int8.get(key)
            else:
                own = {n[len(key) + 1:]: t for n, t in state.items() if n.startswith(key + ".")}
            if not own:
                raise WeightsMismatch(f"{folder} has no weights for the grid model {key}")
            try:
                models[key] = self._member_model(key, own, grid["keeps"], grid.get("dense_widths"), config, images)
            except RuntimeError as error:
                raise WeightsMismatch(f"{folder}: the grid model {key} does not fit its shape ({error})") from None
        return models, grid

    def headline(self, metrics: dict[str, float]) -> str:
        models = {k.split("/")[0] for k in metrics}
        best = max(v for k, v in metrics.items() if k.endswith("/valid_accuracy"))
        return f"{len(models)} compressed models, best validation accuracy {best:.2%}"


RECIPES: dict[str, Recipe] = {r.name: r for r in (LeNetRecipe(), CNNRecipe(), LSTMRecipe(), DecoderRecipe(),
                                                  BertPairsRecipe(), BertStudentRecipe(), CompressionGridRecipe(),
                                                  FewLabelTeacherRecipe())}


def seeded(config: Config) -> None:
    """Seed torch before building and training, so the same config gives the same weights."""
    torch.manual_seed(config["seed"])

"""Chapter 8's grid of compressed CNNs: prune to a budget, recover four ways, trained once and cached.

From the dense CNN (the `cnn-fashion` checkpoint) and a sensitivity scan on validation images
(`kit.channel_allocation`), each MAC budget gets its per-block keep ratios. The slimmed model then recovers
with the same number of Adam steps, one of four ways:

- ``labels``: fine-tuned on the labels (cross-entropy);
- ``distill``: distilled from the dense teacher (`kd_loss` on its cached logits, Hinton et al., 2015);
- ``scratch``: the same shape from random weights, distilled — what pruning's inherited weights are worth
  (Liu et al., 2019, "Rethinking the Value of Network Pruning");
- ``qat``: distilled with fake quantization from the first step, then converted to int8.

Learning rates are chosen per budget and way on validation accuracy (first seed); labels and distill then
run on more seeds with their chosen rate. `train_grid` runs the plan in order and hands each finished model
to `on_done`, so an interrupted grid restarts after the last finished model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.ao.quantization import convert
from torch.ao.quantization.fake_quantize import disable_observer

from kit.channel_allocation import allocate, keep_counts, recalibrate_batchnorm, sensitivity_scan
from kit.channel_pruning import slimmed
from kit.models.cnn import SmallCNN
from kit.static_quantization import qat_ready

WAYS = ("labels", "distill", "scratch", "qat")
SEEDED_WAYS = ("labels", "distill")   # the ways compared over several seeds


@dataclass(frozen=True)
class Member:
    """One trained model of the grid."""

    budget: int     # index into the config's budgets
    way: str
    lr: float
    seed: int

    @property
    def key(self) -> str:
        """A name usable as a module name: b0-distill-lr0.001-s0 with the dot replaced."""
        return f"b{self.budget}-{self.way}-lr{self.lr:g}-s{self.seed}".replace(".", "_")


def selection_members(config: dict[str, Any]) -> list[Member]:
    """The first-seed runs that choose each (budget, way)'s learning rate."""
    first = config["seeds"][0]
    return [Member(b, way, lr, first) for b in range(len(config["budgets"])) for way in ("labels", "distill", "scratch")
            for lr in config["lrs"]]


def chosen_lr(config: dict[str, Any], valid: dict[str, float], budget: int, way: str) -> float:
    """The learning rate whose first-seed run of (budget, way) scored best on validation (ties: the first)."""
    first = config["seeds"][0]
    scores = [(valid[Member(budget, way, lr, first).key], -i, lr) for i, lr in enumerate(config["lrs"])]
    return max(scores)[2]


def later_members(config: dict[str, Any], valid: dict[str, float]) -> list[Member]:
    """The runs that follow the choice of learning rates: more seeds for labels and distill, then QAT."""
    out = []
    for b in range(len(config["budgets"])):
        for way in SEEDED_WAYS:
            out += [Member(b, way, chosen_lr(config, valid, b, way), s) for s in config["seeds"][1:]]
        out.append(Member(b, "qat", chosen_lr(config, valid, b, "distill"), config["seeds"][0]))
    return out


def recover(model: nn.Module, way: str, images: torch.Tensor, labels: torch.Tensor, teacher_logits: torch.Tensor,
            config: dict[str, Any], *, lr: float, seed: int, desc: str | None = None,
            on_step: Callable[[int, nn.Module], None] | None = None) -> None:
    """Train `model` in place the given way for the config's epochs (warm-up, then linear decay of lr)."""
    from kit.train.distill import fit_student

    if way == "labels":
        fit_student(model, images, labels, None, alpha=0.0, epochs=config["epochs"], lr=lr, seed=seed,
                    warmup=config["warmup"], desc=desc, on_step=on_step)
    else:
        fit_student(model, images, labels, teacher_logits, temperature=config["temperature"],
                    alpha=config["alpha"], epochs=config["epochs"], lr=lr, seed=seed, warmup=config["warmup"],
                    desc=desc, on_step=on_step)


@dataclass
class GridData:
    """What the grid trains and measures on."""

    teacher: SmallCNN
    fit_images: torch.Tensor
    fit_labels: torch.Tensor
    valid_images: torch.Tensor
    valid_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor

    def calibration(self, config: dict[str, Any]) -> list[torch.Tensor]:
        from kit.static_quantization import calibration_batches

        return calibration_batches(self.fit_images, config["calibration_batches"], seed=0)


def plan_shapes(data: GridData, config: dict[str, Any]) -> tuple[dict[tuple[int, float], float], list[list[int]]]:
    """The sensitivity scan (validation accuracy drops) and the channels each budget keeps per block."""
    drops = sensitivity_scan(data.teacher, config["ratios"], data.valid_images, data.valid_labels,
                             data.calibration(config), criterion=config["criterion"])
    widths = data.teacher.widths
    classes = data.teacher.classifier.out_features
    keeps = [keep_counts(widths, allocate(widths, drops, budget, classes)) for budget in config["budgets"]]
    return drops, keeps


def train_member(member: Member, keep: list[int], data: GridData, teacher_logits: torch.Tensor,
                 config: dict[str, Any], desc: str | None = None) -> nn.Module:
    """One grid model: slimmed (or fresh) at `keep`, recovered `member.way`; int8 (converted) for QAT."""
    from kit.static_quantization import calibrate

    calibration = data.calibration(config)
    if member.way == "scratch":
        torch.manual_seed(member.seed)
        model = SmallCNN(data.teacher.classifier.out_features, widths=tuple(keep))
    else:
        model = recalibrate_batchnorm(slimmed(data.teacher, keep, config["criterion"]), calibration)
    if member.way != "qat":
        recover(model, member.way, data.fit_images, data.fit_labels, teacher_logits, config, lr=member.lr,
                seed=member.seed, desc=desc)
        return model.eval()
    prepared = qat_ready(model, config["engine"])
    calibrate(prepared, calibration)   # the fake-quantizers start from calibrated ranges
    prepared.train()
    steps = round(config["epochs"] * -(-len(data.fit_labels) // 64))
    freeze_at = int(config["qat_freeze"] * steps)

    def freeze_late(step: int, qat_model: nn.Module) -> None:
        if step + 1 == freeze_at:   # the last steps train against fixed scales and BatchNorm statistics
            qat_model.apply(disable_observer)
            qat_model.apply(torch.ao.nn.intrinsic.qat.freeze_bn_stats)

    recover(prepared, "distill", data.fit_images, data.fit_labels, teacher_logits, config, lr=member.lr,
            seed=member.seed, desc=desc, on_step=freeze_late)
    return convert(prepared.eval())


def train_grid(data: GridData, config: dict[str, Any], done: dict[str, dict[str, Any]],
               on_done: Callable[[Member, dict[str, Any]], None], scan: dict | None = None) -> dict[str, Any]:
    """Train every member not in `done` (key -> {"model", "valid", "test"}), calling `on_done` after each.

    Returns the grid's description: scan, keep counts per budget, chosen learning rates, members in order.
    """
    from kit.distillation import teacher_logits as cached_logits
    from kit.progress import progress
    from kit.train.classify import accuracy

    if scan is None:
        drops, keeps = plan_shapes(data, config)
    else:
        drops, keeps = scan["drops"], scan["keeps"]
    logits = cached_logits(data.teacher, data.fit_images)

    def run(members: list[Member], stage: str) -> None:
        todo = [m for m in members if m.key not in done]
        for member in progress(todo, total=len(todo), desc=stage):
            model = train_member(member, keeps[member.budget], data, logits, config)
            result = {"model": model, "valid": accuracy(model, data.valid_images, data.valid_labels),
                      "test": accuracy(model, data.test_images, data.test_labels)}
            done[member.key] = result
            on_done(member, result)

    first = selection_members(config)
    run(first, "grid: choosing learning rates")
    valid = {key: result["valid"] for key, result in done.items()}
    later = later_members(config, valid)
    run(later, "grid: more seeds and QAT")
    chosen = {f"b{b}-{way}": chosen_lr(config, valid, b, way) for b in range(len(config["budgets"]))
              for way in ("labels", "distill", "scratch")}
    return {"drops": [[b, r, d] for (b, r), d in drops.items()], "keeps": keeps, "chosen_lr": chosen,
            "members": [vars(m) | {"key": m.key} for m in first + later]}

"""Chapter 8's grid of compressed CNNs: prune to a budget, recover, trained once and cached.

From the dense CNN (the `cnn-fashion` checkpoint) and a sensitivity scan on validation images
(`kit.channel_allocation`), each MAC budget gets its per-block keep ratios. The slimmed model then recovers one
of these ways:

- ``labels``: fine-tuned on the labels (cross-entropy) for the recovery epochs;
- ``distill``: distilled from the dense teacher (`kd_loss` on its cached logits, Hinton et al., 2015), same steps;
- ``qat``: distilled with fake quantization from the first step, then converted to int8, same steps;
- ``scratch_e`` and ``scratch_b``: the same shape from random weights, distilled — what pruning's inherited
  weights are worth (Liu et al., 2019, "Rethinking the Value of Network Pruning"), at their two budgets:
  Scratch-E trains for the dense model's epochs, Scratch-B for its compute (those epochs times the ratio of the
  dense model's MACs to the small one's).

The dense model itself gets the recovery steps too (way ``labels``, no budget: `Member.budget` is None), so a
pruned model's extra training is compared with the same extra training without pruning.

Learning rates are chosen per budget and way on validation accuracy (first seed), with the same candidates,
hence the same number of tries, for labels, distill, Scratch-E and the dense model; QAT takes distill's rate
and Scratch-B takes Scratch-E's. Every way then runs on every seed. `train_grid` runs the plan stage by stage (the
recipe has `kit.grid_workers` train each stage's models in several processes at once) and hands each finished
model to `on_done`, so an interrupted grid restarts without the models it already finished.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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

WAYS = ("labels", "distill", "qat", "scratch_e", "scratch_b")
TUNED_WAYS = ("labels", "distill", "scratch_e")        # the ways whose learning rate is chosen on validation
TUNED_BY = {"qat": "distill", "scratch_b": "scratch_e"}   # ... and whose choice the others take
WAY_NAMES = {"labels": "labels", "distill": "distill", "qat": "distill", "scratch_e": "Scratch-E",
             "scratch_b": "Scratch-B"}


@dataclass(frozen=True)
class Member:
    """One trained model of the grid; `budget` None is the dense model given the recovery steps."""

    budget: int | None   # index into the config's budgets, or None for the dense model
    way: str
    lr: float
    seed: int

    @property
    def key(self) -> str:
        """A name usable as a module name: b0-distill-lr0_001-s0, dense-labels-lr0_003-s1."""
        where = "dense" if self.budget is None else f"b{self.budget}"
        return f"{where}-{self.way}-lr{self.lr:g}-s{self.seed}".replace(".", "_")


def tuned_way(way: str) -> str:
    """The way whose learning-rate choice `way` uses (itself for the tuned ways)."""
    if way not in WAYS:
        raise ValueError(f"unknown recovery way {way!r}; the grid has {', '.join(WAYS)}")
    return TUNED_BY.get(way, way)


def selection_members(config: dict[str, Any]) -> list[Member]:
    """The first-seed runs that choose each (budget, way)'s learning rate, the dense model's recovery first."""
    first = config["seeds"][0]
    dense = [Member(None, "labels", lr, first) for lr in config["lrs"]]
    return dense + [Member(b, way, lr, first) for b in range(len(config["budgets"])) for way in TUNED_WAYS
                    for lr in config["lrs"]]


def chosen_lr(config: dict[str, Any], valid: dict[str, float], budget: int | None, way: str) -> float:
    """The learning rate whose first-seed run of (budget, way) scored best on validation (ties: the first);
    QAT and Scratch-B use the choice of the way they follow (`TUNED_BY`)."""
    first = config["seeds"][0]
    way = tuned_way(way)
    scores = [(valid[Member(budget, way, lr, first).key], -i, lr) for i, lr in enumerate(config["lrs"])]
    return max(scores)[2]


def later_members(config: dict[str, Any], valid: dict[str, float]) -> list[Member]:
    """The runs that follow the choice of learning rates: the other seeds of every way, QAT and Scratch-B on
    every seed."""
    seeds = config["seeds"]
    out = [Member(None, "labels", chosen_lr(config, valid, None, "labels"), s) for s in seeds[1:]]
    for b in range(len(config["budgets"])):
        for way in TUNED_WAYS:
            out += [Member(b, way, chosen_lr(config, valid, b, way), s) for s in seeds[1:]]
        for way in ("qat", "scratch_b"):
            out += [Member(b, way, chosen_lr(config, valid, b, way), s) for s in seeds]
    return out


def member_epochs(member: Member, keep: list[int], dense_widths: tuple[int, ...], config: dict[str, Any],
                  classes: int = 10) -> float:
    """Epochs of training: the recovery epochs; Scratch-E the dense model's; Scratch-B those times the ratio of
    the dense model's MACs to this shape's (the same compute, Liu et al., 2019)."""
    from kit.channel_allocation import cnn_macs

    if member.way == "scratch_e":
        return float(config["scratch_epochs"])
    if member.way == "scratch_b":
        return float(config["scratch_epochs"]) * cnn_macs(dense_widths, classes) / cnn_macs(keep, classes)
    return float(config["epochs"])


def recover(model: nn.Module, way: str, images: torch.Tensor, labels: torch.Tensor, teacher_logits: torch.Tensor,
            config: dict[str, Any], *, lr: float, seed: int, epochs: float | None = None, desc: str | None = None,
            on_step: Callable[[int, nn.Module], None] | None = None) -> None:
    """Train `model` in place the given way for `epochs` (default: the config's recovery epochs) with a warm-up,
    then a linear decay of lr: cross-entropy for labels, `kd_loss` against the teacher otherwise."""
    from kit.train.distill import fit_student

    epochs = config["epochs"] if epochs is None else epochs
    if way == "labels":
        fit_student(model, images, labels, None, alpha=0.0, epochs=epochs, lr=lr, seed=seed,
                    warmup=config["warmup"], desc=desc, on_step=on_step)
    else:
        fit_student(model, images, labels, teacher_logits, temperature=config["temperature"],
                    alpha=config["alpha"], epochs=epochs, lr=lr, seed=seed, warmup=config["warmup"],
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
    """One grid model at `keep`: the dense model, slimmed or fresh; recovered `member.way` for its epochs
    (`member_epochs`); int8 (converted) for QAT."""
    import copy

    from kit.static_quantization import calibrate

    calibration = data.calibration(config)
    classes = data.teacher.classifier.out_features
    epochs = member_epochs(member, keep, data.teacher.widths, config, classes)
    if member.budget is None:
        if member.way != "labels":
            raise ValueError(f"the dense model recovers on its labels only, not {member.way!r}")
        model = copy.deepcopy(data.teacher)
    elif member.way in ("scratch_e", "scratch_b"):
        torch.manual_seed(member.seed)
        model = SmallCNN(classes, widths=tuple(keep))
    else:
        model = recalibrate_batchnorm(slimmed(data.teacher, keep, config["criterion"]), calibration)
    layout = training_layout(config)
    if member.way != "qat":
        way = "distill" if member.way.startswith("scratch") else member.way
        model = model.to(memory_format=layout)
        recover(model, way, data.fit_images, data.fit_labels, teacher_logits, config, lr=member.lr,
                seed=member.seed, epochs=epochs, desc=desc)
        return model.to(memory_format=torch.contiguous_format).eval()
    prepared = qat_ready(model, config["engine"]).to(memory_format=layout)
    calibrate(prepared, calibration)   # the fake-quantizers start from calibrated ranges
    prepared.train()
    steps = max(1, round(epochs * -(-len(data.fit_labels) // 64)))
    freeze_at = int(config["qat_freeze"] * steps)

    def freeze_late(step: int, qat_model: nn.Module) -> None:
        if step + 1 == freeze_at:   # the last steps train against fixed scales and BatchNorm statistics
            qat_model.apply(disable_observer)
            qat_model.apply(torch.ao.nn.intrinsic.qat.freeze_bn_stats)

    recover(prepared, "distill", data.fit_images, data.fit_labels, teacher_logits, config, lr=member.lr,
            seed=member.seed, epochs=epochs, desc=desc, on_step=freeze_late)
    return convert(prepared.eval())


def member_model(way: str, state: dict[str, torch.Tensor], widths: list[int], classes: int,
                 engine: str) -> nn.Module:
    """A grid model of `way` and `widths` with `state` loaded (a saved or a worker's model): int8 (converted) for
    QAT, else a SmallCNN; in eval mode."""
    from kit.static_quantization import int8_skeleton

    if way == "qat":
        model = int8_skeleton(widths, classes, torch.ao.quantization.get_default_qconfig(engine))
    else:
        model = SmallCNN(classes, widths=tuple(widths))
    model.load_state_dict(state)
    return model.eval()


def training_layout(config: dict[str, Any]) -> torch.memory_format:
    """The memory format a CNN recipe (the teachers, the grid) trains in: channels_last when the config says so
    (the same numbers up to float rounding, and faster on CPU, where NCHW max pooling is slow), else NCHW."""
    layouts = {"channels_last": torch.channels_last, "contiguous": torch.contiguous_format}
    name = config.get("train_memory_format", "contiguous")
    if name not in layouts:
        raise ValueError(f"train_memory_format is one of {', '.join(layouts)}, got {name!r}")
    return layouts[name]


def member_keep(member: Member, keeps: list[list[int]], dense_widths: tuple[int, ...] | list[int]) -> list[int]:
    """The channels per block of a member: its budget's keep counts, or the dense widths."""
    return list(dense_widths) if member.budget is None else keeps[member.budget]


TrainMany = Callable[[list[Member], list[list[int]], GridData, torch.Tensor, dict[str, Any]],
                    Iterator[tuple[Member, dict[str, Any]]]]


def train_here(members: list[Member], keeps: list[list[int]], data: GridData, teacher_logits: torch.Tensor,
               config: dict[str, Any], named: bool = False) -> Iterator[tuple[Member, dict[str, Any]]]:
    """Train `members` one after the other in this process; yield (member, {"model", "valid", "test"}).
    `named`: each model's step bar carries its key (where several processes write bars)."""
    from kit.train.classify import accuracy

    for member in members:
        model = train_member(member, member_keep(member, keeps, data.teacher.widths), data, teacher_logits, config,
                             desc=member.key if named else None)
        yield member, {"model": model, "valid": accuracy(model, data.valid_images, data.valid_labels),
                       "test": accuracy(model, data.test_images, data.test_labels)}


def train_grid(data: GridData, config: dict[str, Any], done: dict[str, dict[str, Any]],
               on_done: Callable[[Member, dict[str, Any]], None], scan: dict | None = None,
               train_many: TrainMany | None = None) -> dict[str, Any]:
    """Train every member not in `done` (key -> {"model", "valid", "test"}), calling `on_done` after each.

    `train_many` trains a stage's members and yields each as it finishes (default `train_here`; the recipe
    passes `kit.grid_workers.train_members`, several processes at once); the selection stage ends before the
    later one starts.

    Returns the grid's description: scan, keep counts per budget, the dense widths, chosen learning rates, each
    member's epochs, members in order.
    """
    from kit.distillation import teacher_logits as cached_logits
    from kit.progress import progress

    train_many = train_here if train_many is None else train_many
    if scan is None:
        drops, keeps = plan_shapes(data, config)
    else:
        drops, keeps = scan["drops"], scan["keeps"]
    logits = cached_logits(data.teacher, data.fit_images)

    def run(members: list[Member], stage: str) -> None:
        todo = [m for m in members if m.key not in done]
        trained = train_many(todo, keeps, data, logits, config)
        try:
            for member, result in progress(trained, total=len(todo), desc=stage):
                done[member.key] = result
                on_done(member, result)
        finally:
            trained.close()   # stops any workers now if the loop ended early (an error, Ctrl-C)

    first = selection_members(config)
    run(first, "grid: choosing learning rates")
    valid = {key: result["valid"] for key, result in done.items()}
    later = later_members(config, valid)
    run(later, "grid: every seed, QAT and Scratch-B")
    chosen = {f"b{b}-{way}": chosen_lr(config, valid, b, way) for b in range(len(config["budgets"]))
              for way in TUNED_WAYS}
    chosen["dense-labels"] = chosen_lr(config, valid, None, "labels")
    widths, classes = data.teacher.widths, data.teacher.classifier.out_features
    epochs = {m.key: member_epochs(m, member_keep(m, keeps, widths), widths, config, classes) for m in first + later}
    return {"drops": [[b, r, d] for (b, r), d in drops.items()], "keeps": keeps, "dense_widths": list(widths),
            "chosen_lr": chosen, "epochs": epochs, "members": [vars(m) | {"key": m.key} for m in first + later]}

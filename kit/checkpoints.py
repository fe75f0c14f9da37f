"""Trained checkpoints the chapters start from: load when the manifest matches, else train and record.

``ensure("lstm-lm", quick=QUICK)`` returns a Checkpoint (model, manifest, folder). Stored under
``<data dir>/checkpoints/<name>[-<data>][-quick]/`` as safetensors weights plus ``manifest.json``
(config, data fingerprint, metrics, sha256 of every file, and a checksum of the manifest itself, so a
hand-edited metric is reported rather than printed). A checkpoint is written in a temporary folder and
renamed into place when complete; while it trains, its resumable state is kept beside it in
``<folder>.resume.pt`` (see ``kit.train.resume``), so an interrupted run continues where it stopped.
With ``$KIT_TRAINING=off`` (set by ``python -m kit book`` while chapters execute) a missing checkpoint
is an error instead of a training run. A stored checkpoint that is corrupted or no longer
matches its config or data is reported with the way out, and replaced only when asked
(``force=True`` or ``python -m kit prepare --force``): the old folder is kept as ``*.previous``.
A checkpoint made from others (a student from its teacher: the recipe's ``upstream``) is out of date when
one of them was retrained; the store ensures them before training and hands them to the recipe.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shlex
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from kit import allocator
from kit.errors import (
    CheckpointCorrupted,
    CheckpointError,
    CheckpointMismatch,
    CheckpointMissing,
    TrainingDisabled,
    WeightsMismatch,
)
from kit.files import file_digest
from kit.paths import data_dir, require_data_dir
from kit.recipes import RECIPES, Recipe, UpstreamSpec, seeded
from kit.train import phases, precision
from kit.train.resume import ResumeFile

MANIFEST = "manifest.json"
FORMAT = 2  # 2: the manifest carries its own checksum
TRAINING_ENV_VAR = "KIT_TRAINING"
LOSS_POINTS = 400  # the loss curve kept in the manifest, evenly subsampled


@dataclass
class Checkpoint:
    name: str
    model: nn.Module
    manifest: dict[str, Any]
    folder: Path
    tokenizer: Any = None
    trained_now: bool = False

    @property
    def extra(self) -> Any:
        """What the recipe loads besides the model: a tokenizer, or the description of chapter 8's grid."""
        return self.tokenizer

    @property
    def metrics(self) -> dict[str, float]:
        return self.manifest["metrics"]

    @property
    def losses(self) -> list[float]:
        return self.manifest["loss_curve"]

    def __str__(self) -> str:
        how = f"trained now in {self.manifest['train_seconds']:.0f} s" if self.trained_now else "loaded"
        return f"{self.name} ({how}): {RECIPES[self.name].headline(self.metrics)} [{self.folder}]"


def checkpoints_dir() -> Path:
    return data_dir() / "checkpoints"


def _recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise ValueError(f"unknown checkpoint {name!r}; choose one of {', '.join(RECIPES)}")
    return RECIPES[name]


def folder_for(name: str, *, quick: bool = False, data: str | None = None, **options: Any) -> Path:
    """Where checkpoint `name` lives for these settings (each data set, option variant and mode has its own)."""
    recipe = _recipe(name)
    data = data or recipe.default_data
    variant = recipe.variant(**options)
    suffix = ("" if data == recipe.default_data else f"-{data}") + (f"-{variant}" if variant else "")
    return checkpoints_dir() / f"{name}{suffix}{'-quick' if quick else ''}"


def _prepare_command(name: str, quick: bool, data: str | None, options: dict[str, Any] | None,
                     force: bool = False) -> str:
    """The `python -m kit prepare` line that trains exactly this checkpoint (its options included)."""
    flags = (" --force" if force else "") + (" --quick" if quick else "") + (f" --data {data}" if data else "")
    flags += "".join(f" --option {shlex.quote(f'{k}={v!r}')}" for k, v in sorted((options or {}).items()))
    return f"python -m kit prepare{flags} {name}"


def _fix(name: str, quick: bool, data: str | None, options: dict[str, Any] | None = None) -> str:
    command = _prepare_command(name, quick, data, options, force=True)
    return f"retrain it with `{command}` (or ensure(..., force=True))"


def resume_path(folder: Path) -> Path:
    """Where the resumable training state of the checkpoint in `folder` is kept while it trains."""
    return folder.with_name(folder.name + ".resume.pt")


def manifest_checksum(manifest: dict[str, Any]) -> str:
    """sha256 of the manifest's canonical JSON, without its own checksum field."""
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


_sha256 = file_digest  # the old private name, which tests/unit/test_checkpoints.py still calls


def _config(recipe: Recipe, quick: bool, data: str | None, options: dict[str, Any]) -> dict[str, Any]:
    data = data or recipe.default_data
    if data not in recipe.data_choices:
        raise ValueError(f"{recipe.name} trains on one of {', '.join(recipe.data_choices)}, not {data!r}")
    unknown = set(options) - set(recipe.option_names)
    if unknown:
        raise TypeError(f"{recipe.name} takes no option {', '.join(sorted(unknown))}")
    return recipe.config(quick, data, **options)


def fingerprint(recipe: Recipe, config: dict[str, Any]) -> str:
    """The recipe's data fingerprint, with the manifest checksum of each upstream checkpoint folded in.

    Verifying the upstream checkpoints raises CheckpointError when one is missing or broken.
    """
    own = recipe.fingerprint(config)
    upstream = recipe.upstream(config)
    if not upstream:
        return own
    checksums = "".join(_verify_spec(spec)["checksum"] for spec in upstream.values())
    return hashlib.sha256((own + checksums).encode()).hexdigest()[:16]


def _verify_spec(spec: UpstreamSpec) -> dict[str, Any]:
    return verify(spec.name, quick=spec.quick, data=spec.data, **spec.options)


def verify(name: str, *, quick: bool = False, data: str | None = None, **options: Any) -> dict[str, Any]:
    """Check a stored checkpoint without loading the model; returns its manifest or raises CheckpointError."""
    recipe = _recipe(name)
    folder = folder_for(name, quick=quick, data=data, **options)
    fix = _fix(name, quick, data, options)
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        if folder.exists():
            raise CheckpointCorrupted(f"{folder} exists but has no {MANIFEST} (an interrupted copy?): {fix}")
        raise CheckpointMissing(f"no {name} checkpoint in {folder}: run `python -m kit prepare {name}`")
    try:
        manifest = json.loads(manifest_path.read_text())
        files = manifest["files"]
        stored_config = manifest["config"]
        stored_fingerprint = manifest["data_fingerprint"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise CheckpointCorrupted(f"{manifest_path} is unreadable ({error}): {fix}") from None
    if manifest.get("format") != FORMAT:
        raise CheckpointMismatch(f"{folder} was written by an older version of the kit (no manifest checksum): {fix}")
    if manifest.get("checksum") != manifest_checksum(manifest):
        raise CheckpointCorrupted(
            f"{manifest_path} does not match its checksum: it was edited or damaged, so its metrics cannot be "
            f"trusted: {fix}"
        )
    for filename, expected in files.items():
        path = folder / filename
        if not path.is_file():
            raise CheckpointCorrupted(f"{path} is missing: {fix}")
        if file_digest(path) != expected:
            raise CheckpointCorrupted(f"{path} is corrupted (its sha256 differs from the manifest's): {fix}")
    config = _config(recipe, quick, data, options)
    if stored_config != config:
        changed = sorted(k for k in config.keys() | stored_config.keys() if config.get(k) != stored_config.get(k))
        details = ", ".join(f"{k}: stored {stored_config.get(k)!r}, now {config.get(k)!r}" for k in changed)
        raise CheckpointMismatch(f"{folder} was trained with another configuration ({details}): {fix}")
    if stored_fingerprint != fingerprint(recipe, config):
        raise CheckpointMismatch(f"{folder} was trained {recipe.stale_because(config)}: {fix}")
    return manifest


def ensure(
    name: str, *, quick: bool = False, data: str | None = None, force: bool = False, **options: Any
) -> Checkpoint:
    """Load the trained checkpoint `name`, training (and storing) it first when there is none.

    Raises CheckpointError when a stored one is corrupted or mismatched, unless force=True,
    which retrains it (the old folder is kept as <folder>.previous). Before any training, the data dir
    is checked (DataDirError names the fix); where $KIT_TRAINING=off, TrainingDisabled is raised instead.
    """
    recipe = _recipe(name)
    folder = folder_for(name, quick=quick, data=data, **options)
    if not force:
        try:
            manifest = verify(name, quick=quick, data=data, **options)
        except CheckpointMissing:
            pass
        else:
            config = manifest["config"]
            try:
                model, extra = recipe.load(folder, config)
            except (WeightsMismatch, OSError, ValueError) as error:
                raise CheckpointMismatch(f"{error}: {_fix(name, quick, data, options)}") from None
            return Checkpoint(name, model, manifest, folder, extra)
    config = _config(recipe, quick, data, options)
    if os.environ.get(TRAINING_ENV_VAR, "on") == "off":
        raise TrainingDisabled(
            f"the {name} checkpoint in {folder} is not trained, and training is switched off here "
            f"(${TRAINING_ENV_VAR}=off: `python -m kit book` prepares checkpoints before it executes chapters, "
            f"from the needs each chapter declares in its metadata). "
            f"Run `{_prepare_command(name, quick, data, options)}`."
        )
    require_data_dir()
    return _train_and_store(recipe, folder, config)


def _train_and_store(recipe: Recipe, folder: Path, config: dict[str, Any]) -> Checkpoint:
    resume = ResumeFile(resume_path(folder), config)
    seeded(config)
    upstream = {role: ensure(spec.name, quick=spec.quick, data=spec.data, **spec.options)
                for role, spec in recipe.upstream(config).items()}
    handed = {"upstream": upstream} if upstream else {}
    model, extra = recipe.build(config, **handed)
    phases.reset()   # after the upstream checkpoints: their training is theirs
    trained = recipe.train(model, extra, config, resume=resume, **handed)
    step_seconds, step_processes = phases.totals(), phases.processes()
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        recipe.save(model, extra, tmp)
        files = {p.name: file_digest(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        step = max(1, len(trained.losses) // LOSS_POINTS)
        manifest = {
            "format": FORMAT,
            "name": recipe.name,
            "config": config,
            "data_fingerprint": fingerprint(recipe, config),
            "metrics": trained.metrics,
            "train_seconds": round(trained.seconds, 1),
            "phase_seconds": step_seconds,   # inside the training loops, per phase (this recipe)
            "phase_processes": step_processes,   # > 1: worker processes trained at once; the sums are worker-seconds
            "train_precision": precision.resolve(config.get("precision", precision.FP32)),   # what the loops used
            "loss_curve": [round(x, 4) for x in trained.losses[::step]],
            "loss_curve_step": step,
            "files": files,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "allocator": allocator.in_use(),
            "machine": platform.machine(),
        }
        manifest["checksum"] = manifest_checksum(manifest)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        if folder.exists():
            previous = folder.with_name(folder.name + ".previous")
            shutil.rmtree(previous, ignore_errors=True)
            os.replace(folder, previous)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    resume.discard()
    model.eval()
    return Checkpoint(recipe.name, model, manifest, folder, extra, trained_now=True)


def status(name: str, *, quick: bool = False, data: str | None = None, **options: Any) -> tuple[str, str]:
    """('ready', headline) | ('missing', fix) | ('stale', why) | ('broken', message), for doctor and prepare.

    'stale': intact, but made with another configuration, other data or another upstream checkpoint than the
    kit asks for now (prepare retrains it, keeping the old folder as *.previous); 'broken': damaged or unreadable.
    """
    try:
        manifest = verify(name, quick=quick, data=data, **options)
    except CheckpointMissing as error:
        folder = folder_for(name, quick=quick, data=data, **options)
        if resume_path(folder).is_file():
            return "missing", f"{error} (its interrupted training resumes from the state saved beside it)"
        return "missing", str(error)
    except CheckpointMismatch as error:
        return "stale", str(error)
    except (CheckpointError, FileNotFoundError, ValueError) as error:
        return "broken", str(error)
    return "ready", f"{RECIPES[name].headline(manifest['metrics'])}, trained in {manifest['train_seconds']:.0f} s"

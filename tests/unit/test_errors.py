"""Every clear error the kit raises derives from kit.errors.KitError and keeps the builtin base callers catch."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import kit
from kit.errors import CheckpointMismatch, KitError, TrainingDisabled, WeightsMismatch

HINTS = {"kit.exercises.NotYet"}  # a hint to the learner, not an error of the kit


def exception_classes() -> dict[str, type[BaseException]]:
    """'module.Class' -> class, for every exception class defined in a module of the kit."""
    found = {}
    for info in pkgutil.walk_packages(kit.__path__, "kit."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == module.__name__:
                found[f"{module.__name__}.{name}"] = value
    return found


def test_every_exception_class_of_the_kit_is_a_kit_error():
    classes = exception_classes()
    assert "kit.parameters.ParameterError" in classes and "kit.data.fetch.ChecksumMismatch" in classes
    assert HINTS <= set(classes)
    outside = sorted(name for name, cls in classes.items() if name not in HINTS and not issubclass(cls, KitError))
    assert not outside, f"not derived from kit.errors.KitError: {', '.join(outside)}"


def test_the_builtin_bases_are_kept():
    from kit.book import ChapterFailed
    from kit.data.fetch import ChecksumMismatch, FetchError
    from kit.parameters import ParameterError
    from kit.paths import DataDirError

    assert issubclass(ParameterError, ValueError) and issubclass(DataDirError, OSError)
    assert issubclass(ChapterFailed, RuntimeError) and issubclass(ChecksumMismatch, FetchError)
    assert issubclass(WeightsMismatch, ValueError) and issubclass(CheckpointMismatch, RuntimeError)
    assert str(DataDirError("read-only: choose another folder")) == "read-only: choose another folder"


def test_the_stores_errors_are_importable_where_they_were():
    from kit import checkpoints, recipes

    assert checkpoints.CheckpointMismatch is CheckpointMismatch and checkpoints.TrainingDisabled is TrainingDisabled
    assert recipes.WeightsMismatch is WeightsMismatch

"""The base of every clear error the kit raises, and the errors of stored weights.

Each error the kit raises on purpose derives from ``KitError`` and keeps the builtin base callers already
catch (``ValueError``, ``OSError``, ``RuntimeError``). Most live beside what they describe (``ParameterError``
in ``kit.parameters``, ``FetchError`` in ``kit.data.fetch``, ...); the store's are here because the store
(``kit.checkpoints``), the recipes and ``kit.static_quantization`` all raise them.
"""

from __future__ import annotations


class KitError(Exception):
    """A clear error the kit raises: the message names the fix."""


class CheckpointError(KitError, RuntimeError):
    """A stored checkpoint cannot be used; the message says how to fix it."""


class CheckpointMissing(CheckpointError):
    """No checkpoint is stored for these settings."""


class CheckpointCorrupted(CheckpointError):
    """A stored file is damaged, missing or edited."""


class CheckpointMismatch(CheckpointError):
    """A stored file was made for another configuration, data set, model or version of the kit."""


class TrainingDisabled(CheckpointMissing):
    """A checkpoint would have to be trained where training is switched off ($KIT_TRAINING=off)."""


class WeightsMismatch(KitError, ValueError):
    """Saved weights do not fit the model the config describes."""

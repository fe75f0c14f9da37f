"""Training and evaluation loops, one module per task; chapters call these instead of re-typing them.

- loop: the generic step loop (`train_steps`, `History`);
- classify: image classification (`fit_classifier`, `classification_metrics`);
- language_model: the word-LM loop of PyTorch's word_language_model example
  (`train_language_model`, `evaluate_language_model`);
- pairs: sentence-pair classification (`encode_pairs`, `fine_tune_pairs`, `evaluate_pairs`).
"""

from kit.progress import progress
from kit.train.loop import Batch, History, train_steps

__all__ = ["Batch", "History", "progress", "train_steps"]

"""ipywidgets explorers: pruning (chapter 2), distillation's temperature and weight (chapter 6), the grid of
compressed models (chapter 8), weight quantization of a language model (chapter 9).

Each explorer's update is a plain function, tested directly; the widget only wires it up.
"""

from kit.widgets.lm_quantization import GridPoint, GridView, lm_quantization_explorer, lm_quantization_update
from kit.widgets.pipeline import ParetoFigure, PipelineView, pipeline_explorer, pipeline_update
from kit.widgets.pruning import (
    METHOD_LABELS,
    PruningFigure,
    PruningView,
    draw_view,
    sparsity_explorer,
    sparsity_update,
    threshold_explorer,
    threshold_update,
)
from kit.widgets.temperature import (
    SoftTargetFigure,
    SoftTargetView,
    soft_target_update,
    temperature_explorer,
)

__all__ = [
    "METHOD_LABELS", "GridPoint", "GridView", "ParetoFigure", "PipelineView", "PruningFigure", "PruningView",
    "SoftTargetFigure", "SoftTargetView", "draw_view", "lm_quantization_explorer", "lm_quantization_update",
    "pipeline_explorer", "pipeline_update", "soft_target_update", "sparsity_explorer", "sparsity_update",
    "temperature_explorer", "threshold_explorer", "threshold_update",
]

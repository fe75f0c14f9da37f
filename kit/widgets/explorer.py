"""The wiring every explorer shares: its controls above a status line and a PNG of its figure.

Each change of a control calls `show()`, which updates the explorer's figure and returns the status text and
the new frame (None keeps the last one); the status line carries a CSS class the browser tests look for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def explorer(controls: Sequence[Any], status_class: str, show: Callable[[], tuple[str, bytes | None]], *,
             in_a_row: bool = True) -> Any:
    """VBox of the controls (in an HBox when `in_a_row`), the status (HTML with `status_class`) and the picture."""
    import ipywidgets as widgets

    status = widgets.HTML()
    status.add_class(status_class)
    picture = widgets.Image(format="png")

    def refresh(_change: Any = None) -> None:
        text, frame = show()
        status.value = f"<b>{text}</b>"
        if frame is not None:
            picture.value = frame

    for control in controls:
        control.observe(refresh, names="value")
    refresh()
    header = [widgets.HBox(list(controls))] if in_a_row else list(controls)
    return widgets.VBox([*header, status, picture])

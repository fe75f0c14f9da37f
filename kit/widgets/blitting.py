"""PNG frames of a figure whose axes stay put while a few artists move (blitting, as matplotlib's animations do).

The static part — axes, ticks, labels — is rendered once and kept as a background; each frame restores it,
draws only the moving artists and encodes the pixels. An explorer update then costs a few milliseconds of
drawing instead of a full layout of every axis.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable

from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


class BlitPNG:
    """Renders `fig` as PNG frames; `moving()` returns the artists that change between frames."""

    def __init__(self, fig: Figure, moving: Callable[[], Iterable[Artist]]) -> None:
        self.fig = fig
        self.moving = moving
        self.canvas = FigureCanvasAgg(fig)
        self.background = None

    def invalidate(self) -> None:
        """The static part changed (e.g. an axis limit): render it again before the next frame."""
        self.background = None

    def png(self) -> bytes:
        from PIL import Image

        artists = list(self.moving())
        for artist in artists:
            artist.set_animated(True)
        if self.background is None:
            self.canvas.draw()
            self.background = self.canvas.copy_from_bbox(self.fig.bbox)
        self.canvas.restore_region(self.background)
        renderer = self.canvas.get_renderer()
        for artist in artists:
            if artist.get_visible():
                artist.draw(renderer)
            artist.set_animated(False)   # so the figure still draws whole anywhere else (e.g. display(fig))
        width, height = self.canvas.get_width_height()
        buffer = io.BytesIO()
        Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1).save(
            buffer, format="png", compress_level=1)
        return buffer.getvalue()

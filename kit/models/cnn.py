"""A small CNN with BatchNorm for 1x32x32 images: chapter 5's FP32 baseline, chapter 6's teacher and the
starting point of chapter 8.

Four blocks of conv(3x3) -> BatchNorm -> ReLU, each followed by 2x2 max pooling except the last, which is
followed by global average pooling; then one Linear classifier. Every part is a module in a plain
`nn.Sequential` (no functional calls, no residual additions), so eager-mode static quantization works on it
as it is: `fuse_modules` finds each conv-bn-relu triple by name (`fusable_triples`), and the model only needs
a QuantStub / DeQuantStub around it.
"""

from __future__ import annotations

import torch
from torch import nn

DEFAULT_WIDTHS = (32, 64, 128, 256)


def conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    """3x3 convolution (no bias: BatchNorm's shift replaces it), BatchNorm, ReLU — named "0", "1", "2"."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
    )


class SmallCNN(nn.Module):
    """conv-bn-relu blocks of `widths` channels on 32x32 inputs: 32 -> 16 -> 8 -> 4 -> global average."""

    def __init__(self, classes: int = 10, widths: tuple[int, ...] = DEFAULT_WIDTHS, in_channels: int = 1) -> None:
        super().__init__()
        if classes < 2:
            raise ValueError(f"a classifier needs at least 2 classes, got {classes}")
        if not widths or any(int(w) < 1 for w in widths):
            raise ValueError(f"widths must be positive channel counts, got {widths!r}")
        self.widths = tuple(int(w) for w in widths)
        self.in_channels = in_channels
        layers: list[nn.Module] = []
        channels = in_channels
        for index, width in enumerate(self.widths):
            layers.append(conv_bn_relu(channels, width))
            layers.append(nn.MaxPool2d(2) if index < len(self.widths) - 1 else nn.AdaptiveAvgPool2d(1))
            channels = width
        self.features = nn.Sequential(*layers)
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(channels, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (skipped while torch.fx or torch.jit trace the model: the check is for eager callers)
        tracing = isinstance(x, torch.fx.Proxy) or torch.jit.is_tracing()
        if not tracing and (x.dim() != 4 or x.shape[1] != self.in_channels):
            raise ValueError(f"SmallCNN expects images of shape (N, {self.in_channels}, H, W), got {tuple(x.shape)}")
        return self.classifier(self.flatten(self.features(x)))


def fusable_triples(model: SmallCNN, prefix: str = "") -> list[list[str]]:
    """The [conv, bn, relu] module names of every block, as `torch.ao.quantization.fuse_modules` wants them.

    `prefix` is prepended when the CNN sits inside a wrapper (e.g. "model." after a QuantStub).
    """
    return [[f"{prefix}features.{i}.{j}" for j in ("0", "1", "2")]
            for i, block in enumerate(model.features) if isinstance(block, nn.Sequential)]

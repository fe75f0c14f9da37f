"""LeNet-5 for 1x32x32 images, the network of the pruning chapter."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

CLASSIC_WIDTHS = (6, 16, 120, 84)


class LeNet(nn.Module):
    """conv(1->6, 5x5) -> pool -> conv(6->16, 5x5) -> pool -> 120 -> 84 -> classes.

    The classic LeNet-5 shapes (LeCun et al., 1998): 5x5 kernels on 32x32 images give 32 -> 28 -> 14 -> 10 -> 5,
    so fc1 takes 16*5*5 inputs.
    `widths` (conv1, conv2, fc1, fc2 outputs) lets a structurally pruned LeNet be rebuilt smaller.
    """

    def __init__(self, classes: int = 10, widths: tuple[int, int, int, int] = CLASSIC_WIDTHS) -> None:
        super().__init__()
        c1, c2, f1, f2 = widths
        self.widths = tuple(widths)
        self.conv1 = nn.Conv2d(1, c1, 5)
        self.conv2 = nn.Conv2d(c1, c2, 5)
        self.fc1 = nn.Linear(c2 * 5 * 5, f1)
        self.fc2 = nn.Linear(f1, f2)
        self.fc3 = nn.Linear(f2, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1:] != (1, 32, 32):
            raise ValueError(f"LeNet expects images of shape (N, 1, 32, 32), got {tuple(x.shape)}")
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)

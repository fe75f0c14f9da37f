"""A one-layer tanh RNN that classifies a sequence from its last hidden state."""

from __future__ import annotations

import torch
from torch import nn


class RNNClassifier(nn.Module):
    """nn.RNN (tanh) followed by a linear read-out of the final hidden state.

    The recurrent kernel is `self.rnn.weight_hh_l0`, the tensor chapter 1 constrains.
    """

    def __init__(self, input_size: int, hidden_size: int, classes: int) -> None:
        super().__init__()
        self.rnn = nn.RNN(input_size, hidden_size, batch_first=True, nonlinearity="tanh")
        self.head = nn.Linear(hidden_size, classes)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.rnn(inputs)
        return self.head(outputs[:, -1])

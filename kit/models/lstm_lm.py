"""The word-level LSTM language model of the PyTorch LSTM dynamic quantization tutorial.

Embedding -> multi-layer LSTM -> linear decoder.
"""

from __future__ import annotations

import torch
from torch import nn

Hidden = tuple[torch.Tensor, torch.Tensor]


class LSTMModel(nn.Module):
    """Container module with an encoder, a recurrent module, and a decoder (as in that tutorial).

    Unlike the tutorial, `init_hidden` does not read `next(self.parameters())`: once the embedding
    is quantized as well the model may have no float parameter left, so a small buffer carries
    the device and dtype instead.
    """

    def __init__(self, ntoken: int, ninp: int = 512, nhid: int = 256, nlayers: int = 5, dropout: float = 0.5) -> None:
        super().__init__()
        self.ntoken, self.ninp, self.nhid, self.nlayers = ntoken, ninp, nhid, nlayers
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=dropout if nlayers > 1 else 0.0)
        self.decoder = nn.Linear(nhid, ntoken)
        self.register_buffer("_state_template", torch.zeros(0), persistent=False)
        self.init_weights()

    def init_weights(self) -> None:
        initrange = 0.1
        nn.init.uniform_(self.encoder.weight, -initrange, initrange)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -initrange, initrange)

    def forward(self, tokens: torch.Tensor, hidden: Hidden) -> tuple[torch.Tensor, Hidden]:
        """tokens (seq_len, batch) -> logits (seq_len, batch, ntoken) and the new hidden state."""
        emb = self.drop(self.encoder(tokens))
        # Under bf16 autocast (the recipe's training, where the CPU has bf16) the decoder's matmul runs in bf16
        # but the recurrence stays FP32: a bf16 recurrence learned measurably slower. Elsewhere this is a no-op.
        with torch.autocast("cpu", enabled=False):
            output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        return self.decoder(output), hidden

    def init_hidden(self, batch_size: int) -> Hidden:
        """Zero (h, c), each (nlayers, batch, nhid), on the model's device."""
        template = self._state_template
        shape = (self.nlayers, batch_size, self.nhid)
        return (template.new_zeros(shape), template.new_zeros(shape))


def repackage_hidden(hidden: Hidden) -> Hidden:
    """Detach the hidden state from the graph of the previous batch (truncated backprop through time)."""
    return tuple(h.detach() for h in hidden)  # type: ignore[return-value]

"""A small decoder-only transformer language model (chapter 9), built the way large ones are.

Pre-LayerNorm blocks; causal self-attention through `F.scaled_dot_product_attention` with rotary position
embeddings (RoPE, as LLaMA uses), so it runs at any length; an MLP with ReLU (as OPT's), which is positively
homogeneous: a per-channel scale s > 0 moves through it, relu(s·x) = s·relu(x), so AWQ's scales can be folded
into the first MLP Linear; tied input and output embeddings; and a KV cache for decoding one token at a time.

Every matrix product of a block is an `nn.Linear` (qkv, proj, fc1, fc2): weight-only quantization replaces
exactly those, and they hold most of the model's parameters.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class KVCache:
    """The keys and values of every token decoded so far, per block: what attention re-reads at each step.

    `update(block, k, v)` appends the new tokens' keys and values (batch, heads, tokens, head_dim) and returns
    everything cached for that block. A subclass can store them differently (e.g. int8 codes and scales) as long
    as update returns float tensors; `nbytes` counts what it holds.
    """

    def __init__(self, blocks: int) -> None:
        self.keys: list[torch.Tensor | None] = [None] * blocks
        self.values: list[torch.Tensor | None] = [None] * blocks

    def update(self, block: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.keys[block] is not None:
            k, v = torch.cat((self.keys[block], k), dim=2), torch.cat((self.values[block], v), dim=2)
        self.keys[block], self.values[block] = k, v
        return k, v

    @property
    def length(self) -> int:
        """Tokens cached (0 when empty)."""
        return 0 if self.keys[0] is None else self.keys[0].shape[2]

    @property
    def nbytes(self) -> int:
        """Bytes held by the cached tensors."""
        return sum(t.numel() * t.element_size() for t in (*self.keys, *self.values) if t is not None)


def rotary_tables(head_dim: int, positions: torch.Tensor, base: float = 10_000.0) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of RoPE's angles for `positions` (tokens,): each (tokens, head_dim / 2)."""
    inverse = 1.0 / base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    angles = positions.float()[:, None] * inverse[None, :]
    return angles.cos(), angles.sin()


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate each (even, odd) pair of x's last dimension by its position's angle (RoPE)."""
    even, odd = x[..., 0::2], x[..., 1::2]
    return torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1).flatten(-2)


class Attention(nn.Module):
    """Multi-head causal self-attention: one qkv Linear, RoPE on q and k, SDPA, one output Linear (proj)."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        if width % heads or (width // heads) % 2:
            raise ValueError(f"width {width} must split into {heads} heads of an even size")
        self.width, self.heads, self.head_dim = width, heads, width // heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, start: int = 0, cache: KVCache | None = None, block: int = 0) -> torch.Tensor:
        """x (batch, tokens, width) at positions start, start + 1, ...; `cache` (this is its `block`) is extended."""
        batch, tokens, _ = x.shape
        q, k, v = self.qkv(x).view(batch, tokens, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        cos, sin = rotary_tables(self.head_dim, torch.arange(start, start + tokens))
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        if cache is not None:
            k, v = cache.update(block, k, v)
        if tokens == 1:   # one new token attends to everything before it: no mask needed
            out = F.scaled_dot_product_attention(q, k, v)
        elif k.shape[2] == tokens:   # a whole prefix: the usual causal mask
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:   # several new tokens after a cached prefix: each sees the prefix and the new tokens before it
            past = k.shape[2] - tokens
            mask = torch.ones(tokens, k.shape[2], dtype=torch.bool).tril(diagonal=past)
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.proj(out.transpose(1, 2).reshape(batch, tokens, self.width))


class Block(nn.Module):
    """x + attention(LayerNorm(x)), then x + fc2(relu(fc1(LayerNorm(x))))."""

    def __init__(self, width: int, heads: int, mlp_ratio: int = 4, dropout: float = 0.0) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attn = Attention(width, heads)
        self.fc1, self.fc2 = nn.Linear(width, mlp_ratio * width), nn.Linear(mlp_ratio * width, width)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, start: int = 0, cache: KVCache | None = None, block: int = 0) -> torch.Tensor:
        x = x + self.drop(self.attn(self.ln1(x), start, cache, block))
        return x + self.drop(self.fc2(F.relu(self.fc1(self.ln2(x)))))


class DecoderLM(nn.Module):
    """Token embedding -> pre-LN blocks -> LayerNorm -> logits through the (tied) embedding matrix."""

    def __init__(self, vocab: int, width: int = 256, layers: int = 4, heads: int = 4, context: int = 128,
                 mlp_ratio: int = 4, dropout: float = 0.0) -> None:
        super().__init__()
        if vocab < 2 or width < 2 or layers < 1 or context < 2:
            raise ValueError(f"need vocab >= 2, width >= 2, layers >= 1, context >= 2; got {vocab}, {width}, "
                             f"{layers}, {context}")
        self.vocab, self.width, self.context = vocab, width, context
        self.embed = nn.Embedding(vocab, width)
        self.blocks = nn.ModuleList(Block(width, heads, mlp_ratio, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab, bias=False)
        self.head.weight = self.embed.weight   # tied: one matrix reads tokens in and scores them out
        self.drop = nn.Dropout(dropout)
        self.apply(self._init)
        for block in self.blocks:   # GPT-2's scaling of the residual projections
            for linear in (block.attn.proj, block.fc2):
                nn.init.normal_(linear.weight, std=0.02 / math.sqrt(2 * layers))

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def new_cache(self) -> KVCache:
        """An empty KV cache for this model, filled by forward(..., cache=...)."""
        return KVCache(len(self.blocks))

    def forward(self, ids: torch.Tensor, cache: KVCache | None = None, start: int = 0) -> torch.Tensor:
        """Logits (batch, tokens, vocab) for ids (batch, tokens) at positions start, start + 1, ...

        With `cache`, the keys and values of these tokens are appended to it, so the next call can pass only
        the new token (and start = the number of tokens already cached).
        """
        if ids.dim() != 2:
            raise ValueError(f"ids must be (batch, tokens), got shape {tuple(ids.shape)}")
        x = self.drop(self.embed(ids))
        for i, block in enumerate(self.blocks):
            x = block(x, start, cache, i)
        return self.head(self.norm(x))


@torch.inference_mode()
def generate(model: DecoderLM, prompt: torch.Tensor, new_tokens: int, *, use_cache: bool = True,
             cache: KVCache | None = None) -> torch.Tensor:
    """Greedy continuation of a 1-D prompt by `new_tokens` tokens: with the KV cache (a new one, or `cache`, e.g.
    a quantized one), or without it (every step recomputes the whole sequence)."""
    ids = prompt.view(1, -1)
    if not use_cache:
        for _ in range(new_tokens):
            ids = torch.cat((ids, model(ids)[:, -1:].argmax(-1)), dim=1)
        return ids[0, prompt.numel():]
    cache = cache if cache is not None else model.new_cache()
    logits = model(ids, cache)
    out = []
    for step in range(new_tokens):
        token = logits[:, -1:].argmax(-1)
        out.append(token)
        logits = model(token, cache, start=prompt.numel() + step)
    return torch.cat(out, dim=1)[0]

"""A GPT-2-style decoder with per-layer heads and MLP ratio (the HW-GPT-Bench model, litgpt lineage).

Each layer: pre-LayerNorm causal self-attention with ``heads`` heads of a fixed size (64 in
HW-GPT-Bench, so the attention width ``heads * 64`` may differ from the embedding), then a pre-LayerNorm
GELU MLP of ``mlp_ratio * embed`` units. Token and learned position embeddings, a final LayerNorm,
and an LM head tied to the token embedding (GPT-2, Radford et al. 2019). ``bias`` switches the bias of
every Linear and LayerNorm (nanoGPT's convention). With ``heads * 64 == embed``, uniform layers and
bias on, the parameters are those of ``transformers``' ``GPT2LMHeadModel`` (tested).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn as nn

from spaces.text_models import last_token


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with its own head count and head size."""

    def __init__(self, embed: int, heads: int, head_size: int, bias: bool) -> None:
        super().__init__()
        self.heads, self.head_size = heads, head_size
        self.qkv = nn.Linear(embed, 3 * heads * head_size, bias=bias)
        self.proj = nn.Linear(heads * head_size, embed, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attention over the positions up to each one."""
        n, t, _ = x.shape
        q, k, v = self.qkv(x).view(n, t, 3, self.heads, self.head_size).permute(2, 0, 3, 1, 4)
        # explicit softmax attention: twice differentiable (GraSP's Hessian products), unlike fused kernels
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(self.head_size)
        causal = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        out = scores.masked_fill(causal, float("-inf")).softmax(dim=-1) @ v
        return self.proj(out.transpose(1, 2).reshape(n, t, self.heads * self.head_size))


class Layer(nn.Module):
    """One pre-norm decoder layer."""

    def __init__(self, embed: int, heads: int, head_size: int, mlp_ratio: int, bias: bool) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(embed, bias=bias)
        self.attn = CausalSelfAttention(embed, heads, head_size, bias)
        self.ln_2 = nn.LayerNorm(embed, bias=bias)
        self.mlp = nn.Sequential(
            nn.Linear(embed, mlp_ratio * embed, bias=bias),
            nn.GELU(approximate="tanh"),
            nn.Linear(mlp_ratio * embed, embed, bias=bias),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual attention, then residual MLP."""
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """The decoder; ``num_classes`` None gives next-token logits, else last-token class logits."""

    def __init__(
        self,
        vocab_size: int,
        max_positions: int,
        embed: int,
        layers: Sequence[tuple[int, int]],
        head_size: int,
        bias: bool,
        num_classes: int | None = None,
    ) -> None:
        super().__init__()
        self.wte = nn.Embedding(vocab_size, embed)
        self.wpe = nn.Embedding(max_positions, embed)
        self.layers = nn.ModuleList(Layer(embed, h, head_size, m, bias) for h, m in layers)
        self.ln_f = nn.LayerNorm(embed, bias=bias)
        self.lm_head = nn.Linear(embed, vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # tied, as GPT-2
        self.score = None if num_classes is None else nn.Linear(embed, num_classes, bias=False)
        self.apply(_init)

    def get_output_embeddings(self) -> nn.Module | None:
        """The LM head (tied to the token embedding); None for a classifier."""
        return self.lm_head if self.score is None else None

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits for token ids ``(N, T)``: ``(N, T, vocab)``, or ``(N, classes)`` for a classifier."""
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.wte(ids) + self.wpe(positions)
        for layer in self.layers:
            x = layer(x)
        x = self.ln_f(x)
        if self.score is None:
            return self.lm_head(x)
        return self.score(last_token(x, ids))


def _init(module: nn.Module) -> None:
    """GPT-2's initialisation: N(0, 0.02) weights and embeddings, zero biases."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)

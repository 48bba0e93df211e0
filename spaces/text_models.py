"""What the transformer config spaces (gpt, bert, llama) share: build options, heads and init.

Build options (all optional):

* ``scale``: every width (embedding, head size, MLP) divided by this integer, for tiny test builds.
* ``vocab_size`` / ``max_positions``: the embedding tables' sizes (default: the task's vocabulary
  and sequence length), e.g. a published tokenizer's 30,522 tokens when counting a published model.
* ``device``: ``"meta"`` builds without memory (parameter counts of multi-billion-parameter points).
* ``head``: False returns the bare backbone (``BertModel`` with its pooler; ``LlamaModel``), which is
  what some published counts are of.

A network takes token ids ``(N, seq_len)``; id :data:`PAD_ID` is padding (masked where the model
supports a mask, skipped by last-token pooling). It returns logits ``(N, classes)`` for a
classification task and ``(N, seq_len, vocab)`` for a language-modelling one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from spaces.base import Task, TokenInput
from spaces.config import check_options

if TYPE_CHECKING:
    import torch
    import torch.nn as nn

PAD_ID = 0
"""The padding token id of the embedded text tasks' tokenizer."""
OPTIONS = ("scale", "vocab_size", "max_positions", "device", "head")


@dataclass(frozen=True)
class TextBuild:
    """Checked build options of a transformer space for one task."""

    scale: int
    vocab_size: int
    max_positions: int
    device: str
    head: bool
    language_model: bool
    num_classes: int

    def width(self, value: int, what: str) -> int:
        """``value`` divided by ``scale`` (ValueError unless it divides exactly and stays positive)."""
        if value % self.scale:
            raise ValueError(f"{what} {value} is not divisible by build option scale={self.scale}")
        return value // self.scale


def text_build(space: str, task: Task, options: Mapping[str, Any]) -> TextBuild:
    """The build options of ``options`` for ``task`` (TypeError / ValueError naming a bad one)."""
    check_options(space, options, OPTIONS)
    spec = task.input
    if not isinstance(spec, TokenInput):  # pragma: no cover - the space's check_input refuses first
        raise ValueError(f"space {space!r} takes token inputs, not {spec}")
    out = TextBuild(
        scale=options.get("scale", 1),
        vocab_size=options.get("vocab_size", spec.vocab_size),
        max_positions=options.get("max_positions", spec.seq_len),
        device=options.get("device", "cpu"),
        head=options.get("head", True),
        language_model=task.objective == "language_modeling",
        num_classes=task.num_classes,
    )
    for name in ("scale", "vocab_size", "max_positions"):
        value = getattr(out, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{space} build option {name} must be a positive integer, got {value!r}")
    if out.vocab_size < spec.vocab_size or out.max_positions < spec.seq_len:
        raise ValueError(
            f"{space} build options vocab_size={out.vocab_size}, max_positions={out.max_positions} are "
            f"smaller than task {task.name!r}'s input {spec}"
        )
    if out.device not in ("cpu", "meta"):
        raise ValueError(f"{space} build option device must be 'cpu' or 'meta', got {out.device!r}")
    if not isinstance(out.head, bool):
        raise ValueError(f"{space} build option head must be True or False, got {out.head!r}")
    return out


def last_token(hidden: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Each sequence's hidden state at its last non-padding token (GPT-2 / LLaMA sequence classification)."""
    import torch

    length = (ids != PAD_ID).sum(dim=1).clamp(min=1)
    return hidden[torch.arange(len(ids), device=ids.device), length - 1]


def hf_wrapper(model: nn.Module, mask: bool) -> nn.Module:
    """A module mapping token ids to the logits tensor of a ``transformers`` model."""
    from spaces.nets import HFLogits

    return HFLogits(model, mask)


def with_per_layer_configs(
    make_model: Callable[[], nn.Module],
    layer_slots: Callable[[nn.Module], nn.ModuleList],
    make_layer: Callable[..., nn.Module],
    base: Any,
    changes: Sequence[Mapping[str, Any]],
    device: str,
) -> nn.Module:
    """A transformers model whose layer i is ``make_layer(config_i, layer_idx=i)``, config_i being
    ``base`` with ``changes[i]`` set (heterogeneous layers, which transformers' configs cannot express),
    built on ``device`` and then given transformers' initialisation over the replaced layers (not on
    ``meta``, which holds no values)."""
    import copy

    import torch

    with torch.device(device):
        model = make_model()
        slots = layer_slots(model)
        for i, change in enumerate(changes):
            config = copy.deepcopy(base)
            for key, value in change.items():
                setattr(config, key, value)
            slots[i] = make_layer(config, layer_idx=i)
    if device != "meta":
        model.apply(model._init_weights)
    return model

"""`Protocol`: everything that defines *what* a proxy measures, hashed to ``protocol_hash``.

Seed, device, threads and library versions are recorded beside each score, not hashed, so seeds
can be aggregated and a library upgrade does not orphan a table. The hash is SHA-256 of the
canonical JSON (sorted keys, no whitespace) of :meth:`Protocol.to_dict`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from spaces.specs import MAX_BATCH_SIZE, MAX_RESOLUTION, HashedSpec, check_int, frozen_items

DTYPES = ("float32", "float64", "bfloat16")
BN_MODES = ("train", "eval")
INPUTS = ("data", "gaussian", "random")
"""What a proxy batch holds: ``data``, a real train batch; ``gaussian``, N(0,1) inputs with the real
batch's labels (the task's files are read for the labels); ``random``, N(0,1) inputs with labels drawn
uniformly from the task's classes, NASLib's "random" data mode, which needs no files at all."""


@dataclass(frozen=True)
class Protocol(HashedSpec):
    """The fixed, recorded conditions of a zero-cost proxy evaluation.

    Args:
        task: registered task name (classes, channels, native resolution, data set).
        batch_size: images per proxy batch (batches come from the ``train`` split only).
        resolution: input side in pixels; None means the task's native resolution.
        dtype: parameter and input dtype.
        init: weight-init scheme (see ``proxies.init.INITS``).
        bn_mode: BatchNorm in ``train`` (batch statistics) or ``eval`` (running statistics) mode.
        input: ``data`` (a real batch), ``gaussian`` (N(0,1) noise of the same shape, real labels) or
            ``random`` (N(0,1) noise and uniform random labels: needs only the task's shape and classes).
        loss: the loss used by gradient proxies.
        build: network build options passed to the space (e.g. ``{"C": 16, "N": 5}``).
        params: per-proxy hyper-parameters, ``{proxy: {name: value}}``.
    """

    task: str = "mnist5k"
    batch_size: int = 64
    resolution: int | None = None
    dtype: str = "float32"
    init: str = "default"
    bn_mode: str = "train"
    input: str = "data"
    loss: str = "cross_entropy"
    split: str = "train"
    build: tuple[tuple[str, Any], ...] = field(default=())
    params: tuple[tuple[str, Any], ...] = field(default=())

    _spec_name: ClassVar[str] = "protocol"
    _pair_fields: ClassVar[tuple[str, ...]] = ("build", "params")

    def __post_init__(self) -> None:
        object.__setattr__(self, "build", frozen_items(dict(self.build)))
        object.__setattr__(
            self, "params", tuple(sorted((k, frozen_items(dict(v))) for k, v in dict(self.params).items()))
        )
        check_int(self.batch_size, "protocol batch_size", 1, MAX_BATCH_SIZE)
        if self.resolution is not None:
            check_int(self.resolution, "protocol resolution (or None)", 4, MAX_RESOLUTION)
        for name, value, allowed in (
            ("dtype", self.dtype, DTYPES),
            ("bn_mode", self.bn_mode, BN_MODES),
            ("input", self.input, INPUTS),
            ("loss", self.loss, ("cross_entropy",)),
        ):
            if value not in allowed:
                raise ValueError(f"protocol {name} {value!r} is not one of {', '.join(allowed)}")
        if self.split != "train":
            raise ValueError(f"proxy batches come from the train split only, got split {self.split!r}")

    def build_options(self) -> dict[str, Any]:
        """The network build options as a dict."""
        return dict(self.build)

    def proxy_params(self, proxy: str) -> dict[str, Any]:
        """Hyper-parameters recorded for ``proxy``."""
        return dict(dict(self.params).get(proxy, ()))

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (the hashed content: ``protocol_hash``)."""
        out = super().to_dict()
        out["params"] = {k: dict(v) for k, v in self.params}
        return out

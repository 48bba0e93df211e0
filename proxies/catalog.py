"""The built-in proxies: one card and one lazy target per line (adding a proxy = a module + a line here)."""

from __future__ import annotations

from proxies.base import ProxyCard, register_proxy

_ZERO_GRAD = "0.0 exactly: no weight can change the output, so every saliency term is zero"

register_proxy(
    ProxyCard(
        "params",
        "parameters of the network, in millions",
        "Dong & Yang, NAS-Bench-201, ICLR 2020",
        unit="M",
        kind="cost",
        needs_data=False,
        needs_grad=False,
        higher_is_better=True,
    ),
    "proxies.cost:params",
)
register_proxy(
    ProxyCard(
        "flops",
        "Conv2d+Linear multiply-accumulates per image (bias included), in millions (NB201 convention)",
        "Dong & Yang, NAS-Bench-201, ICLR 2020",
        unit="MFLOPs",
        kind="cost",
        needs_data=False,
        needs_grad=False,
        higher_is_better=True,
    ),
    "proxies.cost:flops",
)
register_proxy(
    ProxyCard(
        "synflow",
        "synaptic flow on |weights| and an all-ones input, float64, BN removed",
        "Tanaka et al., NeurIPS 2020; Abdelfattah et al., ICLR 2021",
        needs_data=False,
        degenerate=_ZERO_GRAD,
    ),
    "proxies.synflow:synflow",
)
register_proxy(
    ProxyCard(
        "snip",
        "sum of |weight * loss gradient| over Conv2d/Linear weights",
        "Lee et al., ICLR 2019; Abdelfattah et al., ICLR 2021",
        needs_labels=True,
        degenerate=_ZERO_GRAD,
    ),
    "proxies.gradients:snip",
)
register_proxy(
    ProxyCard(
        "grad_norm",
        "sum over Conv2d/Linear layers of the loss gradient's L2 norm",
        "Abdelfattah et al., ICLR 2021",
        needs_labels=True,
        degenerate=_ZERO_GRAD,
    ),
    "proxies.gradients:grad_norm",
)
register_proxy(
    ProxyCard(
        "jacob_cov",
        "eigen-spectrum of the correlation of input Jacobians across the batch",
        "Mellor et al., arXiv:2006.04647v1 (2020)",
        degenerate="status nan: every Jacobian row is zero, so the correlation is undefined",
    ),
    "proxies.jacob_cov:jacob_cov",
)
register_proxy(
    ProxyCard(
        "nwot",
        "log-determinant of the ReLU activation-pattern agreement kernel (NASWOT)",
        "Mellor et al., ICML 2021",
        needs_grad=False,
        degenerate="computed as usual (codes before the zeroed cell still differ); status nan if K is singular",
    ),
    "proxies.nwot:nwot",
)

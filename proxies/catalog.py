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
        "model_bytes",
        "parameter storage in MB at each layer's numeric format (fp32 4, bf16 2, int8 1 byte + per-channel "
        "scales; 4 x params for an fp32 network)",
        "Dotzel et al., FLIQS, AutoML 2024 (arXiv:2308.03290)",
        unit="MB",
        kind="cost",
        needs_data=False,
        needs_grad=False,
        higher_is_better=True,
    ),
    "proxies.cost:model_bytes",
)
register_proxy(
    ProxyCard(
        "decoder_params",
        "non-embedding parameters in millions: all but token/position embeddings and the LM head "
        "(nan on networks without a token embedding)",
        "Javaheripi et al., LiteTransformerSearch, NeurIPS 2022 (arXiv:2203.02094)",
        unit="M",
        kind="cost",
        needs_data=False,
        needs_grad=False,
        higher_is_better=True,
        inputs=("tokens",),
    ),
    "proxies.cost:decoder_params",
)
register_proxy(
    ProxyCard(
        "synflow",
        "synaptic flow on |weights| and an all-ones input, float64, BN removed",
        "Tanaka et al., NeurIPS 2020; Abdelfattah et al., ICLR 2021",
        needs_data=False,
        degenerate=_ZERO_GRAD,
        inputs=("image",),  # it feeds or differentiates continuous inputs; token ids are discrete
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
        shared=("loss",),
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
        shared=("loss",),
    ),
    "proxies.gradients:grad_norm",
)
register_proxy(
    ProxyCard(
        "jacob_cov",
        "eigen-spectrum of the correlation of input Jacobians across the batch",
        "Mellor et al., arXiv:2006.04647v1 (2020)",
        degenerate="status nan: every Jacobian row is zero, so the correlation is undefined",
        shared=("jacobian",),
        inputs=("image",),  # it feeds or differentiates continuous inputs; token ids are discrete
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
        shared=("relu_kernel",),
        activation="ReLU",
    ),
    "proxies.nwot:nwot",
)
register_proxy(
    ProxyCard(
        "logsynflow",
        "SynFlow with log-scaled gradients, sum |theta * log(dR/dtheta + 1)|, float64, BN removed",
        "Cavagnero et al., FreeREA, arXiv:2207.05135 (2022), WACV 2023",
        needs_data=False,
        degenerate=_ZERO_GRAD,
        inputs=("image",),  # it feeds or differentiates continuous inputs; token ids are discrete
    ),
    "proxies.synflow:logsynflow",
)
register_proxy(
    ProxyCard(
        "grasp",
        "sum of -theta * (H g) over Conv2d/Linear weights (Hessian-gradient product of the loss)",
        "Wang et al., ICLR 2020; Abdelfattah et al., ICLR 2021",
        needs_labels=True,
        degenerate=_ZERO_GRAD,
        shared=("loss", "hessian"),
    ),
    "proxies.grasp:grasp",
)
register_proxy(
    ProxyCard(
        "fisher",
        "channel Fisher saliency 0.5 mean_n (sum_pos act * dL/dact)^2, per weight (Abdelfattah's form)",
        "Turner et al., BlockSwap, ICLR 2020; Abdelfattah et al., ICLR 2021",
        needs_labels=True,
        degenerate="computed as usual: only the classifier's output term (bias logits x loss gradient) remains",
        shared=("loss", "saliency"),
    ),
    "proxies.fisher:fisher",
)
register_proxy(
    ProxyCard(
        "grad_sign",
        "sum over weights of |sum over images of sign(per-image loss gradient)|",
        "Zhang & Jia, GradSign, ICLR 2022",
        needs_labels=True,
        degenerate="0.0 exactly: every per-image weight gradient is zero, so every sign is 0",
        revision=2,  # batched per-image gradients (torch.func.vmap): rounding can flip near-zero signs
    ),
    "proxies.grad_sign:grad_sign",
)
register_proxy(
    ProxyCard(
        "epe_nas",
        "per-class correlation of input Jacobians, sum_c |sum log(|corr| + k)|",
        "Lopes et al., EPE-NAS, ICANN 2021",
        needs_labels=True,
        degenerate="status nan: every Jacobian row is zero, so the correlation is undefined",
        shared=("jacobian",),
        inputs=("image",),  # it feeds or differentiates continuous inputs; token ids are discrete
    ),
    "proxies.epe_nas:epe_nas",
)
register_proxy(
    ProxyCard(
        "zen",
        "log of the pre-GAP response to a Gaussian input perturbation plus log BN scales (Gaussian init)",
        "Lin et al., Zen-NAS, ICCV 2021",
        needs_data=False,
        needs_grad=False,
        degenerate="status nan: the pre-GAP features ignore the input perturbation, log 0 is undefined",
        inputs=("image",),  # it feeds or differentiates continuous inputs; token ids are discrete
    ),
    "proxies.zen:zen",
)
register_proxy(
    ProxyCard(
        "zico",
        "sum over layers of log sum_theta mean|g| / std g of loss gradients across minibatches",
        "Li et al., ZiCo, ICLR 2023",
        needs_labels=True,
        degenerate="status nan: every weight gradient is zero in every minibatch, mean/std is undefined",
    ),
    "proxies.zico:zico",
)
register_proxy(
    ProxyCard(
        "l2_norm",
        "sum over Conv2d/Linear layers of the weight's Frobenius norm (data-free baseline)",
        "Abdelfattah et al., ICLR 2021",
        needs_data=False,
        needs_grad=False,
        degenerate="computed as usual: the weights exist whether or not the output uses them",
    ),
    "proxies.l2_norm:l2_norm",
)
register_proxy(
    ProxyCard(
        "plain",
        "signed sum of weight * loss gradient over Conv2d/Linear weights",
        "Abdelfattah et al., ICLR 2021",
        needs_labels=True,
        degenerate=_ZERO_GRAD,
        shared=("loss",),
    ),
    "proxies.gradients:plain",
)
register_proxy(
    ProxyCard(
        "ntk",
        "condition number lambda_max / lambda_min of the empirical NTK of the batch's summed logits",
        "Chen et al., TE-NAS, ICLR 2021",
        higher_is_better=False,
        degenerate="status nan: no weight moves any logit, so the NTK is zero",
    ),
    "proxies.tenas:ntk",
)
register_proxy(
    ProxyCard(
        "linear_regions",
        "distinct ReLU activation patterns over Gaussian inputs (saturates at `samples` on wide nets)",
        "Chen et al., TE-NAS, ICLR 2021",
        unit="regions",
        needs_data=False,
        needs_grad=False,
        degenerate="computed as usual: ReLUs before the zeroed cell still separate inputs; 1 if none sees them",
        activation="ReLU",
    ),
    "proxies.tenas:linear_regions",
)
register_proxy(
    ProxyCard(
        "meco",
        "sum over Conv2d/Linear outputs of the smallest eigenvalue of the first image's channel correlation",
        "Jiang et al., MeCo, NeurIPS 2023",
        needs_grad=False,
        degenerate="computed as usual: layers before the zeroed cell contribute, constant maps after it give 0",
    ),
    "proxies.meco:meco",
)

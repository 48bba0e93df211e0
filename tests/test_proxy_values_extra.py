"""Values of the second wave of zero-cost proxies against hand computations and independent formulas.

Each test names the paper that defines the quantity. Expected values are derived in the docstrings or
with a few lines of numpy / torch.autograd written independently of the code under test (never by
calling the function under test a second time). Networks are tiny; NB201 cells use C=4, N=1, 8 px and a
batch of 8 on one thread.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from _proxy_helpers import context

import spaces
from proxies.base import ProxyContext, Undefined
from proxies.ensemble import VOTE_PROXIES, rank_ensemble, vote
from proxies.epe_nas import epe_nas, epe_nas_score
from proxies.fisher import fisher, fisher_score
from proxies.grad_sign import grad_sign, sign_agreement, sign_agreement_per_image
from proxies.grad_sign import per_image_gradients as per_image_loss_gradients
from proxies.gradients import plain, plain_score
from proxies.grasp import grasp, grasp_score, hessian_gradient_products
from proxies.jacob_cov import jacob_cov
from proxies.l2_norm import l2_norm, l2_norm_score
from proxies.meco import first_image_features, meco, meco_score, min_correlation_eigenvalue
from proxies.protocol import Protocol
from proxies.runner import score_architecture
from proxies.synflow import logsynflow, logsynflow_score, synflow
from proxies.tenas import (
    activation_codes,
    condition_number,
    count_patterns,
    linear_regions,
    linear_regions_count,
    ntk,
    ntk_condition_number,
    per_image_gradients,
)
from proxies.zen import gaussian_init, zen, zen_score
from proxies.zico import minibatch_gradients, zico, zico_score

W1 = np.array([[1, -2, 0], [3, 1, -1], [0, 0, 2], [-1, 1, 1]], dtype=np.float64)  # 4x3
W2 = np.array([[1, 0, -2, 1], [2, -1, 1, 0]], dtype=np.float64)  # 2x4

NB201_TINY = Protocol(task="mnist5k", batch_size=8, resolution=8, build={"C": 4, "N": 1})
NB201_ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def f32(a: np.ndarray) -> np.ndarray:
    """Round to float32 (the layers' dtype) and back."""
    return a.astype(np.float32).astype(np.float64)


def linear(w: np.ndarray, b: np.ndarray | None = None) -> nn.Linear:
    lin = nn.Linear(w.shape[1], w.shape[0], bias=b is not None)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(w))
        if b is not None:
            lin.bias.copy_(torch.from_numpy(b))
    return lin


def classifier_factory(w: np.ndarray, b: np.ndarray | None = None):
    """Flattened 4x4 MNIST image -> one Linear layer."""

    def factory():
        return nn.Sequential(nn.Flatten(), linear(w, b))

    return factory


def batch_arrays(ctx: ProxyContext) -> tuple[np.ndarray, np.ndarray]:
    x, y = ctx.batch()
    return x.reshape(len(x), -1).double().numpy(), y.numpy()


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def hand_linear_gradient(w, b, X, y) -> np.ndarray:
    """dL/dW of mean cross-entropy for logits X W^T + b: (softmax - onehot)^T X / n."""
    return (softmax(X @ w.T + b) - np.eye(w.shape[0])[y]).T @ X / len(X)


@pytest.fixture(scope="module")
def nb201():
    return spaces.get("nb201")


# ---- l2_norm -----------------------------------------------------------------------------------------


def test_l2_norm_on_explicit_weights():
    """l2_norm (Abdelfattah et al., ICLR 2021): sum of per-layer Frobenius norms.

    ||W1||^2 = 1+4+9+1+1+4+1+1+1 = 23 and ||W2||^2 = 1+4+1+4+1+1 = 12, so the score is sqrt(23) + sqrt(12).
    """
    weights = [torch.from_numpy(W1), torch.from_numpy(W2)]
    assert l2_norm_score(weights) == pytest.approx(math.sqrt(23) + math.sqrt(12), rel=1e-15)
    assert l2_norm_score([]) == 0.0


def test_l2_norm_reads_conv_and_linear_weights_only():
    """Biases and BatchNorm parameters are not counted (Abdelfattah et al., ICLR 2021)."""
    conv_w = np.arange(1, 2 * 1 * 3 * 3 + 1, dtype=np.float64).reshape(2, 1, 3, 3) / 10

    def factory():
        conv = nn.Conv2d(1, 2, 3, padding=1, bias=True)
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(conv_w))
            conv.bias.fill_(100.0)
        return nn.Sequential(
            conv, nn.BatchNorm2d(2), nn.Flatten(), linear(W2[:, :2].repeat(16, axis=1), np.ones(2))
        )

    expected = np.linalg.norm(f32(conv_w)) + np.linalg.norm(W2[:, :2].repeat(16, axis=1))
    assert l2_norm(context(factory)) == pytest.approx(expected, rel=1e-7)


# ---- plain -------------------------------------------------------------------------------------------


def test_plain_on_explicit_tensors():
    """plain (Abdelfattah et al., ICLR 2021) = sum g * w, signed.

    layer a: 1*0.5 + (-2)*1 + 3*(-2) + 0.5*4 = 0.5 - 2 - 6 + 2 = -5.5; layer b: 0 - 2 + 3 = 1; total -4.5.
    """
    grads = {
        "a": (torch.tensor([[1.0, -2.0], [3.0, 0.5]]), torch.tensor([[0.5, 1.0], [-2.0, 4.0]])),
        "b": (torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0.0, -1.0, 1.0])),
    }
    assert plain_score(grads) == -4.5
    assert plain_score({}) == 0.0


def test_plain_of_a_linear_classifier_matches_the_hand_gradient():
    """plain = sum(W * dL/dW) with dL/dW = (softmax(Z) - onehot)^T X / n (Abdelfattah et al., ICLR 2021)."""
    rng = np.random.default_rng(0)
    w, b = f32(rng.normal(size=(10, 16))), f32(rng.normal(size=10))
    ctx = context(classifier_factory(w, b))
    X, y = batch_arrays(ctx)
    assert plain(ctx) == pytest.approx(np.sum(w * hand_linear_gradient(w, b, X, y)), rel=1e-4, abs=1e-7)


# ---- logsynflow --------------------------------------------------------------------------------------


def test_logsynflow_two_layers_by_hand():
    """LogSynFlow (Cavagnero et al., FreeREA): sum |theta| log(1 + dR/dtheta) with R = 1^T |W2||W1| 1.

    dR/dW1[i, j] = (1^T |W2|)[i] = (3, 1, 3, 1) and dR/dW2[k, i] = (|W1| 1)[i] = (3, 5, 2, 3).
    """
    col2 = np.abs(W2).sum(axis=0)
    row1 = np.abs(W1).sum(axis=1)
    assert col2.tolist() == [3, 1, 3, 1] and row1.tolist() == [3, 5, 2, 3]
    expected = (np.abs(W1) * np.log1p(col2)[:, None]).sum() + (np.abs(W2) * np.log1p(row1)[None, :]).sum()
    net = nn.Sequential(linear(W1), nn.ReLU(), linear(W2))
    assert logsynflow_score(net, (1, 3)) == pytest.approx(expected, rel=1e-14)


def test_logsynflow_and_synflow_share_one_pass_and_need_no_data():
    """Both read ctx.synflow_gradients(); the BN-free copy is built once and the batch is never read."""
    rng = np.random.default_rng(5)
    a, b = f32(rng.normal(size=(3, 16))), f32(rng.normal(size=(2, 3)))
    calls = []

    def factory():
        calls.append(1)
        return nn.Sequential(nn.Flatten(), linear(a), nn.BatchNorm1d(3), nn.ReLU(), linear(b))

    ctx = context(factory)
    ctx.batch = None  # any use of the data would fail
    col = np.abs(b).sum(axis=0)
    row = np.abs(a).sum(axis=1)
    expected = (np.abs(a) * np.log1p(col)[:, None]).sum() + (np.abs(b) * np.log1p(row)[None, :]).sum()
    assert logsynflow(ctx) == pytest.approx(expected, rel=1e-12)
    assert synflow(ctx) == pytest.approx(2 * float(np.abs(b).sum(axis=0) @ np.abs(a).sum(axis=1)), rel=1e-12)
    assert len(calls) == 1


# ---- grasp -------------------------------------------------------------------------------------------


class MeanPixel(nn.Module):
    """(n, c, h, w) -> (n, 1): the mean pixel, a parameter-free feature."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(len(x), -1).mean(dim=1, keepdim=True)


class PadLogits(nn.Module):
    """Two logits -> ten (the other eight fixed at 0), so a 2-weight model fits the 10-class task."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return F.pad(z, (0, 8))


def test_grasp_on_a_two_parameter_model_matches_autograd_hvp():
    """GraSP (Wang et al., ICLR 2020; Abdelfattah et al., ICLR 2021) = -sum theta * (H g).

    The model is mean-pixel -> Linear(1, 2) without bias -> eight constant-zero logits: two weights.
    g and H g are computed independently with torch.autograd.functional (jacobian / hvp) on the loss as
    a function of the two weights.
    """
    w0 = np.array([[0.7], [-1.3]])

    def factory():
        return nn.Sequential(MeanPixel(), linear(w0), PadLogits())

    ctx = context(factory)
    x, y = ctx.batch()
    feats = x.reshape(len(x), -1).double().mean(dim=1, keepdim=True)

    def loss_of(w: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(F.pad(feats @ w.T, (0, 8)), y)

    w = torch.from_numpy(f32(w0))
    g = torch.autograd.functional.jacobian(loss_of, w)
    _, hg = torch.autograd.functional.hvp(loss_of, w, g)
    expected = float(-(w * hg).sum())
    assert grasp(ctx) == pytest.approx(expected, rel=1e-4)


def test_grasp_of_a_two_layer_net_in_float64_matches_hvp():
    """-theta . (H g) summed over both layers of a float64 MLP, against hvp on the flat parameter vector."""
    rng = np.random.default_rng(2)
    a, b = f32(rng.normal(size=(5, 4))), f32(rng.normal(size=(3, 5)))
    x = torch.from_numpy(rng.normal(size=(6, 4)))
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    net = nn.Sequential(linear(a), nn.Tanh(), linear(b)).double()

    def loss_of(flat: torch.Tensor) -> torch.Tensor:
        wa, wb = flat[:20].reshape(5, 4), flat[20:].reshape(3, 5)
        return F.cross_entropy(torch.tanh(x @ wa.T) @ wb.T, y)

    theta = torch.cat([torch.from_numpy(a).reshape(-1), torch.from_numpy(b).reshape(-1)])
    g = torch.autograd.functional.jacobian(loss_of, theta)
    _, hg = torch.autograd.functional.hvp(loss_of, theta, g)
    hg_layers = hessian_gradient_products(net, x, y, [g[:20].reshape(5, 4), g[20:].reshape(3, 5)])
    torch.testing.assert_close(torch.cat([h.reshape(-1) for h in hg_layers]), hg, rtol=1e-10, atol=1e-12)
    weights = [torch.from_numpy(a), torch.from_numpy(b)]
    assert grasp_score(weights, hg_layers) == pytest.approx(float(-(theta * hg).sum()), rel=1e-10)


def test_grasp_of_zero_gradients_is_exactly_zero():
    """H 0 = 0: a network no weight can change scores 0.0 (and +0.0, not -0.0)."""
    value = grasp_score([torch.tensor([1.0, -2.0])], [torch.tensor([0.0, -0.0])])
    assert value == 0.0 and math.copysign(1.0, value) == 1.0


# ---- fisher ------------------------------------------------------------------------------------------


def test_fisher_score_on_explicit_saliencies():
    """Fisher (Turner et al., BlockSwap): Delta_k = 0.5 mean_n s_nk^2.

    s = [[1, 2], [3, 4]] (2 images, 2 channels): Delta = (0.5 * (1 + 9) / 2, 0.5 * (4 + 16) / 2) = (2.5, 5),
    summed 7.5; Abdelfattah et al.'s per-weight form with fan-in 3 gives 22.5. Two calls of a layer add.
    """
    s = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    assert fisher_score({"a": (s,)}) == 7.5
    assert fisher_score({"a": (s,)}, {"a": 3}) == 22.5
    assert fisher_score({"a": (s, s)}, {"a": 3}) == 45.0
    assert fisher_score({"a": ()}, {"a": 3}) == 0.0


def test_fisher_of_an_mlp_matches_a_manual_activation_gradient_computation():
    """Fisher (Turner et al., ICLR 2020; Abdelfattah et al., ICLR 2021) on Linear(16, 5) -> ReLU -> Linear(5, 10).

    The activations a1 = X W1^T, a2 = relu(a1) W2^T + b2 and their loss gradients are computed by hand
    in float64 with torch.autograd.grad; for Linear layers there are no positions, so s = a * dL/da.
    """
    rng = np.random.default_rng(3)
    wa, wb, bb = f32(rng.normal(size=(5, 16))), f32(rng.normal(size=(10, 5))), f32(rng.normal(size=10))

    def factory():
        return nn.Sequential(nn.Flatten(), linear(wa), nn.ReLU(), linear(wb, bb))

    ctx = context(factory)
    x, y = ctx.batch()
    X = x.reshape(len(x), -1).double()
    a1 = (X @ torch.from_numpy(wa).T).requires_grad_()
    a2 = torch.relu(a1) @ torch.from_numpy(wb).T + torch.from_numpy(bb)
    ga1, ga2 = torch.autograd.grad(F.cross_entropy(a2, y), [a1, a2])
    deltas = [0.5 * ((a.detach() * g) ** 2).mean(dim=0) for a, g in ((a1, ga1), (a2, ga2))]
    per_weight = float(deltas[0].sum() * 16 + deltas[1].sum() * 5)
    per_channel = float(deltas[0].sum() + deltas[1].sum())
    assert fisher(ctx) == pytest.approx(per_weight, rel=1e-4)
    ctx2 = context(factory, params={"fisher": {"per_weight": False}})
    assert fisher(ctx2) == pytest.approx(per_channel, rel=1e-4)


def test_output_saliencies_sum_over_positions_for_convolutions():
    """s_nk = sum over positions of a_nkhw * dL/da_nkhw for a Conv2d (Turner et al.'s channel saliency)."""
    rng = np.random.default_rng(4)
    wc = f32(rng.normal(size=(3, 1, 3, 3)))
    wl = f32(rng.normal(size=(10, 48)))

    def factory():
        conv = nn.Conv2d(1, 3, 3, padding=1, bias=False)
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(wc))
        return nn.Sequential(conv, nn.Flatten(), linear(wl))

    ctx = context(factory)
    x, y = ctx.batch()
    a = F.conv2d(x.double(), torch.from_numpy(wc), padding=1).requires_grad_()
    logits = a.reshape(len(x), -1) @ torch.from_numpy(wl).T
    (ga,) = torch.autograd.grad(F.cross_entropy(logits, y), [a])
    expected = (a.detach() * ga).sum(dim=(2, 3))
    (s,) = ctx.output_saliencies()["0"]
    assert s.dtype == torch.float64 and s.shape == (8, 3)
    torch.testing.assert_close(s, expected, rtol=1e-4, atol=1e-6)  # the pass runs in float32


def test_loss_pass_is_shared_by_snip_plain_fisher_and_grasp_first_gradient():
    calls = []

    def factory():
        calls.append(1)
        return nn.Sequential(nn.Flatten(), nn.Linear(16, 10))

    from proxies.gradients import snip

    ctx = context(factory, shared=("loss", "saliency"))
    snip(ctx), plain(ctx), fisher(ctx)
    assert len(calls) == 1
    grasp(ctx)  # H g was not planned: one more network for its own (create_graph) pass
    assert len(calls) == 2


# ---- grad_sign ---------------------------------------------------------------------------------------


def test_grad_sign_on_a_hand_example():
    """GradSign (Zhang & Jia, ICLR 2022) on Linear(2, 2) without bias, weights 0, two images.

    With zero weights softmax is (1/2, 1/2), so image i's gradient is (p - onehot(y_i)) x_i^T.
    Image 1: x = (1, -2), y = 0 -> rows (-1/2)(1, -2) and (1/2)(1, -2): signs [[-, +], [+, -]].
    Image 2: x = (3, 1), y = 1 -> rows (1/2)(3, 1) and (-1/2)(3, 1): signs [[+, +], [-, -]].
    Sums of signs [[0, 2], [0, -2]]: the score is |0| + |2| + |0| + |-2| = 4.
    """
    net = linear(np.zeros((2, 2)))
    x = torch.tensor([[1.0, -2.0], [3.0, 1.0]])
    y = torch.tensor([0, 1])
    assert sign_agreement(net, x, y) == 4.0


def test_grad_sign_of_a_linear_classifier_matches_per_image_hand_gradients():
    """sum_theta |sum_i sign(g_i(theta))| with g_i = (softmax(W x_i + b) - onehot(y_i)) x_i^T."""
    rng = np.random.default_rng(6)
    w, b = f32(rng.normal(size=(10, 16))), f32(rng.normal(size=10))
    ctx = context(classifier_factory(w, b))
    X, y = batch_arrays(ctx)
    signs = sum(np.sign(hand_linear_gradient(w, b, X[i : i + 1], y[i : i + 1])) for i in range(len(X)))
    assert grad_sign(ctx) == float(np.abs(signs).sum())


def test_grad_sign_routes_agree_on_hand_examples():
    """Revision 2's batched route and revision 1's per-image loop give the same integer on exact cases."""
    net = linear(np.zeros((2, 2)))
    x, y = torch.tensor([[1.0, -2.0], [3.0, 1.0]]), torch.tensor([0, 1])
    assert sign_agreement_per_image(net, x, y) == sign_agreement(linear(np.zeros((2, 2))), x, y) == 4.0


def test_grad_sign_batched_gradients_are_each_images_own_on_an_nb201_cell(nb201):
    """vmap over batch-of-one losses gives, per image, the gradient a lone forward/backward gives: train-mode
    BatchNorm normalises each image with its own statistics in both routes. The integer score may move only
    where rounding flips a near-zero gradient's sign (revision 2 in the card)."""
    ctx = ProxyContext(nb201, nb201.parse(NB201_ARCH), NB201_TINY, 0, "cpu", shared=set())
    x, y = ctx.batch()
    model = ctx.fresh_model()
    batched = {k: v.clone() for k, v in next(per_image_loss_gradients(ctx.fresh_model(), x, y)).items()}
    names = {id(p): n for n, p in model.named_parameters()}
    for i in range(min(len(x), 4)):
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x[i : i + 1]), y[i : i + 1]).backward()
        for m in model.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                g = m.weight.grad
                scale = float(g.abs().max())  # float32 rounding, relative to the layer's gradient scale
                torch.testing.assert_close(batched[names[id(m.weight)]][i], g, rtol=1e-3, atol=1e-5 * scale)
    fast, slow = sign_agreement(ctx.fresh_model(), x, y), sign_agreement_per_image(ctx.fresh_model(), x, y)
    assert fast == pytest.approx(slow, rel=1e-3) and fast == int(fast) and fast > 0


def test_grad_sign_falls_back_to_the_loop_where_vmap_cannot_batch():
    """A forward with data-dependent control flow (as transformers' BERT has) cannot be vmapped: the score
    then comes from revision 1's per-image loop, exactly."""

    class Branchy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = linear(np.arange(6.0).reshape(2, 3) / 10 - 0.2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x) if bool(x.sum() > 0) else -self.fc(x)

    x = torch.tensor([[1.0, -2.0, 0.5], [3.0, 1.0, -1.0], [-4.0, 0.0, 1.0]])
    y = torch.tensor([0, 1, 1])
    assert sign_agreement(Branchy(), x, y) == sign_agreement_per_image(Branchy(), x, y) > 0


def test_grad_sign_keeps_eval_mode_running_statistics(nb201):
    """In eval mode BatchNorm reads its running statistics in both routes (the vmap route strips only
    train-mode tracking), so the per-image gradients still agree."""
    ctx = ProxyContext(nb201, nb201.parse(NB201_ARCH), NB201_TINY, 0, "cpu", shared=set())
    x, y = ctx.batch()
    fast_model, slow_model = ctx.fresh_model().eval(), ctx.fresh_model().eval()
    fast, slow = sign_agreement(fast_model, x, y), sign_agreement_per_image(slow_model, x, y)
    assert fast == pytest.approx(slow, rel=1e-3)
    assert all(m.running_var is not None for m in fast_model.modules() if isinstance(m, nn.BatchNorm2d))


# ---- epe_nas -----------------------------------------------------------------------------------------


def test_epe_nas_by_hand():
    """EPE-NAS (Lopes et al., ICANN 2021): sum over classes of |sum_ij log(|corr_ij| + k)|.

    Class 0 rows (1, 2, 3) and (1, 3, 2) correlate at r = 0.5 (see jacob_cov's hand test), so
    s_0 = 2 log(1 + k) + 2 log(0.5 + k); class 1 is seen once: [[1]], s_1 = log(1 + k).
    """
    k = 1e-5
    rows = np.array([[1.0, 2.0, 3.0], [1.0, 3.0, 2.0], [0.0, 1.0, 5.0]])
    labels = np.array([0, 0, 1])
    s0 = 2 * math.log(1 + k) + 2 * math.log(0.5 + k)
    s1 = math.log(1 + k)
    assert epe_nas_score(rows, labels, num_classes=10) == pytest.approx(abs(s0) + abs(s1), rel=1e-12)


def test_epe_nas_many_classes_uses_pairwise_differences():
    """With more than 100 classes (Lopes et al.'s form A): s_c / m_c, then sum_{c,c'} |s_c - s_c'| / classes.

    Class 0 as above (m = 2): s_0 / 2; class 2 rows (1, 2, 3) and (3, 2, 1) correlate at -1, so
    s_2 = 2 log(1 + k) + 2 log(1 + k), / 2. Class 1 is seen once and skipped, as in the reference.
    """
    k = 1e-5
    rows = np.array([[1.0, 2.0, 3.0], [1.0, 3.0, 2.0], [0.0, 1.0, 5.0], [1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    labels = np.array([0, 0, 1, 2, 2])
    s0 = (2 * math.log(1 + k) + 2 * math.log(0.5 + k)) / 2
    s2 = 4 * math.log(1 + k) / 2
    expected = 2 * abs(s0 - s2) / 2
    assert epe_nas_score(rows, labels, num_classes=120) == pytest.approx(expected, rel=1e-12)


def test_epe_nas_of_a_linear_model_has_a_closed_form():
    """For y = W x every Jacobian row is 1^T W: every within-class correlation is 1, so
    s_c = m_c^2 log(1 + k) and EPE-NAS = log(1 + k) * sum_c m_c^2 (Lopes et al., ICANN 2021)."""
    w = f32(np.random.default_rng(7).normal(size=(10, 16)))
    ctx = context(classifier_factory(w, np.zeros(10)))
    _, y = batch_arrays(ctx)
    counts = np.bincount(y)
    assert epe_nas(ctx) == pytest.approx(math.log(1 + 1e-5) * float((counts**2).sum()), rel=1e-9)


def test_epe_nas_and_jacob_cov_share_the_jacobian_pass():
    calls = []

    def factory():
        calls.append(1)
        return nn.Sequential(nn.Flatten(), nn.Linear(16, 10), nn.Tanh(), nn.Linear(10, 10))

    ctx = context(factory)
    jacob_cov(ctx), epe_nas(ctx)
    assert len(calls) == 1
    rows = ctx.input_jacobians()
    assert rows.shape == (8, 16) and not rows.flags.writeable


def test_epe_nas_constant_jacobian_is_undefined():
    with pytest.raises(Undefined, match="constant"):
        epe_nas_score(np.zeros((3, 4)), np.array([0, 0, 1]), 10)


# ---- zen ---------------------------------------------------------------------------------------------


def zen_net(w: float) -> nn.Sequential:
    """1x1 conv with weight w, global pool, BN on the pooled (n, 1, 1, 1) map, classifier."""
    conv = nn.Conv2d(1, 1, 1, bias=False)
    with torch.no_grad():
        conv.weight.fill_(w)
    return nn.Sequential(conv, nn.AdaptiveAvgPool2d(1), nn.BatchNorm2d(1), nn.Flatten(), nn.Linear(1, 10))


def test_zen_score_by_hand():
    """Zen-score (Lin et al., ICCV 2021) of f(x) = w x before the pool, one BN after it.

    Delta = mean_n sum_hw |w x - w (x + gamma eps)| = |w| gamma mean_n sum_hw |eps|, and the BN sees the
    pooled map w mean_hw(x_n), of biased variance w^2 var_n(mean_hw x_n): Zen = log Delta + log sigma.
    """
    rng = np.random.default_rng(8)
    x, eps = rng.normal(size=(6, 1, 4, 4)), rng.normal(size=(6, 1, 4, 4))
    w, gamma = 1.5, 0.01
    delta = abs(w) * gamma * np.abs(eps).reshape(6, -1).sum(axis=1).mean()
    sigma = math.sqrt(w**2 * x.reshape(6, -1).mean(axis=1).var())
    net = zen_net(w).double()
    got = zen_score(net, torch.from_numpy(x), torch.from_numpy(eps), gamma)
    assert got == pytest.approx(math.log(delta) + math.log(sigma), rel=1e-10)


def test_zen_proxy_draws_inputs_from_its_seeded_generator():
    """With ``init="protocol"`` the proxy's inputs are x then eps from a Generator seeded with the seed."""
    w = 0.5
    ctx = context(lambda: zen_net(w), params={"zen": {"init": "protocol"}})
    ctx.batch = None  # zen needs no data
    gen = torch.Generator().manual_seed(0)
    x = torch.randn((8, 1, 4, 4), generator=gen).double().numpy()
    eps = torch.randn((8, 1, 4, 4), generator=gen).double().numpy()
    delta = w * 0.01 * np.abs(eps.astype(np.float32).astype(np.float64)).reshape(8, -1).sum(axis=1).mean()
    sigma = math.sqrt(w**2 * x.reshape(8, -1).mean(axis=1).var())
    assert zen(ctx) == pytest.approx(math.log(delta) + math.log(sigma), rel=1e-5)


def test_zen_gaussian_init_is_the_references():
    """Zen-NAS's network_weight_gaussian_init: N(0, 1) weights, zero biases, BN affine 1 and 0."""
    net = nn.Sequential(nn.Conv2d(3, 64, 3), nn.BatchNorm2d(64), nn.Linear(64, 100))
    with torch.no_grad():
        net[1].weight.fill_(3.0)
        net[1].bias.fill_(2.0)
    gaussian_init(net, torch.Generator().manual_seed(0))
    net.requires_grad_(False)
    weights = torch.cat([net[0].weight.reshape(-1), net[2].weight.reshape(-1)])
    assert abs(float(weights.mean())) < 0.05 and abs(float(weights.std()) - 1) < 0.05
    assert float(net[0].bias.abs().sum()) == 0.0 and float(net[2].bias.abs().sum()) == 0.0
    assert torch.equal(net[1].weight, torch.ones(64)) and torch.equal(net[1].bias, torch.zeros(64))


def test_zen_of_a_network_ignoring_its_input_is_undefined():
    net = zen_net(0.0).double()
    x = torch.randn(4, 1, 4, 4, dtype=torch.float64)
    with pytest.raises(Undefined, match="Delta = 0"):
        zen_score(net, x, torch.randn(4, 1, 4, 4, dtype=torch.float64))


# ---- zico --------------------------------------------------------------------------------------------


def test_zico_by_hand():
    """ZiCo (Li et al., ICLR 2023): sum_l log sum_theta mean|g| / std g over minibatches (population std).

    Layer a, rows (1, 2, 0) and (3, 2, 0): weight 1 has mean|g| 2 and std 1 -> 2; weights 2 and 3 have
    std 0 and are left out; log 2. Layer b, rows (-1, 4) and (1, 0): 1/1 + 2/2 = 2; log 2.
    Layer c is all zero and skipped. ZiCo = 2 log 2.
    """
    grads = {
        "a": np.array([[1.0, 2.0, 0.0], [3.0, 2.0, 0.0]]),
        "b": np.array([[-1.0, 4.0], [1.0, 0.0]]),
        "c": np.zeros((2, 5)),
    }
    assert zico_score(grads) == pytest.approx(2 * math.log(2), rel=1e-15)


def test_zico_of_all_zero_gradients_is_undefined():
    with pytest.raises(Undefined, match="zico"):
        zico_score({"a": np.zeros((2, 3)), "b": np.ones((2, 2))})


def test_zico_of_a_linear_classifier_matches_half_batch_hand_gradients():
    """ZiCo on two minibatches (the batch's halves), each gradient (softmax - onehot)^T X_b / n_b."""
    rng = np.random.default_rng(9)
    w, b = f32(rng.normal(size=(10, 16))), f32(rng.normal(size=10))
    ctx = context(classifier_factory(w, b))
    X, y = batch_arrays(ctx)
    g = np.stack([hand_linear_gradient(w, b, X[lo:hi], y[lo:hi]).reshape(-1) for lo, hi in ((0, 4), (4, 8))])
    std = g.std(axis=0)
    keep = std > 0
    expected = math.log(float((np.abs(g).mean(axis=0)[keep] / std[keep]).sum()))
    assert zico(ctx) == pytest.approx(expected, rel=1e-4)


def test_zico_minibatches_are_independent_gradients():
    """The paper's per-minibatch gradients, not the reference code's running sums."""
    net = nn.Sequential(nn.Flatten(), nn.Linear(16, 10))
    x = torch.randn(6, 1, 4, 4, generator=torch.Generator().manual_seed(1))
    y = torch.tensor([0, 1, 2, 3, 4, 5])
    rows = minibatch_gradients(net, x, y, splits=3)["1"]
    for b in range(3):
        net.zero_grad()
        F.cross_entropy(net(x[2 * b : 2 * b + 2]), y[2 * b : 2 * b + 2]).backward()
        np.testing.assert_array_equal(rows[b], net[1].weight.grad.reshape(-1).double().numpy())
    with pytest.raises(ValueError, match="splits"):
        minibatch_gradients(net, x, y, splits=7)


# ---- ntk ---------------------------------------------------------------------------------------------


def test_ntk_of_a_one_layer_linear_model_matches_numpy_eigvals():
    """TE-NAS NTK (Chen et al., ICLR 2021) for logits = W x + b: the gradient of image i's summed logits
    w.r.t. W is 1 x_i^T (biases excluded), so K = J J^T with J = [x_i repeated per class], K = C X X^T.
    The condition number is compared against numpy's eigvals of J J^T."""
    rng = np.random.default_rng(10)
    w, b = f32(rng.normal(size=(10, 16))), f32(rng.normal(size=10))
    ctx = context(classifier_factory(w, b))
    X, _ = batch_arrays(ctx)
    J = np.tile(X, (1, 10))
    eig = np.sort(np.real(np.linalg.eigvals(J @ J.T)))
    assert ntk(ctx) == pytest.approx(eig[-1] / eig[0], rel=1e-6)
    np.testing.assert_allclose(np.linalg.eigvalsh(10 * X @ X.T), eig, rtol=1e-9)


def test_ntk_per_image_gradients_use_a_batch_forward_and_weights_only():
    """Rows of G are d(sum_k logit_ik)/d(weights) after one batch forward; biases are excluded."""
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    x = torch.randn(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    grads = per_image_gradients(net, x)
    assert grads.shape == (5, 4 * 3 + 2 * 4)
    weights = [net[0].weight, net[2].weight]
    for i in range(5):
        expected = torch.autograd.grad(net(x[i : i + 1]).sum(), weights)
        torch.testing.assert_close(grads[i], torch.cat([e.reshape(-1) for e in expected]))
    k = (grads @ grads.T).numpy()
    eig = np.linalg.eigvalsh(k)
    assert ntk_condition_number(net, x) == pytest.approx(eig[-1] / eig[0], rel=1e-9)


def test_ntk_singular_or_zero_kernels_are_undefined():
    eps = float(np.finfo(np.float32).eps)
    with pytest.raises(Undefined, match="zero"):
        condition_number(np.zeros((3, 3)), eps)
    with pytest.raises(Undefined, match="singular"):
        condition_number(np.ones((3, 3)), eps)  # rank 1: eigenvalues 3, 0, 0
    assert condition_number(np.diag([4.0, 1.0]), eps) == 4.0


# ---- linear_regions ----------------------------------------------------------------------------------


def test_linear_regions_of_a_one_dimensional_relu_net_by_hand():
    """TE-NAS linear regions (Chen et al., ICLR 2021): units relu(x), relu(x - 1), relu(x - 2) cut the
    line at 0, 1 and 2. Inputs -1, -0.5 | 0.5 | 1.5, 1.7 fall in 3 of the 4 regions; adding 2.5 makes 4."""
    net = nn.Sequential(linear(np.ones((3, 1)), np.array([0.0, -1.0, -2.0])), nn.ReLU())
    x = torch.tensor([[-1.0], [-0.5], [0.5], [1.5], [1.7]])
    np.testing.assert_array_equal(
        activation_codes(net, x).astype(int), [[0, 0, 0], [0, 0, 0], [1, 0, 0], [1, 1, 0], [1, 1, 0]]
    )
    assert linear_regions_count(net, x) == 3
    assert linear_regions_count(net, torch.cat([x, torch.tensor([[2.5]])])) == 4


def test_count_patterns_counts_distinct_rows():
    codes = np.array([[1, 0, 1], [1, 0, 1], [0, 0, 0], [1, 1, 1], [0, 0, 0]], dtype=bool)
    assert count_patterns(codes) == 3
    assert count_patterns(np.zeros((4, 0), dtype=bool)) == 1


def test_linear_regions_proxy_counts_patterns_of_its_seeded_gaussian_inputs():
    """Distinct patterns of relu(W x + b) over the proxy's Gaussian inputs, counted independently with
    numpy; ``samples`` and ``resolution`` change the inputs, ``build`` reaches the space."""
    rng = np.random.default_rng(11)
    w, b = f32(rng.normal(size=(3, 16))), f32(rng.normal(size=3))

    def factory():
        return nn.Sequential(nn.Flatten(), linear(w, b), nn.ReLU(), nn.Linear(3, 10))

    def expected(samples: int) -> int:
        x = torch.randn((samples, 1, 4, 4), generator=torch.Generator().manual_seed(0)).double().numpy()
        codes = x.reshape(samples, -1) @ w.T + b > 0
        return len({tuple(row) for row in codes})

    ctx = context(factory, params={"linear_regions": {"samples": 40, "build": {"C": 1}}})
    ctx.batch = None  # no data
    assert linear_regions(ctx) == expected(40) > 1
    assert ctx.space.builds == [{"C": 1}]
    assert linear_regions(context(factory)) == expected(8)
    with pytest.raises(ValueError, match="too small"):
        linear_regions(context(factory, params={"linear_regions": {"resolution": 2}}))


# ---- meco --------------------------------------------------------------------------------------------


def test_meco_layer_on_a_hand_feature_map_against_numpy():
    """MeCo (Jiang et al., NeurIPS 2023): smallest eigenvalue of the channel correlation matrix."""
    fmap = np.array(
        [
            [[1.0, 2.0, 0.0], [3.0, -1.0, 2.0]],
            [[0.5, 0.0, 1.0], [2.0, 2.0, -3.0]],
            [[1.0, 1.0, 2.0], [0.0, 4.0, 1.0]],
        ]
    )  # 3 channels of 2x3
    expected = np.linalg.eigvalsh(np.corrcoef(fmap.reshape(3, -1)))[0]
    assert min_correlation_eigenvalue(fmap) == pytest.approx(expected, rel=1e-12)
    assert meco_score([fmap, fmap]) == pytest.approx(2 * expected, rel=1e-12)


def test_meco_exact_zeros():
    """A constant channel (correlation set to 0 as in the reference) or more channels than positions - 1
    (rank-deficient correlation) gives exactly 0; two channels with r = 0.5 give 1 - 0.5."""
    assert min_correlation_eigenvalue(np.array([[1.0, 2.0, 3.0], [4.0, 4.0, 4.0]])) == 0.0
    assert min_correlation_eigenvalue(np.random.default_rng(0).normal(size=(4, 2, 2))) == 0.0
    assert min_correlation_eigenvalue(np.array([[1.0, 2.0, 3.0], [1.0, 3.0, 2.0]])) == pytest.approx(
        0.5, rel=1e-12
    )
    assert min_correlation_eigenvalue(np.ones((3, 1))) == 0.0  # a Linear output: one value per channel


def test_meco_reads_the_first_image_of_each_conv_output():
    """MeCo on conv(3 channels) -> classifier: only the conv map counts (the Linear output is 0); it is the
    first image's map, computed here independently with F.conv2d."""
    wc = f32(np.random.default_rng(12).normal(size=(3, 1, 3, 3)))

    def factory():
        conv = nn.Conv2d(1, 3, 3, padding=1, bias=False)
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(wc))
        return nn.Sequential(conv, nn.Flatten(), nn.Linear(48, 10))

    ctx = context(factory)
    x, _ = ctx.batch()
    fmap = F.conv2d(x[:1].double(), torch.from_numpy(wc), padding=1)[0].numpy()
    expected = np.linalg.eigvalsh(np.corrcoef(fmap.reshape(3, -1)))[0]
    assert meco(ctx) == pytest.approx(expected, rel=1e-5)
    assert len(first_image_features(factory(), x)) == 2


# ---- NB201 cells -------------------------------------------------------------------------------------


def test_new_proxies_on_an_nb201_cell_and_the_all_none_cell(nb201):
    """Cards' degenerate promises on the all-none cell, and finite values on an ordinary cell."""
    names = ["logsynflow", "grasp", "fisher", "grad_sign", "epe_nas", "zen", "zico", "l2_norm", "plain"]
    names += ["ntk", "linear_regions", "meco"]
    ok = {s.proxy: s for s in score_architecture(nb201, nb201.parse(NB201_ARCH), names, NB201_TINY, 0)}
    assert all(s.status == "ok" and math.isfinite(s.value) for s in ok.values()), ok
    assert ok["ntk"].value >= 1.0  # a condition number
    assert ok["linear_regions"].value == 8.0  # saturates at the batch on a real cell
    none = {s.proxy: s for s in score_architecture(nb201, nb201.parse(ALL_NONE), names, NB201_TINY, 0)}
    for name in ("logsynflow", "grasp", "grad_sign", "plain"):
        assert (none[name].status, none[name].value) == ("ok", 0.0), name
    for name in ("epe_nas", "zen", "zico", "ntk"):
        assert none[name].status == "nan" and none[name].message, name
    assert none["linear_regions"].value == 1.0  # no ReLU sees the input with N = 1
    assert none["l2_norm"].value > 0 and none["fisher"].value > 0 and none["meco"].value > 0


def test_zen_ignores_the_protocol_init_unless_asked(nb201):
    """Zen-NAS re-initialises with N(0, 1); ``{"zen": {"init": "protocol"}}`` keeps the protocol's init."""
    arch = nb201.parse(NB201_ARCH)

    def zen_value(**change):
        protocol = Protocol(**{**NB201_TINY.to_dict(), **change})
        (s,) = score_architecture(nb201, arch, ["zen"], protocol, 0)
        assert s.status == "ok", s.message
        return s.value

    base = zen_value()
    assert zen_value(init="kaiming_normal") == base
    keep = {"params": {"zen": {"init": "protocol"}}}
    assert zen_value(**keep) != zen_value(init="kaiming_normal", **keep)


def test_linear_regions_thin_build_unsaturates_the_count(nb201):
    """TE-NAS counts on a thin network: with C=1 and 64 samples of 4 px, patterns repeat."""
    params = {"linear_regions": {"samples": 64, "resolution": 4, "build": {"C": 1, "N": 1}}}
    protocol = Protocol(**{**NB201_TINY.to_dict(), "params": params})
    (s,) = score_architecture(nb201, nb201.parse(NB201_ARCH), ["linear_regions"], protocol, 0)
    assert s.status == "ok" and 1 <= s.value <= 64


# ---- ensembles ---------------------------------------------------------------------------------------


def test_rank_ensemble_by_hand():
    """Ranks 1 = worst .. n = best, per proxy in its card's direction, averaged (ties: average rank).

    p (higher better) {a: 1, b: 2, c: 3} ranks a 1, b 2, c 3; q (lower better) {a: 1, b: 3, c: 2} ranks
    a 3, b 1, c 2; the mean is a 2, b 1.5, c 2.5. With weights p 3, q 1: a 1.5, b 1.75, c 2.75.
    """
    scores = {"p": {"a": 1.0, "b": 2.0, "c": 3.0}, "q": {"a": 1.0, "b": 3.0, "c": 2.0}}
    directions = {"p": True, "q": False}
    assert rank_ensemble(scores, directions) == {"a": 2.0, "b": 1.5, "c": 2.5}
    assert rank_ensemble(scores, directions, weights={"p": 3, "q": 1}) == {"a": 1.5, "b": 1.75, "c": 2.75}
    tied = {"p": {"a": 1.0, "b": 1.0, "c": 2.0}}
    assert rank_ensemble(tied, {"p": True}) == {"a": 1.5, "b": 1.5, "c": 3.0}


def test_rank_ensemble_reads_directions_from_the_cards():
    """ntk is lower-is-better on its card, snip higher-is-better."""
    scores = {"snip": {"a": 1.0, "b": 2.0}, "ntk": {"a": 10.0, "b": 5.0}}
    assert rank_ensemble(scores) == {"a": 1.0, "b": 2.0}


def test_vote_by_hand():
    """Abdelfattah et al. (ICLR 2021) majority vote of synflow, jacob_cov and snip, as pairwise wins.

    synflow a > b > c, jacob_cov b > c > a, snip c > a > b: a beats b (2-1), c beats a (2-1), b beats
    c (2-1), a Condorcet cycle, so every architecture has one win. Making snip agree with synflow
    (a > b > c) gives a two wins, b one, c none.
    """
    scores = {
        "synflow": {"a": 3.0, "b": 2.0, "c": 1.0},
        "jacob_cov": {"a": 1.0, "b": 3.0, "c": 2.0},
        "snip": {"a": 2.0, "b": 1.0, "c": 3.0},
    }
    assert vote(scores) == {"a": 1.0, "b": 1.0, "c": 1.0}
    scores["snip"] = {"a": 3.0, "b": 2.0, "c": 1.0}
    assert vote(scores) == {"a": 2.0, "b": 1.0, "c": 0.0}
    assert tuple(VOTE_PROXIES) == ("synflow", "jacob_cov", "snip")


def test_vote_ties_abstain_and_split_pairs_count_half():
    """Two proxies disagreeing on a pair give half a win each; a proxy scoring a pair equal abstains."""
    scores = {"p": {"a": 1.0, "b": 2.0}, "q": {"a": 2.0, "b": 1.0}, "r": {"a": 5.0, "b": 5.0}}
    assert vote(scores, proxies=None, higher_is_better={"p": True, "q": True, "r": True}) == {
        "a": 0.5,
        "b": 0.5,
    }
    assert vote(scores, proxies=["q", "r"], higher_is_better={"q": True, "r": True}) == {"a": 1.0, "b": 0.0}


def test_vote_matches_a_brute_force_pairwise_count():
    """Blocked counting equals a plain double loop (300 architectures span several blocks)."""
    rng = np.random.default_rng(13)
    archs = [f"arch{i:03d}" for i in range(300)]
    scores = {p: {a: float(v) for a, v in zip(archs, rng.integers(0, 40, size=300))} for p in VOTE_PROXIES}
    directions = {"synflow": True, "jacob_cov": False, "snip": True}
    got = vote(scores, higher_is_better=directions)
    for a in archs[::37]:
        wins = 0.0
        for b in archs:
            if a == b:
                continue
            margin = 0
            for p in VOTE_PROXIES:
                s = 1 if directions[p] else -1
                margin += np.sign(s * (scores[p][a] - scores[p][b]))
            wins += 1.0 if margin > 0 else 0.5 if margin == 0 else 0.0
        assert got[a] == wins


def test_ensembles_reject_missing_or_non_finite_values():
    with pytest.raises(ValueError, match=r"'q'.*'b'"):
        rank_ensemble({"p": {"a": 1.0, "b": 2.0}, "q": {"a": 1.0}}, {"p": True, "q": True})
    with pytest.raises(ValueError, match="finite"):
        vote({"p": {"a": 1.0, "b": float("nan")}}, proxies=None, higher_is_better={"p": True})
    with pytest.raises(ValueError, match="synflow"):
        vote({"snip": {"a": 1.0}})


def test_zen_leaves_out_batchnorms_of_dead_branches():
    """A BN fed exactly zeros (a conv after a `none` edge) adds no log-scale term; the live ones do."""
    torch.manual_seed(0)
    live = nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2))
    dead = nn.Sequential(nn.Conv2d(1, 2, 1, bias=False), nn.BatchNorm2d(2))

    class TwoBranches(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.live, self.dead, self.pool = live, dead, nn.AdaptiveAvgPool2d(1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.pool(self.live(x) + self.dead(x * 0.0)).flatten(1)

    x, eps = torch.randn(4, 1, 3, 3), torch.randn(4, 1, 3, 3)
    with_dead = zen_score(TwoBranches(), x, eps)
    alone = zen_score(nn.Sequential(live, nn.AdaptiveAvgPool2d(1), nn.Flatten()), x, eps)
    assert math.isfinite(with_dead) and with_dead == pytest.approx(alone, rel=1e-6)

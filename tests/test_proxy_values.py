"""Hand-computed proxy values on tiny networks whose answer can be written down.

Each test names the paper that defines the quantity. The expected values are derived in the
docstrings (or with a few lines of numpy, independent of the code under test), never by calling
the function under test a second time.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn as nn
from _proxy_helpers import context

from proxies.base import Undefined
from proxies.cost import count_macs, count_params
from proxies.gradients import grad_norm, grad_norm_score, snip, snip_score
from proxies.jacob_cov import K, jacob_cov, jacob_cov_score, jacobian_rows
from proxies.nwot import agreement_kernel, nwot_score
from proxies.synflow import synflow, synflow_score

W1 = np.array([[1, -2, 0], [3, 1, -1], [0, 0, 2], [-1, 1, 1]], dtype=np.float64)  # 4x3
W2 = np.array([[1, 0, -2, 1], [2, -1, 1, 0]], dtype=np.float64)  # 2x4
W3 = np.array([[2, -1], [0, 3], [1, 1]], dtype=np.float64)  # 3x2


def f32(a: np.ndarray) -> np.ndarray:
    """Round to float32, the dtype the layers store their weights in, then back to float64."""
    return a.astype(np.float32).astype(np.float64)


def linear_net(*weights: np.ndarray, bn: bool = False) -> nn.Sequential:
    """Bias-free Linear layers with the given weights and ReLUs between them (optionally BN too)."""
    layers: list[nn.Module] = []
    for i, w in enumerate(weights):
        lin = nn.Linear(w.shape[1], w.shape[0], bias=False)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w))
        layers.append(lin)
        if i < len(weights) - 1:
            if bn:
                layers.append(nn.BatchNorm1d(w.shape[0]))
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


# ---- SynFlow ------------------------------------------------------------------------------------------


def test_synflow_two_layers_equals_twice_R_worked_by_hand():
    """SynFlow (Tanaka et al., NeurIPS 2020): R = 1^T |W2||W1| 1, and by the conservation law
    every layer's total saliency sum |theta * dR/dtheta| equals R.

    |W1| 1 = (3, 5, 2, 3); |W2| (3, 5, 2, 3) = (1*3 + 2*2 + 1*3, 2*3 + 1*5 + 1*2) = (10, 13); R = 23,
    so the score over two layers is 46 (exact in float64 for integer weights).
    """
    r = float(np.ones(2) @ np.abs(W2) @ np.abs(W1) @ np.ones(3))
    assert r == 23.0
    # per-layer saliencies by hand: dR/dW1[i, j] = (1^T |W2|)[i], dR/dW2[k, i] = (|W1| 1)[i]
    col2 = np.abs(W2).sum(axis=0)
    row1 = np.abs(W1).sum(axis=1)
    sal1 = (np.abs(W1) * col2[:, None]).sum()
    sal2 = (np.abs(W2) * row1[None, :]).sum()
    assert sal1 == sal2 == r
    assert synflow_score(linear_net(W1, W2), (1, 3)) == 2 * r == 46.0


def test_synflow_three_layers_equals_three_times_R():
    """SynFlow's conservation law (Tanaka et al., NeurIPS 2020) for three bias-free layers: 3 R."""
    r = float(np.ones(3) @ np.abs(W3) @ np.abs(W2) @ np.abs(W1) @ np.ones(3))
    assert synflow_score(linear_net(W1, W2, W3), (1, 3)) == pytest.approx(3 * r, rel=1e-12)


def test_synflow_conservation_on_random_weights():
    """Tanaka et al. (NeurIPS 2020): the score is L * R for any bias-free ReLU chain of L layers."""
    rng = np.random.default_rng(0)
    shapes = [(5, 4), (6, 5), (3, 6), (2, 3)]
    ws = [f32(rng.normal(size=s)) for s in shapes]
    prod = np.ones(4)
    for w in ws:
        prod = np.abs(w) @ prod
    r = prod.sum()
    assert synflow_score(linear_net(*ws), (1, 4)) == pytest.approx(len(ws) * r, rel=1e-12)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_synflow_ignores_weight_signs(seed):
    """SynFlow (Tanaka et al., NeurIPS 2020) works on |theta|: any sign pattern gives the same score."""
    rng = np.random.default_rng(seed)
    s1 = rng.choice([-1.0, 1.0], size=W1.shape)
    s2 = rng.choice([-1.0, 1.0], size=W2.shape)
    assert synflow_score(linear_net(W1 * s1, W2 * s2), (1, 3)) == 46.0


def test_synflow_proxy_strips_batchnorm_and_sees_only_weights():
    """SynFlow's reference (Abdelfattah et al., ICLR 2021) runs on a BN-free copy: with BN removed
    the flattened-image net is Linear(16->3) -> ReLU -> Linear(3->2), so the score is 2 R."""
    rng = np.random.default_rng(5)
    a, b = f32(rng.normal(size=(3, 16))), f32(rng.normal(size=(2, 3)))

    def factory():
        return nn.Sequential(nn.Flatten(), linear_net(a, b, bn=True))

    r = float(np.ones(2) @ np.abs(b) @ np.abs(a) @ np.ones(16))
    assert synflow(context(factory)) == pytest.approx(2 * r, rel=1e-12)
    # the same value whatever the input source: SynFlow never looks at data
    assert synflow(context(factory, input="gaussian")) == pytest.approx(2 * r, rel=1e-12)


def test_synflow_zero_network_is_zero():
    """A layer of zeros cuts every path: R = 0 and every saliency is 0 (Tanaka et al., NeurIPS 2020)."""
    assert synflow_score(linear_net(W1, np.zeros_like(W2)), (1, 3)) == 0.0


# ---- params and MACs ---------------------------------------------------------------------------------


def hand_conv_net() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, bias=True),  # 5x5 -> 5x5
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, stride=2, padding=1, groups=2, bias=False),  # 5x5 -> 3x3
        nn.Flatten(),
        nn.Linear(4 * 9, 10, bias=True),
    )


def test_count_params_by_hand():
    """NAS-Bench-201 (Dong & Yang, ICLR 2020) counts every parameter.

    conv1: 3*4*9 + 4 = 112; BN: 4 + 4 = 8; grouped conv2: (4/2)*4*9 = 72; linear: 36*10 + 10 = 370.
    """
    assert count_params(hand_conv_net()) == 112 + 8 + 72 + 370 == 562


def test_count_macs_by_hand():
    """NB201's MACs (Dong & Yang, ICLR 2020): Conv2d/Linear multiply-accumulates plus one per bias output.

    conv1 on 5x5: 25 * (3*4*9) + 4*25 = 2800; grouped stride-2 conv2 on 3x3 output: 9 * (2*4*9) = 648;
    linear: 36*10 + 10 = 370. BN and ReLU are free.
    """
    model = hand_conv_net()
    assert count_macs(model, (1, 3, 5, 5)) == 2800 + 648 + 370 == 3818
    # per image: the batch dimension of the shape is ignored
    assert count_macs(model, (7, 3, 5, 5)) == 3818


def test_count_macs_single_layers():
    """Conv2d(3,4,3,padding=1,bias=True) on 5x5 is 5*5*(3*4*9) + 4*25; Linear(in, out) is in*out + out."""
    conv = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=True))
    assert count_macs(conv, (1, 3, 5, 5)) == 5 * 5 * (3 * 4 * 9) + 4 * 25
    lin = nn.Sequential(nn.Linear(6, 5))
    assert count_macs(lin, (1, 6)) == 6 * 5 + 5
    lin_nobias = nn.Sequential(nn.Linear(6, 5, bias=False))
    assert count_macs(lin_nobias, (1, 6)) == 30


def test_count_macs_restores_training_mode_and_hooks():
    model = hand_conv_net().train()
    count_macs(model, (1, 3, 5, 5))
    assert model.training
    assert all(not m._forward_hooks for m in model.modules())
    model.eval()
    count_macs(model, (1, 3, 5, 5))
    assert not model.training


def test_count_macs_agrees_with_torch_flop_counter():
    """torch's FlopCounterMode reports 2 x MACs without bias: NB201 MACs = torch FLOPs / 2 + bias outputs."""
    from torch.utils.flop_counter import FlopCounterMode

    model = hand_conv_net().eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, 3, 5, 5))
    bias_outputs = 4 * 25 + 10
    assert counter.get_total_flops() // 2 + bias_outputs == count_macs(model, (1, 3, 5, 5))


# ---- SNIP and GradNorm ------------------------------------------------------------------------------


def test_snip_and_grad_norm_on_explicit_tensors():
    """SNIP (Lee et al., ICLR 2019) = sum |w * g|; GradNorm (Abdelfattah et al., ICLR 2021) = sum_l ||g_l||_2.

    layer a: |w*g| = |0.5| + |-2| + |-6| + |2| = 10.5; ||g|| = sqrt(0.25 + 1 + 4 + 16) = sqrt(21.25)
    layer b: |w*g| = 0 + 2 + 3 = 5;                   ||g|| = sqrt(0 + 1 + 1) = sqrt(2)
    """
    grads = {
        "a": (torch.tensor([[1.0, -2.0], [3.0, 0.5]]), torch.tensor([[0.5, 1.0], [-2.0, 4.0]])),
        "b": (torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0.0, -1.0, 1.0])),
    }
    assert snip_score(grads) == 15.5
    assert grad_norm_score(grads) == pytest.approx(math.sqrt(21.25) + math.sqrt(2), rel=1e-15)


def test_snip_and_grad_norm_of_no_layers_are_zero():
    assert snip_score({}) == 0.0
    assert grad_norm_score({}) == 0.0


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_snip_and_grad_norm_of_a_linear_classifier_match_the_hand_gradient():
    """SNIP (Lee et al., ICLR 2019) and GradNorm (Abdelfattah et al., ICLR 2021) on one Linear layer.

    With logits Z = X W^T + b and mean cross-entropy over n images, dL/dW = (softmax(Z) - onehot(y))^T X / n,
    so snip = sum |W * dL/dW| and grad_norm = ||dL/dW||_F. The batch is the protocol's real batch.
    """
    rng = np.random.default_rng(0)
    w = f32(rng.normal(size=(10, 16)))
    b = f32(rng.normal(size=10))

    def factory():
        lin = nn.Linear(16, 10)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w))
            lin.bias.copy_(torch.from_numpy(b))
        return nn.Sequential(nn.Flatten(), lin)

    ctx = context(factory)
    x, y = ctx.batch()
    X = x.reshape(len(x), -1).double().numpy()
    onehot = np.eye(10)[y.numpy()]
    G = (_softmax(X @ w.T + b) - onehot).T @ X / len(X)
    # the context's shared pass holds the same gradient (float32 arithmetic)
    (name, (w_ctx, g_ctx)), *rest = ctx.loss_gradients().items()
    assert not rest and name == "1"
    np.testing.assert_array_equal(w_ctx.double().numpy(), w)
    np.testing.assert_allclose(g_ctx.double().numpy(), G, rtol=1e-4, atol=1e-6)
    assert snip(ctx) == pytest.approx(np.abs(w * G).sum(), rel=1e-5)
    assert grad_norm(ctx) == pytest.approx(np.linalg.norm(G), rel=1e-5)


def test_loss_gradients_are_computed_once_and_shared():
    calls = []

    def factory():
        calls.append(1)
        return nn.Sequential(nn.Flatten(), nn.Linear(16, 10))

    ctx = context(factory)
    s, g = snip(ctx), grad_norm(ctx)
    assert len(calls) == 1
    assert s > 0 and g > 0
    assert snip(ctx) == s


# ---- Jacobian covariance -----------------------------------------------------------------------------


def jacob_formula(eigenvalues, k=K):
    return -sum(math.log(v + k) + 1.0 / (v + k) for v in eigenvalues)


def test_jacob_cov_two_rows_by_hand():
    """Jacobian covariance (Mellor et al., arXiv:2006.04647v1): -sum_j log(l_j + k) + 1/(l_j + k).

    Rows (1, 2, 3) and (1, 3, 2): deviations (-1, 0, 1) and (-1, 1, 0), covariance 1, variances 2,
    so r = 0.5; the 2x2 correlation matrix [[1, r], [r, 1]] has eigenvalues 1.5 and 0.5.
    """
    rows = np.array([[1.0, 2.0, 3.0], [1.0, 3.0, 2.0]])
    assert jacob_cov_score(rows) == pytest.approx(jacob_formula([1.5, 0.5]), rel=1e-12)
    assert jacob_cov_score(rows, k=0.1) == pytest.approx(jacob_formula([1.5, 0.5], k=0.1), rel=1e-12)


def test_jacob_cov_matches_numpy_corrcoef_eigvalsh():
    """Mellor et al. (arXiv:2006.04647v1), as implemented by Abdelfattah et al. (ICLR 2021)."""
    rows = np.random.default_rng(3).normal(size=(6, 20))
    eig = np.linalg.eigvalsh(np.corrcoef(rows))
    assert jacob_cov_score(rows) == pytest.approx(-np.sum(np.log(eig + 1e-5) + 1 / (eig + 1e-5)), rel=1e-12)


def test_jacob_cov_uncorrelated_rows_beat_correlated_rows():
    """Mellor et al. (arXiv:2006.04647v1): a higher score means less correlated Jacobians."""
    rng = np.random.default_rng(4)
    base = rng.normal(size=20)
    correlated = base + 0.01 * rng.normal(size=(5, 20))
    independent = rng.normal(size=(5, 20))
    assert jacob_cov_score(independent) > jacob_cov_score(correlated)


def test_jacob_cov_constant_row_is_undefined():
    """A constant Jacobian row has zero variance: the correlation (Mellor et al.) is undefined."""
    rows = np.array([[1.0, 2.0, 3.0], [4.0, 4.0, 4.0]])
    with pytest.raises(Undefined, match="constant"):
        jacob_cov_score(rows)
    with pytest.raises(Undefined):
        jacob_cov_score(np.zeros((3, 5)))


def test_jacobian_rows_of_a_linear_model_are_one_transpose_w():
    """For y = W x + b the per-input Jacobian of sum_k y_k is 1^T W, identical for every input."""
    w = np.array([[1.0, -2.0, 0.5, 3.0], [0.0, 1.0, 2.0, -1.0]])
    lin = nn.Linear(4, 2).double()
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(w))
    x = torch.from_numpy(np.random.default_rng(0).normal(size=(5, 4)))
    rows = jacobian_rows(lin, x)
    assert rows.shape == (5, 4)
    np.testing.assert_array_equal(rows, np.tile(w.sum(axis=0), (5, 1)))


def test_jacob_cov_of_a_linear_model_has_a_closed_form():
    """Mellor et al. (arXiv:2006.04647v1) on y = W x: all n Jacobian rows equal 1^T W, the correlation
    matrix is all ones with eigenvalues (n, 0, ..., 0), so the score is
    -[log(n + k) + 1/(n + k)] - (n - 1) [log k + 1/k].
    """
    rng = np.random.default_rng(1)
    w = f32(rng.normal(size=(10, 16)))

    def factory():
        lin = nn.Linear(16, 10)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w))
        return nn.Sequential(nn.Flatten(), lin)

    for k, params in ((K, {}), (1e-3, {"jacob_cov": {"k": 1e-3}})):
        ctx = context(factory, params=params)
        n = ctx.protocol.batch_size
        expected = -(math.log(n + k) + 1 / (n + k)) - (n - 1) * (math.log(k) + 1 / k)
        assert jacob_cov(ctx) == pytest.approx(expected, rel=1e-8)


def test_jacob_cov_of_a_constant_model_is_undefined():
    """A network whose output ignores its input has zero Jacobians: undefined (Mellor et al.)."""

    def factory():
        lin = nn.Linear(16, 10)
        with torch.no_grad():
            lin.weight.zero_()
        return nn.Sequential(nn.Flatten(), lin)

    with pytest.raises(Undefined):
        jacob_cov(context(factory))


# ---- NASWOT -----------------------------------------------------------------------------------------

X3 = torch.tensor(
    [
        [1.0, -1.0, 2.0, 0.0],  # codes 1 0 1 0
        [3.0, 2.0, -1.0, -2.0],  # codes 1 1 0 0
        [-1.0, -1.0, -1.0, 5.0],  # codes 0 0 0 1
    ]
)
K3 = np.array([[4.0, 2.0, 1.0], [2.0, 4.0, 1.0], [1.0, 1.0, 4.0]])


def identity_relu(extra_negated: bool = False) -> nn.Sequential:
    lin = nn.Linear(4, 4, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.eye(4))
    layers: list[nn.Module] = [lin, nn.ReLU()]
    if extra_negated:
        neg = nn.Linear(4, 4, bias=False)
        with torch.no_grad():
            neg.weight.copy_(-torch.eye(4))
        layers += [neg, nn.ReLU()]
    return nn.Sequential(*layers)


def test_agreement_kernel_by_hand():
    """NASWOT (Mellor et al., ICML 2021): K[i, j] = units where images i and j share the on/off state.

    Codes (x > 0): 1010, 1100, 0001. Agreements: (0,1) at units 0 and 3 -> 2; (0,2) at unit 1 -> 1;
    (1,2) at unit 2 -> 1; the diagonal is the 4 units.
    """
    np.testing.assert_array_equal(agreement_kernel(identity_relu(), X3), K3)


def test_nwot_is_log_det_of_the_hand_kernel():
    """NASWOT (Mellor et al., ICML 2021): log|K|; det K3 = 4*15 - 2*7 + 1*(-2) = 44."""
    assert np.linalg.det(K3) == pytest.approx(44.0)
    assert nwot_score(agreement_kernel(identity_relu(), X3)) == pytest.approx(math.log(44.0), rel=1e-12)


def test_nwot_sums_the_kernels_of_every_relu():
    """NASWOT (Mellor et al., ICML 2021) sums over ReLUs. The second ReLU sees -relu(x) <= 0, all codes
    off for every image, so it adds 4 to every entry: det [[8,6,5],[6,8,5],[5,5,8]] = 312 - 138 - 50 = 124.
    """
    kernel = agreement_kernel(identity_relu(extra_negated=True), X3)
    np.testing.assert_array_equal(kernel, K3 + 4.0)
    assert nwot_score(kernel) == pytest.approx(math.log(124.0), rel=1e-12)


def test_nwot_identical_images_make_the_kernel_singular():
    """Two identical images give two identical kernel rows: det K = 0, NASWOT is undefined."""
    x = torch.cat([X3[:2], X3[:1]])
    kernel = agreement_kernel(identity_relu(), x)
    assert kernel[0].tolist() == kernel[2].tolist()
    with pytest.raises(Undefined, match="singular"):
        nwot_score(kernel)


def test_agreement_kernel_removes_its_hooks():
    model = identity_relu()
    agreement_kernel(model, X3)
    assert all(not m._forward_hooks for m in model.modules())

"""The ``fx`` / ``fx_graph`` encodings: traced from the built module by torch.fx, invariant inside an
NB201 equivalence class, and usable on a plain torch network of another family."""

from __future__ import annotations

import numpy as np
import pytest
import torch.nn as nn

import spaces
from predictors.base import make_predictor
from predictors.encodings import encode, flatten_op_graphs, parse_spec
from predictors.fx_graph import OP_TYPES, fx_columns, fx_vector, trace_graph

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SPACE = spaces.get("nb201")
TINY = SPACE.card.fixtures.build_options()
# three members of one class (node 1 is zero, so the ops fed by it differ freely)
CLASS = (
    "|none~0|+|skip_connect~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|none~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|",
    "|none~0|+|skip_connect~0|none~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|",
)
ALL_CONV = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
WITH_SKIP = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def _graph(arch: str):
    return trace_graph(SPACE.build(SPACE.parse(arch), "cifar10", **TINY))


def test_members_of_one_class_give_identical_encodings_without_representatives():
    archs = [SPACE.parse(a) for a in CLASS]
    assert len({a.arch_id for a in archs}) == 1 and len({a.string for a in archs}) == 3
    for kind in ("fx", "fx_graph"):
        X = encode(SPACE, archs, kind, task="cifar10", per_class=False).X
        assert (X[0] == X).all(), kind
    other = encode(SPACE, [SPACE.parse(ALL_CONV)], "fx", task="cifar10", per_class=False).X
    assert not (other == X[0][: other.shape[1]]).all()


def test_randomly_drawn_classes_are_invariant_and_mostly_distinct():
    rng = np.random.default_rng(1)
    by_class: dict[str, list] = {}
    for arch in SPACE.enumerate():
        by_class.setdefault(arch.arch_id, []).append(arch)
    multi = [ids for ids in by_class.values() if len(ids) > 1]
    picked = [multi[i] for i in rng.choice(len(multi), 12, replace=False)]
    graphs = {}
    for members in picked:
        seen = {(g.ops, g.adjacency.tobytes()) for g in map(lambda a: _graph(a.string), members[:3])}
        assert len(seen) == 1, members[0].string
        graphs[members[0].arch_id] = seen.pop()
    assert len(set(graphs.values())) >= 10  # different classes rarely collide (degenerate ones do)


def test_the_encoding_is_read_from_the_traced_module_not_the_arch_string(monkeypatch):
    # replacing the module of edge 3 (0 -> 3) by an identity turns ALL_CONV's network into WITH_SKIP's
    arch = SPACE.parse(ALL_CONV)
    real_build = type(SPACE).build

    def edited_build(self, a, task, **options):
        module = real_build(self, a, task, **options)
        for cell in module.cells:
            if hasattr(cell, "ops"):
                cell.ops[3] = nn.Identity()
        return module

    before = encode(SPACE, [arch], "fx", task="cifar10", per_class=False).X
    monkeypatch.setattr(type(SPACE), "build", edited_build)
    after = encode(SPACE, [arch], "fx", task="cifar10", per_class=False).X
    monkeypatch.undo()
    skip = encode(SPACE, [SPACE.parse(WITH_SKIP)], "fx", task="cifar10", per_class=False).X
    assert not np.array_equal(before, after) and np.array_equal(after, skip)


def test_a_degenerate_cell_traces_to_input_and_output_only():
    graph = _graph("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert graph.ops == ("input", "output") and graph.adjacency.sum() == 0


class SmallResNet(nn.Module):
    """A torchvision-free CNN: stem, one residual block (two 3x3 convs), strided 1x1, pool, linear."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.a = nn.Conv2d(8, 8, 3, padding=1)
        self.b = nn.Conv2d(8, 8, 3, padding=1)
        self.down = nn.Conv2d(8, 16, 1, stride=2)
        self.drop = nn.Dropout(0.1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        x = self.stem(x)
        x = x + self.b(self.a(x).relu())
        x = self.pool(self.drop(self.down(x)))
        return self.head(x.flatten(1))


def test_a_plain_cnn_of_another_family_is_encoded_over_the_same_vocabulary():
    graph = trace_graph(SmallResNet())
    counts = dict(zip(fx_columns(), fx_vector(graph)))
    assert counts["fx_count_conv3x3"] == 3 and counts["fx_count_conv1x1"] == 1
    assert counts["fx_count_sum"] == 1 and counts["fx_count_relu"] == 2 and counts["fx_count_norm"] == 1
    assert counts["fx_count_gap"] == 1 and counts["fx_count_linear"] == 1 and counts["fx_count_reshape"] == 1
    assert counts["fx_strided"] == 1 and counts["fx_max_fan_in"] == 2
    # input, stem conv/bn/relu, a, relu, b, sum, down, gap, flatten, linear, output
    assert counts["fx_nodes"] == 13 and counts["fx_depth"] == 11 and counts["fx_shortest_path"] == 8
    assert set(graph.ops) <= set(OP_TYPES)


def test_one_gnn_fits_nb201_traces_and_predicts_another_family():
    rng = np.random.default_rng(0)
    archs = [SPACE.sample(rng) for _ in range(8)]
    pairs = [(g.adjacency, g.ops) for g in (_graph(a.string) for a in archs)]
    pairs.append((lambda g: (g.adjacency, g.ops))(trace_graph(SmallResNet())))
    X, _ = flatten_op_graphs(pairs, OP_TYPES)
    y = rng.normal(size=8)
    model = make_predictor("gnn", seed=0, epochs=5, members=1, width=8).fit(X[:8], y)
    assert np.isfinite(model.predict(X[8:]).mean).all()


def test_fx_kinds_parse_and_untraceable_modules_fail_in_one_line():
    assert parse_spec("fx_graph+fx", SPACE) == ("fx_graph", "fx")
    with pytest.raises(ValueError, match="'fx_graph' must come first"):
        parse_spec("fx+fx_graph", SPACE)

    class Dynamic(nn.Module):
        def forward(self, x):
            return x if x.sum() > 0 else -x

    with pytest.raises(ValueError, match=r"cannot trace Dynamic with torch\.fx") as info:
        trace_graph(Dynamic())
    assert "\n" not in str(info.value)

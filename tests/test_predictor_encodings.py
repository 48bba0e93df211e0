"""Encodings: the space's kinds, the flattened op graph, and zero-cost features read from a table."""

from __future__ import annotations

import json

import numpy as np
import pytest

import spaces
from benchmarks.importers import import_zero_cost_json
from benchmarks.table import open_table
from predictors.encodings import encode, flatten_graphs, parse_spec, unflatten_graph

SPACE = spaces.get("nb201")


@pytest.fixture(scope="module")
def archs():
    return SPACE.sample_unique(30, np.random.default_rng(3))


@pytest.fixture(scope="module")
def zc_table(tmp_path_factory, archs):
    """A NASLib zero-cost JSON of the 30 classes (synflow one NaN) imported as an archbench table."""
    entries = {}
    for i, arch in enumerate(archs):
        convs = arch.string.count("conv")
        entries[SPACE.to_naslib(arch)] = {
            "synflow": {"score": float("nan") if i == 0 else 10.0 ** (convs + 1), "time": 0.1},
            "nwot": {"score": 700.0 + convs, "time": 0.1},
            "val_accuracy": 50.0 + convs,
        }
    path = tmp_path_factory.mktemp("zc") / "zc_nasbench201.json"
    path.write_text(json.dumps({"cifar10": entries}))
    return open_table(import_zero_cost_json(path, path.parent / "out"))


def test_space_kinds_compose_and_unknown_kinds_are_named(archs):
    encoded = encode(SPACE, archs, "onehot+path")
    assert encoded.X.shape == (30, 30 + 40) and encoded.input == "vector"
    assert encoded.columns[0] == "onehot_0" and encoded.columns[-1] == "path_39"
    with pytest.raises(
        ValueError,
        match="unknown encoding 'paths' for space 'nb201' \\(valid: onehot, adjacency, path, graph, fx_graph, fx, zc\\)",
    ):
        parse_spec("onehot+paths", SPACE)
    with pytest.raises(ValueError, match="must come first"):
        parse_spec("onehot+graph", SPACE)
    with pytest.raises(ValueError, match="names a kind twice"):
        parse_spec("path+path", SPACE)


def test_equivalent_cells_get_equal_encodings():
    """Functional targets are per class, so every member of a class is encoded as its representative."""
    a = SPACE.parse("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")
    b = SPACE.parse("|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|none~1|none~2|")
    assert a.arch_id == b.arch_id and a != b
    for spec in ("onehot", "path", "graph"):
        X = encode(SPACE, [a, b], spec).X
        assert np.array_equal(X[0], X[1]), spec


def test_graph_rows_round_trip(archs):
    extra = np.arange(60.0).reshape(30, 2)
    X, columns = flatten_graphs(SPACE, archs, extra)
    adjacency, ops, features = unflatten_graph(X)
    assert np.array_equal(features, extra)
    for row, arch in enumerate(archs):
        graph = SPACE.graph(arch)
        n = graph.num_nodes
        assert np.array_equal(adjacency[row, :n, :n], graph.adjacency)
        assert [SPACE.vocab[i] for i in ops[row, :n].argmax(1)] == list(graph.ops)
        assert not ops[row, n:].any()
    assert len(columns) == X.shape[1]
    with pytest.raises(ValueError, match="not flattened op graphs"):
        unflatten_graph(X[:, :-1])


def test_zc_features_read_the_table_by_arch_id_and_record_their_protocols(zc_table, archs):
    encoded = encode(SPACE, archs, "onehot+zc", table=zc_table, task="cifar10", exclude=["val_acc"])
    assert encoded.columns[-2:] == ("zc_nwot", "zc_synflow")
    nwot, synflow = encoded.X[:, -2], encoded.X[:, -1]
    convs = np.array([a.string.count("conv") for a in archs])
    assert np.allclose(nwot, np.log1p(700.0 + convs))
    assert synflow[0] == pytest.approx(np.median(np.log1p(10.0 ** (convs[1:] + 1))))  # the NaN, imputed
    provenance = encoded.provenance["zc"]
    assert provenance["imputed"] == {"synflow": 1} and provenance["metrics"] == ["nwot", "synflow"]
    (settings,) = provenance["protocols"]["synflow"].values()
    assert settings["import"] == "naslib-zero-cost-json"


def test_zc_refuses_the_target_a_missing_metric_and_a_missing_table(zc_table, archs):
    with pytest.raises(ValueError, match="are the prediction target"):
        encode(SPACE, archs, "zc", table=zc_table, features=["val_acc"], exclude=["val_acc"])
    with pytest.raises(ValueError, match="has no metrics \\['snip'\\]"):
        encode(SPACE, archs, "zc", table=zc_table, features=["snip"])
    with pytest.raises(ValueError, match="needs a table"):
        encode(SPACE, archs, "zc")


def test_gnn_reads_graph_level_zc_features_and_round_trips(zc_table, archs, tmp_path, one_torch_thread):
    from predictors.base import load_predictor, make_predictor

    encoded = encode(SPACE, archs, "graph+zc", table=zc_table, task="cifar10", exclude=["val_acc"])
    assert encoded.input == "graph" and encoded.columns[-2:] == ("graph_feature_0", "graph_feature_1")
    y = np.array([a.string.count("conv") for a in archs], dtype=float)
    model = make_predictor("gnn", epochs=20, members=1, width=8).fit(encoded.X[:20], y[:20])
    loaded = load_predictor(model.save(tmp_path / "gnn"))
    assert np.array_equal(model.predict(encoded.X[20:]).mean, loaded.predict(encoded.X[20:]).mean)
    with pytest.raises(ValueError, match="graph features"):
        model.predict(encode(SPACE, archs, "graph").X)

"""The space conformance suite: every registered space passes it, and it can fail.

Parametrised over the space registry, so a newly registered space (or an entry-point plugin) is
covered with no edit here. A third space (``tests/_toy_space.py``) comes in through a faked
``archbench.spaces`` entry-point group and passes; broken copies of it fail exactly the check for the
rule they break.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch.nn as nn
from _plugins import plugin_entries
from _toy_space import ToyCellSpace

import spaces
from spaces import SPACES, Architecture, SearchSpace, make_arch_id
from spaces.capabilities import (
    DecomposableSpace,
    EncodableSpace,
    EnumerableSpace,
    MissingCapability,
    capabilities,
    requires,
)
from spaces.conformance import check_space, space_checks


@pytest.mark.parametrize(
    ("name", "check"),
    [(name, check) for name in spaces.list_spaces() for check, _ in space_checks(name)],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_registered_space_passes(name: str, check: str) -> None:
    dict(space_checks(name))[check](spaces.get(name))


def test_nb201_declares_every_capability_and_runs_every_check() -> None:
    nb201 = spaces.get("nb201")
    assert capabilities(nb201) == ("enumerable", "cell", "mutable", "encodable", "decomposable")
    assert len(dict(space_checks(nb201))) == 15  # 9 core + published params + 5 capability checks


@pytest.fixture
def toy_plugin(monkeypatch):
    """Register the toy space through a faked ``archbench.spaces`` entry point, and remove it after."""
    yield from plugin_entries(monkeypatch, SPACES, {"zz_toy_cell": "_toy_space:ToyCellSpace"})
    spaces._instances.pop("zz_toy_cell", None)


def test_entry_point_space_is_listed_and_passes_the_suite(toy_plugin) -> None:
    assert "zz_toy_cell" in spaces.list_spaces()
    results = check_space("zz_toy_cell")
    assert results and all(v == "passed" for v in results.values()), results
    toy = spaces.get("zz_toy_cell")
    assert capabilities(toy) == ("enumerable", "cell", "mutable")
    # only the layers it declares are checked
    assert "check_encodings" not in results and "check_blocks" not in results
    assert "check_enumerate" in results and "check_cell" in results


class BadRoundTrip(ToyCellSpace):
    def format(self, arch: Architecture) -> str:
        return ",".join(reversed(self.ops_of(arch)))


class BadArchId(ToyCellSpace):
    def from_ops(self, ops):
        return Architecture(self.name, ",".join(ops), make_arch_id(self.name, self.version, ",".join(ops)))


class BadMutate(ToyCellSpace):
    def mutate(self, arch, rng):
        return arch


class BadEnumerate(ToyCellSpace):
    def enumerate(self):
        archs = list(super().enumerate())
        return iter(archs[:-1] + archs[:1])


class BadBuild(ToyCellSpace):
    def build(self, arch, task, C: int = 8, **options):
        return nn.Sequential(super().build(arch, task, C=C, **options), nn.Linear(10, 3))


class BadDegenerate(ToyCellSpace):
    def is_degenerate(self, arch):
        return False


class BadParse(ToyCellSpace):
    def parse(self, text):
        return super().parse(text if "," in text and text.count(",") == 2 else "conv,conv,conv")


class Unpicklable(ToyCellSpace):
    def __init__(self) -> None:
        self.hook = lambda x: x


@pytest.mark.parametrize(
    ("space", "failing"),
    [
        (BadRoundTrip(), {"check_parse_format_round_trip"}),
        (BadArchId(), {"check_arch_id", "check_equivalent_fixtures", "check_enumerate"}),
        (BadMutate(), {"check_mutate_neighbors"}),
        (BadEnumerate(), {"check_enumerate"}),
        (BadBuild(), {"check_tiny_build_forward_backward"}),
        (BadDegenerate(), {"check_degenerate_fixtures", "check_cell"}),
        (BadParse(), {"check_parse_rejects_garbage"}),
        (Unpicklable(), {"check_picklable"}),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, set) else "",
)
def test_a_broken_space_fails_the_right_check(space, failing: set[str]) -> None:
    results = check_space(space)
    assert {k for k, v in results.items() if v != "passed"} == failing, results
    for name in failing:
        assert results[name].startswith("failed: ") and "\n" not in results[name]
    with pytest.raises(AssertionError, match="space 'zz_toy_cell'"):
        check_space(space, raise_on_fail=True)


def test_a_card_without_fixtures_fails_the_card_check() -> None:
    class NoFixtures(ToyCellSpace):
        card = ToyCellSpace.card.__class__(27, 9, ("zero", "skip", "conv"), "ops", "paper")

    results = check_space(NoFixtures())
    assert (
        results["check_card"]
        == "failed: space 'zz_toy_cell': card has no fixtures (SpaceFixtures with a few architecture strings)"
    )


def test_requires_names_the_space_and_the_missing_capability() -> None:
    toy = ToyCellSpace()
    assert requires(toy, EnumerableSpace, "whole-space builds") is toy
    with pytest.raises(
        MissingCapability,
        match=r"^a path predictor needs capability 'encodable' \(EncodableSpace\), which space 'zz_toy_cell' does not declare$",
    ):
        requires(toy, EncodableSpace, "a path predictor")
    with pytest.raises(TypeError, match="capability 'decomposable'"):
        requires(toy, DecomposableSpace, "the LUT latency model")


def test_a_registered_non_space_is_refused(monkeypatch) -> None:
    monkeypatch.setitem(SPACES._entries, "zz_not_a_space", dict)
    with pytest.raises(
        TypeError, match=r"space 'zz_not_a_space' is registered as .*not a SearchSpace subclass"
    ):
        spaces.get("zz_not_a_space")


def test_core_defaults_for_a_space_without_equivalence_rules() -> None:
    class Plain(SearchSpace):  # the core only
        name, version, card = "zz_plain", "1", ToyCellSpace.card

        def parse(self, text):
            return Architecture(self.name, text, make_arch_id(self.name, self.version, text))

        def sample(self, rng):
            return self.parse(str(int(rng.integers(10))))

        def build(self, arch, task, **options):
            raise NotImplementedError

    plain = Plain()
    arch = plain.parse("7")
    assert plain.canonical(arch) == "7" and plain.format(arch) == "7" and plain.arch_id("7") == arch.arch_id
    assert not plain.is_degenerate(arch) and plain.index(arch) is None and plain.representative(arch) is arch
    assert capabilities(plain) == ()
    assert len(plain.sample_unique(5, np.random.default_rng(0))) == 5


def test_the_proxy_suite_takes_its_fixtures_from_the_card() -> None:
    from proxies import conformance
    from proxies.protocol import Protocol

    card = spaces.get(conformance.SPACE).card
    assert conformance._protocol() == Protocol(
        task="mnist5k", batch_size=8, resolution=8, build={"C": 4, "N": 1}
    )
    assert conformance._fixtures() is card.fixtures
    assert conformance._context().arch.string == card.fixtures.archs[0]


def test_naslib_keys_live_with_nb201_and_other_spaces_are_refused_by_name(tmp_path, toy_plugin) -> None:
    from benchmarks.importers import import_zero_cost_json

    nb201 = spaces.get("nb201")
    arch = nb201.from_index(4321)
    assert nb201.from_naslib(nb201.to_naslib(arch)) == arch
    path = tmp_path / "zc.json"
    path.write_text('{"cifar10": {"(2, 2, 2, 2, 2, 2)": {"val_accuracy": 90.0}}}')
    with pytest.raises(
        ValueError, match="reads NASLib architecture keys, which space 'zz_toy_cell' does not"
    ):
        import_zero_cost_json(path, tmp_path / "out", space_name="zz_toy_cell")


def test_enumerate_space_script_counts_a_whole_space(capsys, toy_plugin) -> None:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "scripts" / "enumerate_space.py"
    spec = importlib.util.spec_from_file_location("enumerate_space", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.main(["nb201"]) == 0
    assert capsys.readouterr().out.startswith("ok nb201: 15,625 architectures, 6466 classes")
    assert script.main(["zz_toy_cell"]) == 0
    assert script.main(["nb2001"]) == 2
    assert "unknown space 'nb2001'; did you mean nb201" in capsys.readouterr().err  # closest first


def test_spaces_above_the_limit_are_enumerated_only_by_the_script() -> None:
    from dataclasses import replace

    from spaces.conformance import check_enumerate

    class WrongClassCount(ToyCellSpace):
        card = replace(ToyCellSpace.card, num_unique=10)

    check_enumerate(WrongClassCount(), limit=10)  # 27 > 10: only the head and the index range are checked
    with pytest.raises(AssertionError, match="enumerate gave 9 classes, card says 10"):
        check_enumerate(WrongClassCount(), limit=None)

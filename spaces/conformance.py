"""A conformance suite every search space must pass (the scikit-learn ``check_estimator`` idea).

Each ``check_*`` is a small function ``check(space) -> None`` that raises AssertionError with a
message naming the space and the rule. :func:`space_checks` picks the checks that apply from the
capabilities the space declares (:mod:`spaces.capabilities`); :func:`check_space` runs them and returns
``{check_name: "passed" | "failed: ..."}``. The checks run on the fixtures of the space's card (a few
architecture strings, a degenerate one and equivalent groups where the space has them, tiny build
options), so a new space is covered by adding it to the registry, with no test edits.

Enumeration is checked in full only for spaces of at most :data:`ENUMERATION_LIMIT` architectures;
larger ones (NB101's 423,624 cells) are enumerated by a script, not by the test suite.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import TypeVar

import numpy as np

from spaces.base import ARCH_ID_LENGTH, Architecture, SearchSpace, SpaceFixtures, make_arch_id
from spaces.capabilities import (
    CellSpace,
    DecomposableSpace,
    EncodableSpace,
    EnumerableSpace,
    MutableSpace,
)
from spaces.tasks import get_task

Check = Callable[[SearchSpace], None]
T = TypeVar("T")

ENUMERATION_LIMIT = 50_000
"""Largest space whose every architecture the suite enumerates (NB201's 15,625 take about a second)."""
SAMPLES = 16
"""Architectures sampled (seed 0) beside the card's fixtures."""
_HEX = re.compile(f"^[0-9a-f]{{{ARCH_ID_LENGTH}}}$")


def _fail(space: SearchSpace, rule: str) -> AssertionError:
    return AssertionError(f"space {getattr(space, 'name', type(space).__name__)!r}: {rule}")


def _fixtures(space: SearchSpace) -> SpaceFixtures:
    fixtures = space.card.fixtures
    if fixtures is None:
        raise _fail(space, "card has no fixtures (SpaceFixtures with a few architecture strings)")
    return fixtures


def _archs(space: SearchSpace) -> list[Architecture]:
    """The card's standard and degenerate fixtures, then seeded samples."""
    fixtures = _fixtures(space)
    found = [space.parse(s) for s in (*fixtures.archs, *fixtures.degenerate)]
    rng = np.random.default_rng(0)
    return found + [space.sample(rng) for _ in range(SAMPLES)]


def check_card(space: SearchSpace) -> None:
    """The card names a paper and an encoding, its counts agree, and its fixtures are usable."""
    card = space.card
    if not card.paper or not card.encoding or not space.name or not space.version:
        raise _fail(space, "needs a name, a version, and a card with a paper and an encoding")
    if card.num_unique is not None and (card.num_archs is None or card.num_unique > card.num_archs):
        raise _fail(space, f"num_unique {card.num_unique} exceeds num_archs {card.num_archs}")
    fixtures = _fixtures(space)
    if not fixtures.archs:
        raise _fail(space, "card fixtures need at least one standard architecture")
    if not space.inputs:
        raise _fail(space, "declares no input kinds (inputs = (ImageInput,) or (TokenInput,))")
    space.task_input(fixtures.task, fixtures.resolution)  # the tiny task is registered and accepted


def check_parse_format_round_trip(space: SearchSpace) -> None:
    """``parse(format(a)) == a`` and formatting is stable, on fixtures and samples."""
    for arch in _archs(space):
        text = space.format(arch)
        again = space.parse(text)
        if again != arch or space.format(again) != text or again.arch_id != arch.arch_id:
            raise _fail(space, f"parse(format(a)) != a for {arch.string!r} (gave {again.string!r})")


def check_parse_rejects_garbage(space: SearchSpace) -> None:
    """Malformed strings raise ValueError with a one-line message."""
    for text in ("", "not an architecture", "|" * 7, _fixtures(space).archs[0] + "#"):
        try:
            space.parse(text)
        except ValueError as exc:
            if "\n" in str(exc) or not str(exc):
                raise _fail(space, f"parse({text!r}) error is not one line: {exc!r}") from exc
            continue
        raise _fail(space, f"parse({text!r}) was accepted")


def check_arch_id(space: SearchSpace) -> None:
    """``arch_id`` is the documented hash of the canonical form, stable across parses."""
    for arch in _archs(space):
        if not _HEX.match(arch.arch_id):
            raise _fail(space, f"arch_id {arch.arch_id!r} is not {ARCH_ID_LENGTH} lower-case hex digits")
        expected = make_arch_id(space.name, space.version, space.canonical(arch))
        if arch.arch_id != expected or space.arch_id(arch.string) != expected:
            raise _fail(space, f"arch_id of {arch.string!r} is not make_arch_id(name, version, canonical)")


def check_equivalent_fixtures(space: SearchSpace) -> None:
    """The card's equivalent groups share an ``arch_id``; its standard fixtures are pairwise distinct."""
    fixtures = _fixtures(space)
    for group in fixtures.equivalent:
        ids = {space.parse(s).arch_id for s in group}
        if len(ids) != 1:
            raise _fail(space, f"equivalent fixtures {group} have {len(ids)} different arch_ids")
    standard = [space.parse(s).arch_id for s in fixtures.archs]
    if len(set(standard)) != len(standard):
        raise _fail(space, "two standard fixtures are equivalent (they should cover different classes)")


def check_degenerate_fixtures(space: SearchSpace) -> None:
    """``is_degenerate`` is True on the card's degenerate fixtures and False on its standard ones."""
    fixtures = _fixtures(space)
    wrong = [s for s in fixtures.degenerate if not space.is_degenerate(space.parse(s))]
    wrong += [s for s in fixtures.archs if space.is_degenerate(space.parse(s))]
    if wrong:
        raise _fail(space, f"is_degenerate disagrees with the card's fixtures on {wrong}")


def check_sample(space: SearchSpace) -> None:
    """Sampling is deterministic under a seed; ``sample_unique`` gives distinct classes."""
    first = [space.sample(np.random.default_rng(7)) for _ in range(3)]
    if first != [space.sample(np.random.default_rng(7)) for _ in range(3)]:
        raise _fail(space, "sample is not deterministic under a seed")
    if any(not isinstance(a, Architecture) or a.space != space.name for a in first):
        raise _fail(space, "sample returned something other than an Architecture of the space")
    n = min(8, space.card.num_unique or space.size or 8)
    found = space.sample_unique(n, np.random.default_rng(0))
    if len({a.arch_id for a in found}) != n or len(found) != n:
        raise _fail(space, f"sample_unique({n}) did not give {n} distinct arch_ids")


def check_tiny_build_forward_backward(space: SearchSpace) -> None:
    """Each standard fixture's tiny build maps a batch of the task's input to finite logits and gradients."""
    import torch

    fixtures = _fixtures(space)
    task = get_task(fixtures.task)
    spec = space.task_input(task, fixtures.resolution)
    for text in fixtures.archs:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = space.build(space.parse(text), task, **fixtures.build_options())
            x = spec.noise(2, torch.Generator().manual_seed(0), torch.float32)
            out = model(x)
        if tuple(out.shape) != task.output_shape(2) or not torch.isfinite(out).all():
            raise _fail(
                space, f"tiny build of {text!r} gave {tuple(out.shape)} (want {task.output_shape(2)})"
            )
        out.square().mean().backward()
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        if not grads or not all(torch.isfinite(g).all() for g in grads):
            raise _fail(space, f"tiny build of {text!r} has no finite gradients")


def check_picklable(space: SearchSpace) -> None:
    """The space and its architectures pickle (process pools and Ray ship them to workers)."""
    arch = space.parse(_fixtures(space).archs[0])
    try:
        clone, arch_clone = pickle.loads(pickle.dumps((space, arch)))
    except Exception as exc:
        raise _fail(space, f"cannot be pickled ({type(exc).__name__}: {exc})") from exc
    if arch_clone != arch or clone.parse(arch.string).arch_id != arch.arch_id:
        raise _fail(space, "a pickled copy parses architectures differently")


def check_published_params(space: SearchSpace) -> None:
    """Every published parameter count on the card is what the space builds."""
    for fact in space.card.facts:
        model = space.build(space.parse(fact.arch), fact.task, **dict(fact.build))
        found = sum(p.numel() for p in model.parameters())
        if found != fact.params:
            raise _fail(space, f"{fact.arch} on {fact.task} has {found} parameters, published {fact.params}")


# ---- capability checks ---------------------------------------------------------------------------------
def check_enumerate(space: EnumerableSpace, limit: int | None = ENUMERATION_LIMIT) -> None:
    """``enumerate`` gives ``size`` distinct architectures, ``index`` / ``from_index`` invert each other.

    Spaces larger than ``limit`` are enumerated only in part (``scripts/enumerate_space.py`` passes
    ``limit=None`` to count them in full).
    """
    head = list(islice(space.enumerate(), 64))
    for i, arch in enumerate(head):
        if space.index(arch) != i or space.from_index(i) != arch:
            raise _fail(space, f"index / from_index disagree with enumerate at position {i}")
    for bad in (-1, space.size):
        try:
            space.from_index(bad)
        except ValueError:
            continue
        raise _fail(space, f"from_index({bad}) was accepted (valid: 0..{space.size - 1})")
    if limit is not None and space.size > limit:
        return  # counted by scripts/enumerate_space.py, not by the test suite
    archs = list(space.enumerate())
    if len(archs) != space.size or len({a.string for a in archs}) != space.size:
        raise _fail(
            space,
            f"enumerate gave {len(archs)} architectures ({len(set(archs))} distinct), size {space.size}",
        )
    if space.card.num_unique is not None and len({a.arch_id for a in archs}) != space.card.num_unique:
        raise _fail(
            space,
            f"enumerate gave {len({a.arch_id for a in archs})} classes, card says {space.card.num_unique}",
        )


def check_cell(space: CellSpace) -> None:
    """Ops round-trip and ``canonical`` / ``is_degenerate`` are the generic canonicaliser's."""
    for arch in _archs(space):
        ops = space.ops_of(arch)
        if len(ops) != len(space.cell.edges) or space.from_ops(ops) != arch:
            raise _fail(space, f"from_ops(ops_of(a)) != a for {arch.string!r}")
        if space.canonical(arch) != space.cell.canonical_form(ops):
            raise _fail(space, f"canonical({arch.string!r}) is not the cell's canonical form")
        if space.is_degenerate(arch) != space.cell.is_degenerate(ops):
            raise _fail(space, f"is_degenerate({arch.string!r}) disagrees with the cell")


def check_mutate_neighbors(space: MutableSpace) -> None:
    """Mutants and neighbours are other architectures of the space; a mutant is a neighbour."""
    rng = np.random.default_rng(0)
    for arch in _archs(space)[:8]:
        neighbours = space.neighbors(arch)
        if not neighbours or len(set(neighbours)) != len(neighbours) or arch in neighbours:
            raise _fail(space, f"neighbors({arch.string!r}) must be distinct and exclude the architecture")
        if any(n.space != space.name or space.parse(n.string) != n for n in neighbours):
            raise _fail(space, f"a neighbour of {arch.string!r} is not an architecture of the space")
        mutant = space.mutate(arch, rng)
        if mutant not in neighbours:
            raise _fail(space, f"mutate({arch.string!r}) gave {mutant.string!r}, not one of its neighbours")


def check_encodings(space: EncodableSpace) -> None:
    """Every kind gives a finite 1-D float32 vector of one length; graphs are DAGs over ``vocab``."""
    archs = _archs(space)
    for kind in space.encodings:
        shapes = set()
        for arch in archs:
            enc = space.encode(arch, kind)
            if enc.dtype != np.float32 or enc.ndim != 1 or not np.isfinite(enc).all():
                raise _fail(space, f"encode(..., {kind!r}) must be a finite 1-D float32 array")
            shapes.add(enc.shape)
        if len(shapes) != 1:
            raise _fail(space, f"encoding {kind!r} has several lengths {sorted(shapes)}")
    try:
        space.encode(archs[0], "no-such-encoding")
    except ValueError:
        pass
    else:
        raise _fail(space, "an unknown encoding kind was accepted")
    for arch in archs:
        graph = space.graph(arch)
        if not set(graph.ops) <= set(space.vocab):
            raise _fail(
                space, f"graph of {arch.string!r} has ops outside vocab: {set(graph.ops) - set(space.vocab)}"
            )


def check_blocks(space: DecomposableSpace) -> None:
    """A network's blocks are in the space's block set, and every block builds and runs alone."""
    import torch

    fixtures = _fixtures(space)
    options = fixtures.build_options()
    block_set = space.block_set(fixtures.task, fixtures.resolution, **options)
    known = {b.key for b in block_set}
    for arch in _archs(space):
        for group in space.blocks(arch, fixtures.task, fixtures.resolution, **options):
            for use in group.uses:
                if use.block.key not in known:
                    raise _fail(space, f"block {use.block.key} of {arch.string!r} is not in block_set")
                if use.position is not None and use.position not in space.block_positions:
                    raise _fail(space, f"block position {use.position} is not in block_positions")
    for block in block_set:
        x = space.block_input(block, 2, torch.Generator().manual_seed(0))
        out = space.block_module(block, 2).eval()(x)
        if not torch.isfinite(out).all():
            raise _fail(space, f"block {block.key} gave non-finite output")


def space_checks(space: SearchSpace | str) -> Iterator[tuple[str, Check]]:
    """The checks that apply to ``space``, chosen by its declared capabilities, as ``(name, check)``."""
    space = _resolve(space)
    checks: list[Callable] = [
        check_card,
        check_parse_format_round_trip,
        check_parse_rejects_garbage,
        check_arch_id,
        check_equivalent_fixtures,
        check_degenerate_fixtures,
        check_sample,
        check_tiny_build_forward_backward,
        check_picklable,
    ]
    if space.card.facts:
        checks.append(check_published_params)
    for layer, check in (
        (EnumerableSpace, check_enumerate),
        (CellSpace, check_cell),
        (MutableSpace, check_mutate_neighbors),
        (EncodableSpace, check_encodings),
        (DecomposableSpace, check_blocks),
    ):
        if isinstance(space, layer):
            checks.append(check)
    for check in checks:
        yield check.__name__, check


def run_checks(
    subject: T,
    checks: Iterable[tuple[str, Callable[[T], None]]],
    raise_on_fail: bool = False,
    catch: tuple[type[BaseException], ...] = (AssertionError,),
) -> dict[str, str]:
    """Run ``(name, check)`` pairs on ``subject``: ``{name: "passed" | "failed: <reason>"}``.

    Exceptions of the ``catch`` types count as failures (with ``raise_on_fail`` the first is raised);
    any other propagates. Shared by every conformance suite (spaces, proxies).
    """
    results = {}
    for name, check in checks:
        try:
            check(subject)
            results[name] = "passed"
        except catch as exc:
            if raise_on_fail:
                raise
            message = str(exc) if isinstance(exc, AssertionError) else f"{type(exc).__name__}: {exc}"
            results[name] = f"failed: {message}"
    return results


def check_space(space: SearchSpace | str, raise_on_fail: bool = False) -> dict[str, str]:
    """Run every applicable check; ``{check: "passed" | "failed: <reason>"}`` (or raise the first failure).

    A check that raises something other than AssertionError (the space crashed) counts as failed too.
    """
    space = _resolve(space)
    return run_checks(space, space_checks(space), raise_on_fail, catch=(Exception,))


def _resolve(space: SearchSpace | str) -> SearchSpace:
    if isinstance(space, str):
        import spaces

        return spaces.get(space)
    return space


__all__ = ["ENUMERATION_LIMIT", "check_space", "run_checks", "space_checks"]

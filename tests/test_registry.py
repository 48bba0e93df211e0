"""Tests of the generic registry (spaces/registry.py) and the space / task registries built on it.

Covers registration (direct and as a decorator), name validation, duplicate names, the one-line
``UnknownNameError`` with close-match suggestions, lazy ``"module:attr"`` entries (imported only on
``get``), fnmatch filtering in ``names()`` and entry-point plugins (with ``entry_points`` faked).
"""

from __future__ import annotations

import importlib
import sys
import uuid
from importlib.metadata import EntryPoint

import pytest

import spaces
import spaces.registry as registry_module
from spaces import Registry, UnknownNameError
from spaces.base import SearchSpace
from spaces.nb201 import NB201Space
from spaces.tasks import TASKS, get_task


@pytest.fixture
def lazy_module(tmp_path, monkeypatch):
    """A fresh, importable module on sys.path (unique name, not yet imported); removed afterwards."""
    name = f"_archbench_lazy_probe_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text(
        "class Holder:\n    class Inner:\n        value = 42\n\nTHING = object()\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield name
    sys.modules.pop(name, None)


def _unknown_message(reg: Registry, name: str) -> str:
    with pytest.raises(UnknownNameError) as info:
        reg.get(name)
    return str(info.value)


def test_register_then_get_returns_the_same_object():
    reg: Registry[object] = Registry("widget")
    obj = object()
    assert reg.register("alpha", obj) is obj
    assert reg.get("alpha") is obj
    assert "alpha" in reg
    assert "beta" not in reg


def test_register_as_decorator_returns_the_decorated_object():
    reg: Registry[object] = Registry("widget")

    @reg.register("my_fn")
    def my_fn() -> int:
        return 7

    assert reg.get("my_fn") is my_fn
    assert my_fn() == 7


def test_duplicate_name_raises_value_error_and_keeps_first_entry():
    reg: Registry[object] = Registry("widget")
    first, second = object(), object()
    reg.register("alpha", first)
    with pytest.raises(ValueError, match="'alpha' is already registered"):
        reg.register("alpha", second)
    with pytest.raises(ValueError, match="already registered"):
        reg.register("alpha")(second)  # decorator form too
    assert reg.get("alpha") is first


@pytest.mark.parametrize("bad", ["", "Alpha", "has space", "_leading", "dot.name", "colon:name"])
def test_invalid_names_are_rejected(bad):
    reg: Registry[object] = Registry("widget")
    with pytest.raises(ValueError, match="lower-case"):
        reg.register(bad, object())
    assert reg.names() == []


@pytest.mark.parametrize("good", ["a", "nb201", "imagenet16-120", "snip_v2", "0abc"])
def test_valid_names_are_accepted(good):
    reg: Registry[object] = Registry("widget")
    reg.register(good, 1)
    assert reg.names() == [good]


def test_unknown_name_raises_keyerror_subclass_with_one_line_message():
    reg: Registry[object] = Registry("proxy")
    for name in ("synflow", "snip", "grasp", "jacob_cov"):
        reg.register(name, object())
    with pytest.raises(UnknownNameError) as info:
        reg.get("synflw")
    err = info.value
    assert isinstance(err, KeyError)
    msg = str(err)
    assert "\n" not in msg
    assert msg.startswith("unknown proxy 'synflw'")
    assert "did you mean synflow" in msg
    assert "(valid: grasp, jacob_cov, snip, synflow)" in msg


def test_unknown_name_without_close_matches_lists_valid_names_only():
    reg: Registry[object] = Registry("proxy")
    reg.register("synflow", object())
    msg = _unknown_message(reg, "zzzzzz")
    assert "did you mean" not in msg
    assert "valid: synflow" in msg


def test_unknown_name_in_empty_registry_says_none():
    reg: Registry[object] = Registry("device")
    msg = _unknown_message(reg, "cpu")
    assert "\n" not in msg
    assert "(valid: (none))" in msg


def test_names_are_sorted_and_filtered_with_fnmatch():
    reg: Registry[int] = Registry("proxy")
    for i, name in enumerate(("synflow", "snip", "grasp", "syn_v2", "nwot")):
        reg.register(name, i)
    assert reg.names() == ["grasp", "nwot", "snip", "syn_v2", "synflow"]
    assert list(reg) == reg.names()
    assert reg.names("syn*") == ["syn_v2", "synflow"]
    assert reg.names("s?ip") == ["snip"]
    assert reg.names("*w*") == ["nwot", "synflow"]
    assert reg.names("[gn]*") == ["grasp", "nwot"]
    assert reg.names("nothing*") == []


def test_lazy_entry_is_imported_only_on_get(lazy_module):
    reg: Registry[object] = Registry("widget")
    assert reg.register("thing", f"{lazy_module}:THING") == f"{lazy_module}:THING"
    # Listing, membership and iteration never import the target module.
    assert reg.names() == ["thing"]
    assert "thing" in reg
    assert list(reg) == ["thing"]
    assert lazy_module not in sys.modules

    obj = reg.get("thing")
    assert lazy_module in sys.modules
    assert obj is sys.modules[lazy_module].THING
    assert reg.get("thing") is obj  # resolved once, then cached


def test_lazy_entry_resolves_dotted_attribute_path(lazy_module):
    reg: Registry[object] = Registry("widget")
    reg.register("inner", f"{lazy_module}:Holder.Inner")
    reg.register("module", lazy_module)  # no ":attr" -> the module itself
    assert reg.get("inner").value == 42
    assert reg.get("module") is sys.modules[lazy_module]


def test_lazy_entry_with_missing_module_fails_only_on_get():
    reg: Registry[object] = Registry("widget")
    reg.register("ghost", "archbench_no_such_module_xyz:thing")
    assert reg.names() == ["ghost"]
    with pytest.raises(ModuleNotFoundError):
        reg.get("ghost")


def _fake_entry_points(eps, calls):
    def fake(*, group):
        calls.append(group)
        return [ep for ep in eps if ep.group == group]

    return fake


def test_entry_point_plugins_are_listed_lazily_and_loaded_on_get(monkeypatch, lazy_module):
    group = "archbench.test_widgets"
    calls: list[str] = []
    eps = [
        EntryPoint(name="plugin_thing", value=f"{lazy_module}:THING", group=group),
        EntryPoint(name="other_group", value="x:y", group="archbench.elsewhere"),
    ]
    monkeypatch.setattr(registry_module, "entry_points", _fake_entry_points(eps, calls))
    reg: Registry[object] = Registry("widget", entry_point_group=group)
    reg.register("builtin", 1)

    assert reg.names() == ["builtin", "plugin_thing"]
    assert "plugin_thing" in reg
    assert "other_group" not in reg
    assert lazy_module not in sys.modules  # plugin listed, not imported
    assert reg.get("plugin_thing") is sys.modules[lazy_module].THING
    assert calls == [group]  # the group is scanned once and cached


def test_entry_point_plugin_does_not_override_builtin_entry(monkeypatch):
    group = "archbench.test_widgets"
    eps = [EntryPoint(name="builtin", value="archbench_no_such_module_xyz:thing", group=group)]
    monkeypatch.setattr(registry_module, "entry_points", _fake_entry_points(eps, []))
    reg: Registry[str] = Registry("widget", entry_point_group=group)
    reg.register("builtin", "spaces.nb201:NB201Space")
    with pytest.warns(UserWarning, match="shadowed"):
        assert reg.get("builtin") is NB201Space


def test_entry_point_value_with_extras_loads(monkeypatch):
    group = "archbench.test_widgets"
    eps = [EntryPoint(name="plug", value="spaces.nb201:NB201Space [ray]", group=group)]
    monkeypatch.setattr(registry_module, "entry_points", _fake_entry_points(eps, []))
    reg: Registry[object] = Registry("widget", entry_point_group=group)
    assert reg.get("plug") is NB201Space


def test_entry_point_with_invalid_name_is_ignored_with_a_warning(monkeypatch):
    group = "archbench.test_widgets"
    eps = [EntryPoint(name="Bad Name", value="spaces.nb201:NB201Space", group=group)]
    monkeypatch.setattr(registry_module, "entry_points", _fake_entry_points(eps, []))
    reg: Registry[object] = Registry("widget", entry_point_group=group)
    with pytest.warns(UserWarning, match="not a valid name"):
        assert reg.names() == []


def test_registering_a_name_taken_by_a_loaded_plugin_is_a_duplicate(monkeypatch):
    group = "archbench.test_widgets"
    eps = [EntryPoint(name="plug", value="spaces.nb201:NB201Space", group=group)]
    monkeypatch.setattr(registry_module, "entry_points", _fake_entry_points(eps, []))
    reg: Registry[object] = Registry("widget", entry_point_group=group)
    assert reg.names() == ["plug"]
    with pytest.raises(ValueError, match="already registered"):
        reg.register("plug", object())


def test_unknown_name_message_includes_plugin_names(monkeypatch):
    group = "archbench.test_widgets"
    eps = [EntryPoint(name="plugged", value="spaces.nb201:NB201Space", group=group)]
    monkeypatch.setattr(registry_module, "entry_points", _fake_entry_points(eps, []))
    reg: Registry[object] = Registry("widget", entry_point_group=group)
    msg = _unknown_message(reg, "pluged")
    assert "did you mean plugged" in msg
    assert "valid: plugged" in msg


def test_registry_without_group_never_scans_entry_points(monkeypatch):
    def boom(**kwargs):
        raise AssertionError("entry_points must not be called without a group")

    monkeypatch.setattr(registry_module, "entry_points", boom)
    reg: Registry[int] = Registry("widget")
    reg.register("a", 1)
    assert reg.names() == ["a"]
    assert reg.get("a") == 1
    assert "b" not in reg


def test_space_registry_lists_and_returns_shared_nb201_instance():
    assert "nb201" in spaces.list_spaces()
    assert spaces.list_spaces("nb2*") == ["nb201"]
    assert spaces.list_spaces("zz*") == []
    space = spaces.get("nb201")
    assert isinstance(space, NB201Space)
    assert isinstance(space, SearchSpace)
    assert spaces.get("nb201") is space
    assert spaces.SPACES.get("nb201") is NB201Space


def test_unknown_space_suggests_close_match():
    with pytest.raises(KeyError) as info:
        spaces.get("nb21")
    assert isinstance(info.value, UnknownNameError)
    msg = str(info.value)
    assert "\n" not in msg
    assert "unknown space 'nb21'" in msg
    assert "did you mean nb201" in msg


def test_task_registry_and_get_task():
    assert set(TASKS.names()) >= {"cifar10", "cifar100", "imagenet16-120", "mnist5k"}
    task = get_task("cifar100")
    assert (task.num_classes, task.resolution, task.in_channels) == (100, 32, 3)
    assert get_task(task) is task
    assert get_task("imagenet16-120").resolution == 16
    with pytest.raises(UnknownNameError, match="did you mean cifar10"):
        get_task("cifar11")

"""Fuzz test in CI (issue 18): random intents from the JSON Schema, every registered platform.

Bounded (a few seconds); ``python benchmarks/fuzz.py --examples 2000`` runs it longer. The
properties are in benchmarks/fuzz.py: documented exit codes, no traceback, nothing on stdout on
failure, output that parses and carries the intent's strings verbatim.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.fuzz import check_render, intents, seeded_intents
from meshgen.capabilities import Feature, Support
from meshgen.platforms import PLATFORMS, matrix


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # the same examples on every CI run; the long run explores
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
@given(intent=intents(), allow_loss=st.booleans())
def test_random_intents_on_every_platform(intent, allow_loss, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("fuzz")
    for platform in sorted(PLATFORMS):
        check_render(intent, platform, allow_loss, workdir)


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
@given(intent=seeded_intents())
def test_valid_intents_with_schema_strings_on_every_platform(intent, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("fuzz")
    for platform in sorted(PLATFORMS):
        check_render(intent, platform, True, workdir)


# Only platforms that write a header match into their output can change its value; the no-mesh
# baseline reports request routing as a loss and writes no header at all.
HEADER_ROUTING = sorted(
    name
    for name, capability in matrix()[Feature.REQUEST_ROUTING].items()
    if capability.support is not Support.NOT_EXPRESSIBLE
)


def test_header_routing_platforms_are_most_of_the_registry():
    assert "kubernetes" not in HEADER_ROUTING and len(HEADER_ROUTING) == len(PLATFORMS) - 1


@pytest.mark.parametrize("platform", HEADER_ROUTING)
def test_check_render_catches_a_changed_value(platform, tmp_path, monkeypatch):
    # The property must be able to fail: an emitter that drops U+FEFF (which the intent accepts) breaks it.
    import importlib

    render = importlib.import_module("meshgen.render")

    intent = {
        "apiVersion": "meshgen.dev/v1alpha1",
        "kind": "MeshIntent",
        "metadata": {"name": "shop"},
        "spec": {
            "platform": platform,
            "services": [
                {
                    "name": "api",
                    "ports": [{"name": "http", "port": 80}],
                    "versions": [{"name": "v1", "weight": 100}, {"name": "v2"}],
                    "routes": [{"match": {"headers": {"x-user": {"exact": "a\u2028 b\u0085"}}}, "version": "v2"}],
                }
            ],
        },
    }
    check_render(intent, platform, True, tmp_path)  # refused (exit 1: control characters), not a failure
    intent["spec"]["services"][0]["routes"][0]["match"]["headers"]["x-user"]["exact"] = "a\ufeff b"
    check_render(intent, platform, True, tmp_path)
    original = render._double_quoted
    monkeypatch.setattr(render, "_double_quoted", lambda v: original(v.replace("\ufeff", "")))
    render._string_scalar.cache_clear()
    try:
        with pytest.raises(AssertionError, match="changed on the way"):
            check_render(intent, platform, True, tmp_path)
    finally:
        monkeypatch.undo()
        render._string_scalar.cache_clear()

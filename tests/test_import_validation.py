"""The imported intent is validated as data, and its draft YAML is written only when that fails
(issue 14: writing and parsing the draft was about 30% of an import's CPU).

The reference is the previous way, which still runs when validation fails: the draft written
(meshgen.importing.writer.draft) and read by meshgen's loader. What the loader reads back from the
draft must equal the plain copy the fast way validates, and an importer's invalid intent must
still be reported with its position in the draft.
"""

from __future__ import annotations

import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshgen.errors import IntentError
from meshgen.importing import run
from meshgen.importing.model import Imported
from meshgen.importing.writer import NotPlain, draft, draft_document, plain_copy
from meshgen.loader import _fast_load
from tests.test_import_writer_emitter import VALUES, _example_imports, imports


def _read_back(imported: Imported, platform: str):
    return _fast_load(draft(imported, platform))


def test_every_example_import_validates_as_data_to_what_the_draft_reads_back():
    for label, imported, platform in _example_imports():
        assert plain_copy(draft_document(imported, platform)) == _read_back(imported, platform), label


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(imports(), st.sampled_from(["istio", "cilium"]))
def test_generated_data_copies_to_what_the_draft_reads_back(imported, platform):
    try:
        copied = plain_copy(draft_document(imported, platform))
    except NotPlain:
        return  # the draft's way is taken
    back = _read_back(imported, platform)
    assert copied == back
    assert repr(copied) == repr(back)  # the same types too (1 == 1.0 == True)


@given(VALUES)
def test_values_copy_as_they_read_back(value):
    imported = Imported(spec={"services": [{"name": "a", "x": value}]})
    try:
        copied = plain_copy(draft_document(imported, "istio"))
    except NotPlain:
        return
    assert repr(copied) == repr(_read_back(imported, "istio"))


@pytest.mark.parametrize(
    "value",
    [(1, 2), datetime.date(2020, 1, 2), "a\ud800", {(1,): "x"}, {1.5: "x"}, type("S", (str,), {})("s")],
    ids=["tuple", "date", "surrogate", "tuple-key", "float-key", "str-subclass"],
)
def test_what_the_draft_might_not_give_back_is_not_copied(value):
    with pytest.raises(NotPlain):
        plain_copy({"spec": {"x": [value]}})


def test_shared_data_is_copied_up_to_the_loaders_alias_budget():
    shared = {"a": [1, 2]}
    data = {"x": shared, "y": shared}
    copied = plain_copy(data)
    assert copied == data and copied["x"] is not copied["y"]
    # 102 references to a list of 1,001 entries: 1 + 102 + 102,102 entries read, 1 + 102 + 1,001
    # written out, 100,000 past that: the loader might refuse it, so the draft's way decides
    big = list(range(1001))
    with pytest.raises(NotPlain):
        plain_copy({"x": [big] * 102})
    plain_copy({"x": [big] * 99})  # 99,199 read: within the budget


def test_deep_data_is_not_copied():
    deep: list = []
    for _ in range(40):
        deep = [deep]
    with pytest.raises(NotPlain):
        plain_copy({"x": deep})
    assert plain_copy({"x": [[1]] * 1 + [[1]]}) == {"x": [[1], [1]]}  # equal but separate: copied


class _Broken:
    """An importer whose intent does not validate (a header value that is no string)."""

    groups = frozenset({"networking.istio.io"})

    def run(self, objects):
        service = {"name": "web", "namespace": "shop", "ports": [{"name": "http", "port": 8080, "protocol": "http"}],
                   "routes": [{"match": {"headers": {"x-beta": {"exact": 5}}}}]}
        return Imported(spec={"defaults": {"namespace": "shop"}, "services": [service]})


def test_an_invalid_imported_intent_is_reported_where_the_draft_holds_it(tmp_path, monkeypatch):
    from meshgen.platforms import registry

    monkeypatch.setattr(registry, "get_importer", lambda platform: _Broken())
    (tmp_path / "m.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {}\n")
    with pytest.raises(IntentError) as raised:
        run.import_manifests([tmp_path], "istio")
    assert str(raised.value).splitlines()[-1].endswith(
        "<imported intent>:20:20: spec.services[0].routes[0].match.headers.x-beta.exact: input should be a valid string"
    )

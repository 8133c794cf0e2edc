"""The loader's fast construction (issue 17) against PyYAML's own, which it replaces for texts without
anchors: the same data, with the same types, and for everything else the same result or error.

The oracle is ``yaml.load(text, Loader=_Yaml12Loader)``: PyYAML's ``construct_document`` with the
loader's registered constructors, code this module does not replace. The loader's ``resolve`` is
checked against PyYAML's ``BaseResolver.resolve`` on the same class.
"""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.synthetic import intent_yaml
from meshgen.loader import MAX_DEPTH, _DuplicateKey, _fast_compose, _fast_load, _Yaml12Loader
from tests.conftest import EXAMPLES


def _pyyaml(text: str):
    """PyYAML's result for ``text``: ("ok", data) or ("error", exception type, message)."""
    try:
        return "ok", yaml.load(text, Loader=_Yaml12Loader)
    except Exception as exc:  # noqa: BLE001 - compared, type and text
        return "error", type(exc), str(exc)


def _fast(text: str):
    try:
        data, _ = _fast_compose(text)
    except Exception as exc:  # noqa: BLE001
        return "error", type(exc), str(exc)
    assert _typed(_fast_load(text)) == _typed(data)
    return "ok", data


def _typed(data, inside=()):
    """``data`` with every scalar as (type name, repr): 1, 1.0 and True compare unequal, NaN equal;
    a list or mapping that contains itself (a recursive alias) as its depth of first appearance."""
    if isinstance(data, (dict, list)):
        if any(data is outer for outer in inside):
            return ("recursive", [i for i, outer in enumerate(inside) if outer is data][0])
        inside = (*inside, data)
        if isinstance(data, dict):
            return [("dict", _typed(k, inside), _typed(v, inside)) for k, v in data.items()]
        return ["list", *(_typed(v, inside) for v in data)]
    return (type(data).__name__, repr(data))


def _same(text: str) -> None:
    expected, got = _pyyaml(text), _fast(text)
    if expected[0] == "ok":
        assert got[0] == "ok", got
        assert _typed(got[1]) == _typed(expected[1])
    else:
        assert got == expected


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_examples_read_as_pyyaml_reads_them(example):
    _same(example.read_text())


def test_the_benchmark_intent_reads_as_pyyaml_reads_it():
    _same(intent_yaml(60, portable=True))


ODD = [
    "",  # no document: None
    "# only a comment\n",
    "a: 1\n",
    "a: 1\nb: 2\na: 3\n",  # duplicate key
    "1: a\ntrue: b\n",  # 1 == True: a duplicate to a set
    "1: a\n1.0: b\n",
    "null: a\n~: b\n",
    "a: {b: 1, b: 2}\n",  # duplicate one level down
    "a: [1, {x: 1, x: 2}]\n",
    "? [a]\n: 1\n",  # a list as a key
    "? {a: 1}\n: 1\n",
    "a: !!set {x, y}\n",
    "a: !!binary aGVsbG8=\n",
    "a: !!timestamp 2001-12-14\n",
    "a: !!omap [{x: 1}]\n",
    "a: !!pairs [{x: 1}]\n",
    "a: !!str 1\n",
    "a: !!int '7'\n",
    "a: !!int abc\n",  # ValueError from the int constructor
    "a: !!float '1'\n",
    "a: !!float 1_000.5\n",
    "a: !!bool yes\n",
    "a: !!null ''\n",
    "a: !!str {b: 1}\n",  # a mapping tagged as a string
    "a: !!map [1]\n",
    "a: !!seq {b: 1}\n",
    "a: !custom 1\n",
    "a: !custom {b: 1}\n",
    "!!map {a: 1}\n",
    "a: !!merge x\n",
    "base: {x: 1}\nother:\n  !!merge <<: {y: 2}\n",
    "a:\n  !!value =: 1\n",
    "<<: {a: 1}\n",  # a plain << is a string key here (no merge resolver)
    "a: &x {b: 1}\nc: *x\n",  # anchors: PyYAML's constructor
    "a: &x [*x]\n",
    "a: '1'\nb: \"true\"\nc: 1\nd: true\ne: 1.5\nf: null\ng: ~\nh: 0o17\ni: 0x1F\nj: 08\nk: yes\nl: .inf\nm: -.INF\nn: .nan\n",
    "a: [1, -2, +3, 1e3, .5, 5., -0, 0, '', ' ', x y, 'a: b']\n",
    "- 1\n- [2, [3, [4]]]\n",
    "plain scalar\n",
    "42\n",
    "a: b\n---\nc: d\n",  # two documents: a composer error
    "a: [1, 2\n",  # a syntax error
    "a:\n\tb: 1\n",
    "a: *undefined\n",
    "url: http://x/?a=1&b=2\n",  # an & that is no anchor: PyYAML's path, same data
]


@pytest.mark.parametrize("text", ODD)
def test_odd_yaml_reads_or_fails_as_pyyaml(text):
    _same(text)


def test_duplicate_keys_raise_the_loaders_own_error():
    with pytest.raises(_DuplicateKey):
        _fast_compose("a: 1\nb: {c: 1, c: 2}\n")
    with pytest.raises(_DuplicateKey):
        _fast_load("1: a\ntrue: b\n")


def _nested(levels: int) -> str:
    return "a: " + "[" * levels + "]" * levels + "\n"


@pytest.mark.parametrize("levels", [MAX_DEPTH - 2, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, MAX_DEPTH + 5, 300])
def test_nesting_around_the_depth_limit_reads_as_pyyaml(levels):
    _same(_nested(levels))
    _same("a: " + "{b: " * levels + "1" + "}" * levels + "\n")


def test_the_tree_kept_is_the_one_composed():
    text = intent_yaml(5, portable=True)
    _, node = _fast_compose(text)
    assert yaml.serialize(node) == yaml.serialize(yaml.compose(text, Loader=_Yaml12Loader))


# --- the resolver ---------------------------------------------------------------------------

SCALARS = [
    "", "~", "null", "Null", "NULL", "nULL", "true", "True", "TRUE", "tRUE", "false", "yes", "on", "y", "n",
    "0", "-0", "+1", "08", "0o17", "0o8", "0x1F", "0xG", "1e5", "1E+5", "-.5", "5.", ".5", ".", "-", "+",
    ".inf", "-.Inf", "+.INF", ".nan", ".NaN", "1_000", "1:30", "2001-12-14", "abc", " 1", "1 ", "=", "<<",
    "a b", "\u00e9", "0.0.0.0", "::1", "1e", "e1",
]


@pytest.mark.parametrize("value", SCALARS)
@pytest.mark.parametrize("implicit", [(True, False), (False, True), (False, False)])
def test_resolve_is_pyyamls(value, implicit):
    loader = _Yaml12Loader("")
    for kind in (yaml.ScalarNode, yaml.SequenceNode, yaml.MappingNode):
        assert loader.resolve(kind, value, implicit) == yaml.resolver.BaseResolver.resolve(loader, kind, value, implicit)


def test_the_loader_has_no_path_resolvers():
    # The loader's resolve leaves out PyYAML's path-resolver branches: there must be none.
    assert not _Yaml12Loader.yaml_path_resolvers


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12))
def test_resolve_is_pyyamls_for_any_text(value):
    loader = _Yaml12Loader("")
    assert loader.resolve(yaml.ScalarNode, value, (True, False)) == yaml.resolver.BaseResolver.resolve(
        loader, yaml.ScalarNode, value, (True, False)
    )


# --- random documents -----------------------------------------------------------------------

_WORDS = st.sampled_from(["a", "b", "1", "01", "true", "yes", "~", "", "1.5", ".inf", "0x1f", "-", "<<", "x y"])
_SCALAR = st.one_of(st.integers(-5, 5), st.booleans(), st.none(), st.floats(allow_nan=False, width=32), _WORDS)
_DATA = st.recursive(
    _SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_SCALAR, inner, max_size=4)),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(_DATA, st.sampled_from([None, False, True]), st.booleans())
def test_random_documents_read_as_pyyaml(data, flow, quote_words):
    # Written by PyYAML's emitter (YAML 1.1 quoting), so some strings come out plain that the YAML
    # 1.2 resolvers read as other types, and keys can collide once read: both paths must agree.
    text = yaml.safe_dump(data, default_flow_style=flow, default_style="'" if quote_words else None)
    _same(text)
    _same(text.replace("'", ""))


def test_intents_without_anchors_skip_pyyamls_constructor(monkeypatch):
    # The point of the fast path: a valid intent never reaches PyYAML's per-node construction.
    text = intent_yaml(20, portable=True)
    expected = _typed(yaml.load(text, Loader=_Yaml12Loader))

    def refuse(self, node):
        raise AssertionError("PyYAML's constructor was used")

    monkeypatch.setattr(_Yaml12Loader, "construct_document", refuse)
    assert _typed(_fast_load(text)) == expected
    for example in EXAMPLES:
        if "&" not in example.read_text():
            _fast_load(example.read_text())

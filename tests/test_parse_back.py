"""meshgen.parse_back reads documents exactly as PyYAML's safe loader does (values and key order)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from meshgen import pipeline
from meshgen.loader import load_intent
from meshgen.parse_back import load_documents
from meshgen.platforms.registry import names

SAFE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*/intent.yaml"))


def _typed(value):
    """Equality that also sees key order and types (1 == 1.0 == True in Python)."""
    if isinstance(value, dict):
        return ("dict", [(_typed(k), _typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [_typed(v) for v in value])
    return (type(value).__name__, repr(value))


def _same(documents):
    expected = [yaml.load(doc, Loader=SAFE) for doc in documents]
    got = load_documents(documents)
    assert _typed(got) == _typed(expected)
    return got


@pytest.mark.parametrize("platform", names())
def test_every_rendered_example_reads_back_as_the_safe_loader_reads_it(platform):
    assert EXAMPLES
    for example in EXAMPLES:
        rendering = pipeline.render(load_intent(example), platform, example.name)
        got = _same(rendering.documents)
        assert got and all(isinstance(o, dict) and o.get("kind") for o in got)


@pytest.mark.parametrize("text", [
    "a: 1\nb: 1.0\nc: true\nd: null\ne: ~\nf: 2026-01-01\ng: '1'\nh: 0x1F\ni: 1e3\nj: .inf\n",
    "1: one\ntrue: yes\nnull: x\n",  # non-string keys
    "base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n",  # anchors, aliases, merge keys
    "a: !!str 5\nb: !!int '7'\n",  # explicit tags
    'path: "/billing/*"\nhosts: ["*.example.com", "*"]\nplain: a*b\n',  # * that is no alias
    "list: [a, 1, {b: [c, ~]}]\nempty: {}\nnone: []\n",
    "a: b\na: c\n",  # duplicate key: the last wins, as in PyYAML
    "- x\n- y\n",
    "just a string\n",
    # ints, bools and nulls (read directly when plain decimal / a YAML 1.1 bool or null)
    "a: 0\nb: 010\nc: +5\nd: -5\ne: 1_000\nf: 1:30\ng: 0b101\nh: 80\ni: '80'\nj: 12345678901234567890\n",
    "a: Yes\nb: OFF\nc: on\nd: n\ne: NULL\nf: Null\ng: ''\nh:\ni: True\nj: [~, null, 0, false]\n",
    "a: \u0663\nb: 1.5\nc: .5\nd: 1e3\ne: yes please\nf: \"true\"\n",  # an Arabic digit is a string
    "",
    # nested empty collections, flow style, block sequences of collections
    "a: {}\nb: []\nc: [{}, [], [[]], {d: {}}]\ne:\n  f: {}\n  g:\n  - []\n  - {}\n",
    "{a: 1, b: [x, 'y', \"z\"], c: {d: e, f: [1, {g: h}]}}\n",
    "[1, two, 3.0, [], {}]\n",
    "- [a, b]\n- {c: d}\n- - e\n  - f\n- - - g\n",
    "[]\n",
    "{}\n",
    # multi-line strings: literal, folded, quoted and plain continuation, chomping
    "a: |\n  line1\n  line2\nb: >\n  folded\n  text\n\n  para\nc: \"multi\n  line\"\nd: plain\n  continued\ne: |-\n  x\nf: |+\n  y\n\n",
    "script: |\n  #!/bin/sh\n  echo 1: true\n",
    # odd scalars: every implicit resolver, near misses
    "a: 0o17\nb: 0x_1F\nc: 1_0.5\nd: -.inf\ne: .NaN\nf: 2001-12-14t21:59:43.10-05:00\ng: 2002-12-14\nh: 190:20:30\n"
    "i: 0.\nj: -0\nk: +0\nl: 0777\nm: '0777'\nn: ~foo\no: nulls\np: yes\nq: NO\nr: y\ns: 1e\nt: 1.0e+3\n"
    "u: -1_000.5\nv: 2001-12-14 21:59:43.10\nw: 1.5.6\nx: 09\ny: 0b\nz: Off\n",
    "- 1\n- -1.5\n- 2001-01-01\n- ~\n- ''\n- \"\"\n- 'true'\n- TRUE\n- tRUE\n- .5\n- 6.8523015e+5\n- 685.230_15e+03\n",
    "a: \"\\u00e9\\t\\n\"\nb: 'it''s'\nc: caf\u00e9\nd: 'multi\n\n  line'\n",
    # keys that are ints, bools, nulls, floats, dates, at the top and nested
    "1: a\n1.5: b\ntrue: c\n~: d\n2001-01-01: e\nf: g\n",
    "a:\n  b: 1\n  2: x\n  c: y\n",
    "- a: 1\n  no: 2\n",
    "? a\n: b\n? c\n",  # explicit keys, a key without value
    "a: 1\nb: 2\na: 3\n",  # duplicate key: its first place, the last value
    "a:\n  x: 1\n  x: [2]\n",
    "--- a\n...\n",
    "42\n",
    "~\n",
    "'quoted'\n",
    "%YAML 1.1\n---\na: b\n",
])
def test_documents_read_like_the_safe_loader(text):
    _same([text])


@pytest.mark.parametrize("text", [
    "a: =\n",  # no constructor for the value tag
    "a: 1\n---\nb: 2\n",  # expected a single document
    "? [a]\n: b\n",  # unhashable key
    "a: 2001-13-45\n",  # a timestamp that is no date: the safe constructor's ValueError
    "a: [\n",  # the parser's error
])
def test_errors_are_the_safe_loaders(text):
    with pytest.raises(Exception) as expected:
        yaml.load(text, Loader=SAFE)
    with pytest.raises(Exception) as got:
        load_documents([text])
    assert (type(got.value), str(got.value)) == (type(expected.value), str(expected.value))


def test_recursive_alias_goes_to_the_safe_loader():
    got = load_documents(["a: &x [*x]\n"])  # a self-containing list
    assert got[0]["a"][0] is got[0]["a"]  # PyYAML's own recursive structure, not a recursion error


def test_alias_without_anchor_raises_like_the_safe_loader():
    safe = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with pytest.raises(yaml.YAMLError) as expected:
        yaml.load("a: *nowhere\n", Loader=safe)
    with pytest.raises(yaml.YAMLError) as got:
        load_documents(["a: *nowhere\n"])
    assert (type(got.value), str(got.value)) == (type(expected.value), str(expected.value))


def test_invalid_yaml_raises_like_the_safe_loader():
    with pytest.raises(yaml.YAMLError):
        load_documents(["a: [\n"])


def test_a_text_reads_by_its_style_in_every_document_of_a_call():
    # The tag memo is keyed on text and style: a quoted "1" or "yes" seen first must not make a
    # later plain 1 or yes a string, nor the other way round.
    got = _same(["a: '1'\nb: yes\nc: '~'\n", "a: 1\nb: 'yes'\nc: ~\n", "a: \"1\"\nb: yes\nc: ~\n"])
    assert got == [{"a": "1", "b": True, "c": "~"}, {"a": 1, "b": "yes", "c": None}, {"a": "1", "b": True, "c": None}]


def test_more_distinct_scalars_than_the_tag_memo_holds_read_the_same():
    # Past the memo's bound old keys are dropped; every value must still resolve as PyYAML does.
    lines = [f"k{i}: {value}" for i, value in enumerate(
        v for n in range(6000) for v in (str(n), f"0{n}", f"{n}.5", f"name-{n}"))]
    _same(["\n".join(lines[i:i + 4000]) + "\n" for i in range(0, len(lines), 4000)])

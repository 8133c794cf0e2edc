"""The manifest reader's shortcuts (str scalars taken from their nodes, memoized tag resolution)
read exactly what PyYAML's safe constructor reads, with the same positions (issue 14).

The oracle is the reader's previous node walk, copied below: every scalar through
``construct_object`` of a plain libyaml safe loader. Compared on YAML's tricky scalars (YAML 1.1
booleans, nulls, numbers, timestamps, explicit tags, quoted look-alikes), anchors, aliases and
merge keys, and on every shipped example rendered for every platform with an importer.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from meshgen.importing import reader
from tests.conftest import EXAMPLES

_PlainLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _oracle_build(loader, node):
    if isinstance(node, yaml.MappingNode):
        out = reader.PosMap()
        out.line, out.lines = node.start_mark.line + 1, {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key == "<<" and key_node.tag == "tag:yaml.org,2002:merge":
                merged = _oracle_build(loader, value_node)
                for part in merged if isinstance(merged, list) else [merged]:
                    for k, v in part.items():
                        out.setdefault(k, v)
                        out.lines.setdefault(k, part.lines.get(k, out.line))
                continue
            out[key] = _oracle_build(loader, value_node)
            out.lines[key] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        seq = reader.PosList(_oracle_build(loader, item) for item in node.value)
        seq.line, seq.lines = node.start_mark.line + 1, [item.start_mark.line + 1 for item in node.value]
        return seq
    return loader.construct_object(node, deep=True)


def _oracle_load_all(text: str) -> list:
    loader = _PlainLoader(text)
    try:
        docs = []
        while loader.check_node():
            docs.append(_oracle_build(loader, loader.get_node()))
        return docs
    finally:
        loader.dispose()


def _shape(value):
    """Data with types and positions spelled out (``==`` alone says True == 1 and 1 == 1.0)."""
    if isinstance(value, reader.PosMap):
        return ("map", type(value).__name__, value.line, [(_shape(k), _shape(v), value.lines[k]) for k, v in value.items()])
    if isinstance(value, reader.PosList):
        return ("seq", value.line, list(value.lines), [_shape(v) for v in value])
    return (type(value).__name__, repr(value))


def _outcome(load, text: str):
    try:
        return [_shape(d) for d in load(text)]
    except yaml.YAMLError as exc:  # the same error, at the same place
        return (type(exc).__name__, str(exc))


def _same(text: str) -> None:
    assert _outcome(reader._load_all, text) == _outcome(_oracle_load_all, text)


SCALARS = [
    "yes", "No", "on", "OFF", "y", "n", "true", "False", "null", "~", "", "Null", "0", "-1", "+1", "0x1f", "0o17", "017",
    "1_000", "1:20", "190:20:30", "1.5", ".5", "1e3", "1.0e+3", ".inf", "-.Inf", ".nan", "2001-12-14", "2001-12-14t21:59:43.10-05:00",
    "<<", "=", "a b", "ü", "'quoted'", '"1"', "'yes'", "!!str 1", "!!int '7'", "!!float 1", "!!bool yes", "!!null ''",
    "!!binary aGVsbG8=", "[1, yes, ~]", "{a: 1, 'b': no}", "|\n  block\n", ">-\n  folded\n  text\n",
]


@pytest.mark.parametrize("scalar", SCALARS)
def test_tricky_scalars_as_values_keys_and_items(scalar):
    key = scalar if not scalar.startswith(("[", "{", "|", ">")) else "k"
    _same(f"apiVersion: v1\nkind: X\nvalue: {scalar}\nlist:\n  - {scalar}\n  - x\n" + (f"? {key}\n: v\n" if key else ""))


def test_anchors_aliases_and_merge_keys():
    # a merge key is refused by both (PyYAML's safe constructor has no constructor for its tag)
    _same("apiVersion: v1\nkind: X\nbase: &b {a: 1}\nm:\n  <<: *b\n  a: 2\n")
    _same(
        "apiVersion: v1\nkind: X\nbase: &b {a: 1, b: yes}\nother: &o\n  c: 3\n"
        "q:\n  '<<': *b\nlist: [*b, *o, *b]\ns: &s str\nt: *s\n"
        "---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: A}\n- &i {apiVersion: v1, kind: B}\n- *i\n"
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(SCALARS[:44]), min_size=1, max_size=8))
def test_repeated_scalars_resolve_the_same_every_time(values):
    """The memo is keyed by the plain text: a plain and a quoted 'yes' in one stream must still
    differ (bool and str)."""
    text = "apiVersion: v1\nkind: X\n" + "".join(f"p{i}: {v}\nq{i}: '{v.replace(chr(39), chr(39) * 2)}'\n" for i, v in enumerate(values))
    _same(text)
    _same(text)


def test_every_example_render_reads_the_same():
    from meshgen import pipeline
    from meshgen.loader import load
    from meshgen.output import write_platform_folder
    from meshgen.platforms.registry import get_importer, names

    files = 0
    with tempfile.TemporaryDirectory() as tmp:
        for example in EXAMPLES:
            loaded = load([example])
            for platform in names():
                if get_importer(platform) is None:
                    continue
                folder = Path(tmp) / example.parent.name / platform
                write_platform_folder(folder, pipeline.render(loaded.intent, platform, "test").files, None)
                for path in reader.expand([folder]):
                    _same(path.read_text(encoding="utf-8"))
                    files += 1
    assert files > 500

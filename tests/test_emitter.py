"""The one YAML scalar emitter round-trips every Unicode string, as value and as key.

Parsed back with a YAML 1.2 parser (ruamel.yaml) and a YAML 1.1 parser (PyYAML, pure and libyaml):
both must return exactly the string written. Issue 18 items 1 and 2.
"""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from meshgen.output import header
from meshgen.render import yaml_block, yaml_quoted, yaml_scalar

# Every code point, surrogates included (the default alphabet leaves them out).
ANY_CHAR = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())
ANY_TEXT = st.text(ANY_CHAR, max_size=40)
# Short strings built from the characters YAML parsers treat specially, so hypothesis finds their
# combinations (a line separator before a space, a trailing newline) more often than by chance.
TRICKY = st.text(
    st.sampled_from(list("\n\r\t \x00\x1b\x7f\x80\x85\x9f\xa0\u2028\u2029\ufeff\ufffe\uffff\ud800\"'\\:#-?&*!|>%@`{}[],yYnN0.")),
    max_size=12,
)
STRINGS = st.one_of(ANY_TEXT, TRICKY)


def _ruamel(text: str):
    return YAML(typ="safe", pure=True).load(text)


def _pyyaml(text: str):
    return yaml.load(text, Loader=yaml.SafeLoader)


def _libyaml(text: str):
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


PARSERS = [_ruamel, _pyyaml, _libyaml]


def _parse_all(text: str, *values: str) -> list:
    out = []
    for parse in PARSERS if all(map(_libyaml_can_hold, values)) else PARSERS[:2]:
        try:
            out.append(parse(text))
        except (yaml.YAMLError, Exception) as exc:  # noqa: BLE001 - the message names the parser
            raise AssertionError(f"{parse.__name__} cannot read {text!r}: {exc}") from None
    return out


def _libyaml_can_hold(value: str) -> bool:
    # libyaml reads its input as UTF-8 bytes: a lone surrogate cannot be handed to it at all,
    # whatever the emitter does (meshgen's files are UTF-8, and the intent rejects surrogates).
    return not any(0xD800 <= ord(c) <= 0xDFFF for c in value)


@settings(max_examples=400, deadline=None)
@given(STRINGS)
def test_value_round_trips_exactly(value):
    doc = f"key: {yaml_scalar(value)}\nquoted: {yaml_quoted(value)}\n"
    for parsed in _parse_all(doc, value):
        assert parsed == {"key": value, "quoted": value}


@settings(max_examples=400, deadline=None)
@given(st.lists(STRINGS, min_size=1, max_size=4, unique=True))
def test_keys_and_nested_values_round_trip(keys):
    data = {k: [k, {k: k}] for k in keys}
    text = "root:\n" + yaml_block(data, 2) + "\n"
    for parsed in _parse_all(text, *keys):
        assert parsed == {"root": data}


@pytest.mark.parametrize(
    "value",
    [
        "\x7f",  # DEL: not printable in YAML, was written raw
        "a\x80b\x9f",  # C1 controls: written raw
        "x\x85 y",  # NEL: PyYAML read it as a line break, the value came back with a space
        "a\u2028 b",  # line separator then a space: the space was lost
        "a\u2029\tb",
        "label\n",  # trailing newline: '$' matched before it, so it was written plain
        "abc\n",
        "1s\n",
        "k" * 1100,  # longer than an implicit key may be
    ],
)
def test_known_breakers_round_trip_as_key_and_value(value):
    text = "root:\n" + yaml_block({value: value}, 2) + "\n"
    for parsed in _parse_all(text, value):
        assert parsed == {"root": {value: value}}


def test_header_names_the_source_on_one_line():
    head = header("intents/\nkind: Secret\u2028x")
    assert head.count("\n") == 1 and head.endswith("\n")
    assert _pyyaml(head + "a: 1\n") == {"a": 1}

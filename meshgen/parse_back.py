"""Read rendered documents back into Python objects, as PyYAML's safe loader would, faster.

``meshgen validate`` and ``render -o json`` parse what was rendered (the YAML as written, not the
plan). PyYAML's ``SafeConstructor`` builds every node through a generic, generator-based dispatch:
1.23 s of a 1,000-service Linkerd validate (12,965 documents). :class:`_Loader` builds plain
mappings of string keys, sequences and strings directly and hands every other node (ints,
booleans, nulls, floats, timestamps, a mapping with a non-string or merge key) to the safe
constructor itself (0.73 s). A document that could hold an anchor, tag or merge key (its text
contains ``&``, ``!`` or ``<<`` anywhere, in a string too) is read by the safe loader unchanged,
so those rules stay PyYAML's. ``*`` alone does not send a document there (Istio's paths and hosts
are full of it): an alias needs an anchor, and one without is libyaml's composer error in both
loaders. Scalars resolve their implicit tag through a per-value memo (the safe loader has no path
resolvers, so the tag depends on the text and its style alone), and the composer's per-node
path-resolver hooks, no-ops without path resolvers, are C builtins; quoted scalars and plain ones
whose first character starts no implicit resolver are strings without a lookup, and plain decimal
ints, YAML 1.1 bools and nulls are built directly (the safe constructor builds every other int,
floats and timestamps). Same objects, same key order
(tests/test_parse_back.py).
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["load_documents"]

_SAFE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR, _MAP, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_INT, _BOOL, _NULL = "tag:yaml.org,2002:int", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"
_BOOLS = yaml.constructor.SafeConstructor.bool_values
_SCALAR = yaml.ScalarNode
_SAFE_ONLY = ("&", "!", "<<")


# (node class, scalar text or None, implicit flags) -> resolved tag; bounded below.
_TAGS: dict[tuple[type, Any, Any], str] = {}
_NO_PATH: dict[Any, Any] = {}


class _Loader(_SAFE):  # type: ignore[misc, valid-type]
    # Only used while the safe loader has no path resolvers (load_documents checks). libyaml's
    # composer calls resolve for every node and descend_resolver/ascend_resolver around it: three
    # Python calls a node, 1.3 million at 1,000 Linkerd services. Without path resolvers the last
    # two do nothing (PyYAML's BaseResolver): C builtins that do nothing stand in for them, and a
    # node's tag is a function of its class, text and implicit flags: a memo.
    descend_resolver = _NO_PATH.get  # (parent, index) -> ignored; a builtin does not bind self
    ascend_resolver = tuple  # () -> ignored

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        if kind is _SCALAR and (not implicit[0] or (value and value[0] not in self.yaml_implicit_resolvers)):
            return _STR  # as BaseResolver.resolve: quoted, or no implicit resolver for its first character
        key = (kind, value, implicit)
        tag = _TAGS.get(key)
        if tag is None:
            if len(_TAGS) >= 1 << 16:
                _TAGS.clear()
            tag = _TAGS[key] = _SAFE.resolve(self, kind, value, implicit)
        return tag

    def construct_document(self, node: yaml.Node) -> Any:
        return self._build(node)

    def _build(self, node: yaml.Node) -> Any:
        tag = node.tag
        if tag == _STR:
            return node.value
        if tag == _MAP:
            out = {}
            for key, value in node.value:
                if key.tag != _STR:  # int, bool or null keys, merge keys: PyYAML's rules
                    return _SAFE.construct_document(self, node)
                out[key.value] = self._build(value)
            return out
        if tag == _SEQ:
            return [self._build(item) for item in node.value]
        if tag == _INT:
            # Implicitly an int (documents with explicit tags go to the safe loader): a plain
            # decimal without a leading zero is int(value) in SafeConstructor.construct_yaml_int.
            value = node.value
            if value.isascii() and value.isdigit() and (value[0] != "0" or value == "0"):
                return int(value)
        elif tag == _BOOL:
            return _BOOLS[node.value.lower()]
        elif tag == _NULL:
            return None
        return self.construct_object(node, deep=True)


def load_documents(documents: tuple[str, ...] | list[str]) -> list[Any]:
    """One object per YAML document text, equal to ``yaml.load(text, Loader=CSafeLoader)``.

    Raises:
        yaml.YAMLError: a document is not valid YAML (as the safe loader raises).
    """
    if _SAFE.yaml_path_resolvers:  # someone added path resolvers to PyYAML's loaders: theirs to apply
        return [yaml.load(doc, Loader=_SAFE) for doc in documents]
    return [yaml.load(doc, Loader=_SAFE if any(m in doc for m in _SAFE_ONLY) else _Loader) for doc in documents]

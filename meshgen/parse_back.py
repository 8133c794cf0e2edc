"""Read rendered documents back into Python objects, as PyYAML's safe loader would, faster.

``meshgen validate`` and ``render -o json`` parse what was rendered (the YAML as written, not the
plan). PyYAML's ``SafeConstructor`` builds every node through a generic, generator-based dispatch:
1.23 s of a 1,000-service Linkerd validate (12,965 documents). :class:`_Loader` builds plain
mappings of string keys, sequences and strings directly and hands every other node (ints,
booleans, nulls, floats, timestamps, a mapping with a non-string or merge key) to the safe
constructor itself. A document that could hold an anchor, tag or merge key (its text
contains ``&``, ``!`` or ``<<`` anywhere, in a string too) is read by the safe loader unchanged,
so those rules stay PyYAML's. ``*`` alone does not send a document there (Istio's paths and hosts
are full of it): an alias needs an anchor, and one without is libyaml's composer error in both
loaders. libyaml's composer asks ``resolve`` for every node's tag; without path resolvers that tag
is a function of the node's class, text and implicit flags, so ``resolve`` is a C-level memo
(:func:`functools.lru_cache`) around PyYAML's own ``BaseResolver.resolve``: no Python frame for the
97% of nodes whose key was seen before (445,000 calls, 12,926 keys, for Linkerd's 12,965 documents
at 1,000 services). The composer's per-node path-resolver hooks, no-ops without path resolvers,
are C builtins too. A mapping's string values and a sequence's string items are taken without a
call; plain decimal ints, YAML 1.1 bools and nulls are built directly (the safe constructor builds
every other int, floats and timestamps). Same objects, same key order (tests/test_parse_back.py).
"""

from __future__ import annotations

import functools
from typing import Any

import yaml

__all__ = ["load_documents"]

_SAFE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR, _MAP, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_INT, _BOOL, _NULL = "tag:yaml.org,2002:int", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"
_BOOLS = yaml.constructor.SafeConstructor.bool_values
_SCALAR = yaml.ScalarNode
_SAFE_ONLY = ("&", "!", "<<")


_NO_PATH: dict[Any, Any] = {}


@functools.lru_cache(maxsize=1 << 14)
def _resolve(kind: type, value: Any, implicit: Any) -> str:
    """The tag PyYAML's safe loader gives a node: ``kind`` is ScalarNode, SequenceNode or
    MappingNode, ``value`` the scalar's text (None for collections), ``implicit`` libyaml's flags.

    Valid only while the safe loader has no path resolvers (:func:`load_documents` checks): then
    ``BaseResolver.resolve`` reads nothing of its loader but class attributes, so the class itself
    stands in for ``self``. Bounded (16,384 keys, about 3 MB): a mesh repeats its field names and
    values, and a name seen once only costs the miss.
    """
    if kind is _SCALAR and (not implicit[0] or (value and value[0] not in _SAFE.yaml_implicit_resolvers)):
        return _STR  # as BaseResolver.resolve: quoted, or no implicit resolver for its first character
    return _SAFE.resolve(_SAFE, kind, value, implicit)


class _Loader(_SAFE):  # type: ignore[misc, valid-type]
    # Only used while the safe loader has no path resolvers (load_documents checks). libyaml's
    # composer calls resolve for every node and descend_resolver/ascend_resolver around it: three
    # Python calls a node, 1.3 million at 1,000 Linkerd services. Without path resolvers the last
    # two do nothing (PyYAML's BaseResolver): C builtins that do nothing stand in for them, and
    # resolve is a C-level memo (a builtin is not bound, so it gets the composer's three arguments).
    descend_resolver = _NO_PATH.get  # (parent, index) -> ignored
    ascend_resolver = tuple  # () -> ignored
    resolve = staticmethod(_resolve)

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
                # A string value is most of a manifest: taken here, without a call.
                out[key.value] = value.value if value.tag == _STR else self._build(value)
            return out
        if tag == _SEQ:
            return [item.value if item.tag == _STR else self._build(item) for item in node.value]
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

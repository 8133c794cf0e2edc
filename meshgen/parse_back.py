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
resolvers, so the tag depends on the text and its style alone). Same objects, same key order
(tests/test_parse_back.py).
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["load_documents"]

_SAFE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR, _MAP, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_SAFE_ONLY = ("&", "!", "<<")


# (scalar text, (plain, quoted) implicit flags) -> resolved tag; bounded below.
_SCALAR_TAGS: dict[tuple[str, Any], str] = {}


class _Loader(_SAFE):  # type: ignore[misc, valid-type]
    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        # libyaml's composer asks for every node; without path resolvers a scalar's tag is a
        # function of its text and implicit flags (PyYAML's BaseResolver.resolve).
        if kind is not yaml.ScalarNode or self.yaml_path_resolvers:
            return super().resolve(kind, value, implicit)
        key = (value, implicit)
        tag = _SCALAR_TAGS.get(key)
        if tag is None:
            if len(_SCALAR_TAGS) >= 1 << 16:
                _SCALAR_TAGS.clear()
            tag = _SCALAR_TAGS[key] = super().resolve(kind, value, implicit)
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
        return self.construct_object(node, deep=True)


def load_documents(documents: tuple[str, ...] | list[str]) -> list[Any]:
    """One object per YAML document text, equal to ``yaml.load(text, Loader=CSafeLoader)``.

    Raises:
        yaml.YAMLError: a document is not valid YAML (as the safe loader raises).
    """
    return [yaml.load(doc, Loader=_SAFE if any(m in doc for m in _SAFE_ONLY) else _Loader) for doc in documents]

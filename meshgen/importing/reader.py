"""Read Kubernetes manifests with the position of every object and field.

Inputs: files, directories (every ``*.yaml``/``*.yml`` below, sorted), ``-`` for stdin;
multi-document YAML; ``kind: List`` objects as ``kubectl get -o yaml`` writes them (their
``items`` are read one by one). Every mapping and sequence keeps the line of each of its keys
and items, so findings point back into the source.

Positions come from libyaml's composer (PyYAML's ``CSafeLoader``: node start marks), not from
ruamel.yaml's round-trip loader: both give the same lines, but ruamel's pure-Python parser made
importing 1,000 services' objects ~8x slower than rendering them (benchmarks/bench_import.py),
and import should cost about what render does (issue 14).
"""

from __future__ import annotations

import sys
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import yaml

from meshgen.errors import IntentError, IntentNotFoundError, Problem, SourceLocation

STDIN = Path("-")
_STR = "tag:yaml.org,2002:str"
_Scalar, _Mapping, _Sequence = yaml.ScalarNode, yaml.MappingNode, yaml.SequenceNode
#: Tags of plain scalars already resolved: value -> tag. For the safe loader (no path resolvers)
#: BaseResolver.resolve is a function of the value alone for a plain scalar, and str for a quoted
#: one; manifests repeat the same keys and values thousands of times, so each is matched against
#: the resolver's regular expressions once per process.
_RESOLVED: dict[str, str] = {}
_RESOLVED_MAX = 1 << 16


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's safe loader with its scalar tag resolution memoized (see ``_RESOLVED``)."""

    def resolve(self, kind, value, implicit):
        if kind is _Scalar and not self.yaml_path_resolvers:
            if not implicit[0]:
                return self.DEFAULT_SCALAR_TAG
            tag = _RESOLVED.get(value)
            if tag is None:
                if len(_RESOLVED) >= _RESOLVED_MAX:
                    _RESOLVED.clear()
                tag = _RESOLVED[value] = super().resolve(kind, value, implicit)
            return tag
        return super().resolve(kind, value, implicit)


class PosMap(dict):
    """A mapping read from YAML, with ``line`` (1-based, of its first key) and ``lines`` (key -> line)."""

    line: int = 0
    lines: dict


class PosList(list):
    """A sequence read from YAML, with ``line`` and ``lines`` (index -> line of the item)."""

    line: int = 0
    lines: list


@dataclass(frozen=True, eq=False)
class SourceObject:
    """One Kubernetes object read from a manifest.

    Attributes:
        file: where it was read (``-`` for stdin).
        line: 1-based line of the object's first key.
        body: the object as read (a :class:`PosMap`: dict access plus positions).
    """

    file: str
    line: int
    body: PosMap

    @property
    def api_version(self) -> str:
        """``apiVersion``, e.g. ``networking.istio.io/v1`` ('' when missing)."""
        return str(self.body.get("apiVersion") or "")

    @property
    def group(self) -> str:
        """The API group of ``apiVersion`` ('' for the core group)."""
        return self.api_version.split("/")[0] if "/" in self.api_version else ""

    @property
    def kind(self) -> str:
        """``kind`` ('' when missing)."""
        return str(self.body.get("kind") or "")

    @property
    def metadata(self) -> dict:
        """``metadata`` (empty when missing)."""
        meta = self.body.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        """``metadata.name``."""
        return str(self.metadata.get("name") or "")

    @property
    def namespace(self) -> str | None:
        """``metadata.namespace``, None when not given (the importer picks the default)."""
        meta = self.body.get("metadata")  # inlined self.metadata: importers ask for this per comparison
        ns = meta.get("namespace") if isinstance(meta, dict) else None
        return str(ns) if ns else None

    @property
    def spec(self) -> dict:
        """``spec`` (empty when missing)."""
        spec = self.body.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def ref(self) -> str:
        """``Kind namespace/name`` for messages."""
        return f"{self.kind or '?'} {self.namespace + '/' if self.namespace else ''}{self.name or '?'}"

    def line_of(self, *path: str | int) -> int:
        """1-based line of the field at ``path`` below the object (``"spec", "http", 0``), or of
        the deepest mapping/sequence on the way when the field itself has no position."""
        node: Any = self.body
        line = self.line
        for part in path:
            if isinstance(node, (PosMap, PosList)):
                try:
                    line = node.lines[part]
                except (KeyError, IndexError, TypeError):
                    return line
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return line
        return line


#: ``kind`` of a :class:`ValuesDocument` (no Kubernetes kind has a space in it).
VALUES_KIND = "Helm values"
#: The first lines of a values file meshgen wrote (output.header, templates/helm/values.yaml.j2).
_VALUES_HEADER = re.compile(r"# Generated by meshgen[^\n]*\n# Helm values for (?P<chart>\S+), e\.g\.:")


@dataclass(frozen=True, eq=False)
class ValuesDocument(SourceObject):
    """A Helm values document meshgen wrote (``values/<chart>.yaml``), read with positions.

    It has no ``apiVersion``/``kind``: :attr:`kind` is :data:`VALUES_KIND` so importers find it
    in their by-kind index like any object, and an importer that does not read it reports it as
    before (regenerated, :meth:`meshgen.importing.workloads.WorkloadRun._report_leftovers`).

    Attributes:
        chart: ``repo/chart`` from the file's header, e.g. ``istio/istiod``.
        values_name: the file's stem, the :class:`meshgen.platforms.helm_values.Chart` name
            (``istiod``), which keys the values a platform plans.
    """

    chart: str = ""
    values_name: str = ""

    @property
    def kind(self) -> str:
        """:data:`VALUES_KIND`."""
        return VALUES_KIND

    @property
    def ref(self) -> str:
        """``Helm values <repo/chart>`` for messages."""
        return f"{VALUES_KIND} {self.chart}"


def expand(paths: Sequence[Path]) -> list[Path]:
    """Files to read, in a stable order: directories expand to their YAML files, sorted.

    Raises:
        IntentNotFoundError: a path does not exist (exit 2, as for a missing intent).
    """
    out: list[Path] = []
    for path in paths:
        if path == STDIN:
            out.append(path)
        elif path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()))
        elif path.is_file():
            out.append(path)
        else:
            raise IntentNotFoundError([Problem("", "no such file or directory", SourceLocation(path, 0, 0))])
    return out


def read(paths: Sequence[Path], values: list[SourceObject] | None = None) -> tuple[list[SourceObject], list[tuple[str, int, str]]]:
    """Every object in ``paths``, plus what was not an object (``(file, line, why)``).

    ``kind: List`` objects are replaced by their ``items``. Documents that are empty are skipped;
    documents that are not mappings with ``apiVersion`` and ``kind`` are returned as not
    understood, never ignored, except the Helm values files meshgen writes (its header names the
    chart): those are objects too, :class:`ValuesDocument` s, which the importers that know the
    chart read back. When ``values`` is a list, every values document (a meshgen
    :class:`ValuesDocument`, or a kind-less mapping of another file) is also appended to it, for
    an importer that reads Helm values (``reads_values``: the Istio ambient one reads istiod's
    ``meshConfig``).

    Raises:
        IntentError: YAML syntax errors, every one with ``file:line:col`` (exit 1).
    """
    objects: list[SourceObject] = []
    others: list[tuple[str, int, str]] = []
    problems: list[Problem] = []
    for path in expand(paths):
        name = "-" if path == STDIN else str(path)
        text = sys.stdin.read() if path == STDIN else path.read_text(encoding="utf-8")
        try:
            docs = _load_all(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = SourceLocation(Path(name), (mark.line + 1) if mark else 1, (mark.column + 1) if mark else 1)
            problems.append(Problem("", f"not valid YAML: {getattr(exc, 'problem', None) or exc}", where))
            continue
        header = _VALUES_HEADER.match(text)
        chart = header.group("chart") if header else None
        for doc in docs:
            if chart is not None and isinstance(doc, PosMap) and not doc.get("apiVersion") and not doc.get("kind"):
                objects.append(ValuesDocument(name, doc.line, doc, chart, Path(name).stem))
                if values is not None:
                    values.append(objects[-1])
                continue
            _collect(doc, name, objects, others)
            if values is not None and isinstance(doc, PosMap) and not (doc.get("apiVersion") and doc.get("kind")):
                values.append(SourceObject(name, doc.line, doc))
    if problems:
        raise IntentError(problems)
    return objects, others


def _collect(doc: Any, name: str, objects: list, others: list) -> None:
    if doc is None:
        return
    line = doc.line if isinstance(doc, (PosMap, PosList)) else 1
    if not isinstance(doc, PosMap) or not doc.get("apiVersion") or not doc.get("kind"):
        others.append((name, line, "not a Kubernetes object (no apiVersion and kind)"))
        return
    if doc.get("kind") == "List" or str(doc.get("kind")).endswith("List") and isinstance(doc.get("items"), list):
        for item in doc.get("items") or []:
            _collect(item, name, objects, others)
        return
    objects.append(SourceObject(name, line, doc))


def _load_all(text: str) -> list:
    loader = _Loader(text)
    try:
        docs = []
        while loader.check_node():
            docs.append(_build(loader, loader.get_node()))
        return docs
    finally:
        loader.dispose()


def _build(loader, node) -> object:
    """A composed node -> plain data with positions (anchors and aliases are shared nodes).

    A ``str`` scalar is its node's value, as SafeConstructor.construct_yaml_str makes it; every
    other scalar goes through the constructor (ints, booleans, nulls, timestamps, ...).
    """
    kind = type(node)
    if kind is _Scalar:
        return node.value if node.tag == _STR else loader.construct_object(node, deep=True)
    if kind is _Mapping or (kind is not _Sequence and isinstance(node, yaml.MappingNode)):
        out = PosMap()
        line = out.line = node.start_mark.line + 1
        lines = out.lines = {}
        for key_node, value_node in node.value:
            if type(key_node) is _Scalar and key_node.tag == _STR:
                key = key_node.value
            else:
                key = loader.construct_object(key_node, deep=True)
                if key == "<<" and key_node.tag == "tag:yaml.org,2002:merge":
                    merged = _build(loader, value_node)
                    for part in merged if isinstance(merged, list) else [merged]:
                        for k, v in part.items():
                            out.setdefault(k, v)
                            lines.setdefault(k, part.lines.get(k, line))
                    continue
            out[key] = value_node.value if type(value_node) is _Scalar and value_node.tag == _STR else _build(loader, value_node)
            lines[key] = key_node.start_mark.line + 1
        return out
    if kind is _Sequence or isinstance(node, yaml.SequenceNode):
        items = node.value
        seq = PosList([item.value if type(item) is _Scalar and item.tag == _STR else _build(loader, item) for item in items])
        seq.line, seq.lines = node.start_mark.line + 1, [item.start_mark.line + 1 for item in items]
        return seq
    return loader.construct_object(node, deep=True)

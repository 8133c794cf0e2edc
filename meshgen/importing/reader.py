"""Read Kubernetes manifests with the position of every object and field.

Inputs: files, directories (every ``*.yaml``/``*.yml`` below, sorted), ``-`` for stdin;
multi-document YAML; ``kind: List`` objects as ``kubectl get -o yaml`` writes them (their
``items`` are read one by one). The ruamel.yaml round-trip loader keeps each mapping's
``file:line`` so findings point back into the source.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from meshgen.errors import IntentError, IntentNotFoundError, Problem, SourceLocation

STDIN = Path("-")


@dataclass(frozen=True, eq=False)
class SourceObject:
    """One Kubernetes object read from a manifest.

    Attributes:
        file: where it was read (``-`` for stdin).
        line: 1-based line of the object's first key.
        body: the object as ruamel.yaml loaded it (a CommentedMap: dict access plus positions).
    """

    file: str
    line: int
    body: CommentedMap

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
        ns = self.metadata.get("namespace")
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
            if isinstance(node, (CommentedMap, CommentedSeq)):
                try:
                    line = node.lc.key(part)[0] + 1 if isinstance(node, CommentedMap) else node.lc.item(part)[0] + 1
                except (KeyError, IndexError, TypeError):
                    return line
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return line
        return line


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


def read(paths: Sequence[Path]) -> tuple[list[SourceObject], list[tuple[str, int, str]]]:
    """Every object in ``paths``, plus what was not an object (``(file, line, why)``).

    ``kind: List`` objects are replaced by their ``items``. Documents that are empty are skipped;
    documents that are not mappings with ``apiVersion`` and ``kind`` (Helm values files, for
    example) are returned as not understood, never ignored.

    Raises:
        IntentError: YAML syntax errors, every one with ``file:line:col`` (exit 1).
    """
    objects: list[SourceObject] = []
    others: list[tuple[str, int, str]] = []
    problems: list[Problem] = []
    for path in expand(paths):
        name = "-" if path == STDIN else str(path)
        text = sys.stdin.read() if path == STDIN else path.read_text(encoding="utf-8")
        yaml = YAML(typ="rt")
        try:
            docs = list(yaml.load_all(text))
        except YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = SourceLocation(Path(name), (mark.line + 1) if mark else 1, (mark.column + 1) if mark else 1)
            problems.append(Problem("", f"not valid YAML: {getattr(exc, 'problem', None) or exc}", where))
            continue
        for doc in docs:
            _collect(doc, name, objects, others)
    if problems:
        raise IntentError(problems)
    return objects, others


def _collect(doc: Any, name: str, objects: list, others: list) -> None:
    if doc is None:
        return
    line = doc.lc.line + 1 if isinstance(doc, (CommentedMap, CommentedSeq)) else 1
    if not isinstance(doc, CommentedMap) or not doc.get("apiVersion") or not doc.get("kind"):
        others.append((name, line, "not a Kubernetes object (no apiVersion and kind)"))
        return
    if doc.get("kind") == "List" or str(doc.get("kind")).endswith("List") and isinstance(doc.get("items"), list):
        for item in doc.get("items") or []:
            _collect(item, name, objects, others)
        return
    objects.append(SourceObject(name, line, doc))

"""The pipeline in one place: load -> plan -> render, all in memory, nothing written.

``cli.py`` and tests drive meshgen through these functions; only :mod:`meshgen.output` writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from meshgen.intent.model import MeshIntent
from meshgen.output import RenderedFile, header
from meshgen.platforms import Plan, get_platform
from meshgen.platforms.operations import combine
from meshgen.render import join_documents, render_file, render_object


@dataclass(frozen=True)
class Rendering:
    """One platform's output for one intent, rendered in memory."""

    plan: Plan
    documents: tuple[str, ...]  # one YAML document per planned object, in plan order
    files: tuple[RenderedFile, ...]  # the same objects (and any extra files) as output files

    @property
    def stream(self) -> str:
        """All objects as one multi-document YAML stream."""
        return join_documents(self.documents)

    def objects(self) -> list[dict[str, Any]]:
        """The rendered objects parsed back (for validation and tests; not the hot path)."""
        return [yaml.safe_load(doc) for doc in self.documents]


def plan(intent: MeshIntent, platform: str) -> Plan:
    """Plan ``intent`` for the named platform (raises UnknownPlatformError).

    The platform's own plan (traffic, security) is merged with the operations planners'
    (identity, control-plane HA, observability, alerts: :mod:`meshgen.platforms.operations`).
    """
    return combine(get_platform(platform).plan(intent), intent)


def render(intent: MeshIntent, platform: str, source: str) -> Rendering:
    """Plan and render ``intent`` for ``platform``; ``source`` names the intent in file headers."""
    planned = plan(intent, platform)
    documents = tuple(render_object(obj) for obj in planned.objects)
    head = header(source)
    files = [RenderedFile(obj.file_name, head + doc) for obj, doc in zip(planned.objects, documents)]
    files += [RenderedFile(f.path, head + render_file(f)) for f in planned.files]
    return Rendering(planned, documents, tuple(sorted(files, key=lambda f: f.path)))


def source_name(path: Path) -> str:
    """How generated files name their intent: the path as given, POSIX style."""
    return Path(path).as_posix()

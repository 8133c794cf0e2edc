"""The importers' shared result: intent data plus where each part came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from meshgen.importing.findings import Findings
from meshgen.importing.reader import SourceObject


@dataclass
class Imported:
    """What an importer produced.

    Attributes:
        name: ``metadata.name`` (from the ``app.kubernetes.io/part-of`` label meshgen writes, else ``imported``).
        spec: the intent's ``spec`` as plain camelCase data, every service fully spelled out
            (the writer factors common values into ``defaults``).
        sources: ``(namespace, service)`` -> the ``Kind ns/name (file:line)`` of the objects it came from.
        findings: what was dropped, approximated or not understood.
    """

    name: str = "imported"
    spec: dict[str, Any] = field(default_factory=dict)
    sources: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    findings: Findings = field(default_factory=Findings)


class Importer(Protocol):
    """A platform's importer: its ``importer`` module exports ``IMPORTER`` of this shape.

    Attributes:
        groups: API groups whose objects mark input as this platform's (guessing ``--from``).

    Optional, read with ``getattr``: ``recognizes(objects) -> bool`` (guessing between importers
    that share groups, :func:`meshgen.platforms.registry.guess_importer`) and ``reads_values``
    (True: ``run(objects, values=[...])`` also gets the Helm values documents read, as
    kind-less :class:`~meshgen.importing.reader.SourceObject`).
    """

    groups: frozenset[str]

    def run(self, objects: list[SourceObject]) -> Imported:
        """Objects read by :func:`meshgen.importing.reader.read` -> intent data and findings. Pure."""
        ...

"""Per-intent lookup tables, built once, so reference resolution stays linear in intent size.

Resolving an ``allowFrom`` entry by scanning every service makes rules checks and identity
resolution O(services x edges): 20 s for a 1,000-service intent. :func:`memo` builds a lookup
table the first time a function asks for it and keeps it on the intent itself (a private
attribute of the frozen model), so it lives and dies with the intent and no module-level cache
exists. A table is rebuilt if ``spec.services`` was replaced or changed length since (a copy made
with ``model_copy`` or a list appended to in a test), so it never answers from stale data.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from meshgen.intent.model import MeshIntent, Service

T = TypeVar("T")

def memo(intent: MeshIntent, name: str, build: Callable[[MeshIntent], T]) -> T:
    """The table ``name`` of ``intent``, built with ``build(intent)`` on first use.

    Args:
        intent: a validated intent.
        name: the table's key; one name per ``build`` function.
        build: pure function of the intent.

    Returns:
        What ``build`` returned (shared between callers: do not mutate it).
    """
    services = intent.spec.services
    entry: tuple[list, int, dict[str, Any]] | None = intent.__pydantic_private__.get("_tables")
    if entry is None or entry[0] is not services or entry[1] != len(services):
        entry = (services, len(services), {})
        intent.__pydantic_private__["_tables"] = entry
    tables = entry[2]
    if name not in tables:
        tables[name] = build(intent)
    return tables[name]


def _by_name(intent: MeshIntent) -> dict[str, list[Service]]:
    out: dict[str, list[Service]] = {}
    for svc in intent.spec.services:
        out.setdefault(svc.name, []).append(svc)
    return out


def services_named(intent: MeshIntent, name: str) -> list[Service]:
    """Services of ``intent`` called ``name``, in document order (any namespace)."""
    return memo(intent, "services-by-name", _by_name).get(name, [])

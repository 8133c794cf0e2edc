"""The rules file of ``meshgen advise``, read and checked once.

Shipped as package data: ``meshgen/data/advise-rules.yaml`` (its comments cite the source of
every number). A malformed file is a meshgen bug, reported as :class:`~meshgen.errors.MeshgenError`
naming the key; a registered platform without a profile is one too (tests/test_advise.py checks
every platform has one), so the recommendation always covers the whole registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from meshgen.errors import MeshgenError

RULES_FILE = "advise-rules.yaml"


@dataclass(frozen=True)
class Profile:
    """One platform's row of the rules (``platforms.<name>``).

    Attributes:
        mesh: whether it is a service mesh (``justification`` points go to meshes).
        operational_weight: points (<= 0) for running it, times the capacity factor.
        p99_per_hop_ms: added p99 latency per hop in ms; None when the guide gives no figure.
        min_kernel: oldest Linux kernel it runs on, ``(major, minor)``; None: no requirement.
        multi_cluster: points when ``context.clusters > 1``.
        vms: points when ``context.vms``.
        source: where these numbers come from.
    """

    mesh: bool
    operational_weight: int
    p99_per_hop_ms: float | None
    min_kernel: tuple[int, int] | None
    multi_cluster: int
    vms: int
    source: str


def kernel(text: str) -> tuple[int, int]:
    """``"5.10"`` -> ``(5, 10)`` (so 5.10 sorts after 5.9, as kernels do)."""
    major, minor = text.split(".")
    return int(major), int(minor)


@cache
def load() -> dict[str, Any]:
    """The parsed rules file (cached; treat as read-only)."""
    text = resources.files("meshgen").joinpath("data", RULES_FILE).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def profile(name: str) -> Profile:
    """The profile of registered platform ``name``.

    Raises:
        MeshgenError: the rules file has no (or a malformed) profile for it.
    """
    try:
        row = load()["platforms"][name]
        return Profile(
            mesh=bool(row["mesh"]),
            operational_weight=int(row["operationalWeight"]),
            p99_per_hop_ms=float(row["p99PerHopMs"]) if row.get("p99PerHopMs") is not None else None,
            min_kernel=kernel(str(row["minKernel"])) if row.get("minKernel") else None,
            multi_cluster=int(row.get("multiCluster", 0)),
            vms=int(row.get("vms", 0)),
            source=str(row["source"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise MeshgenError(f"meshgen/data/{RULES_FILE}: platforms.{name}: missing or malformed ({exc})") from None

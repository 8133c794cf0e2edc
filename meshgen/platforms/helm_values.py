"""Helm values files: planned as nested dicts, merged per chart, written under ``values/``.

Each concern (certificates, control plane, telemetry) contributes fragments for the charts it
touches; :func:`merge` folds them (a key set twice to different scalars is a planning bug), and
:func:`values_files` turns each chart's merged values into one :class:`PlannedFile` at
``values/<chart>.yaml``, laid out by ``templates/helm/values.yaml.j2`` with ``| block``, so every
key and value goes through the YAML-safe scalar filter.

Each platform declares the charts it writes values for (``Platform.charts``); a fragment for a
chart the platform did not declare is a planning bug (KeyError), never a silent skip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from meshgen.platforms.base import PlannedFile


@dataclass(frozen=True)
class Chart:
    """A Helm chart meshgen writes values for.

    Attributes:
        name: the values file name, ``values/<name>.yaml``.
        ref: ``repo/chart`` as ``helm install`` names it.
        release: the release name the chart's documentation installs it as.
        namespace_hint: where the chart's documentation installs it.
    """

    name: str
    ref: str
    release: str
    namespace_hint: str


#: trust-manager, shared by every platform whose trust roots cert-manager issues.
TRUST_MANAGER = Chart("trust-manager", "jetstack/trust-manager", "trust-manager", "cert-manager")


def merge(base: dict[str, Any], extra: Mapping[str, Any], path: str = "") -> dict[str, Any]:
    """Deep-merge ``extra`` into ``base`` (in place) and return ``base``.

    Mappings merge key by key; any other value set twice must be equal.

    Raises:
        AssertionError: two fragments set the same key to different values (a planning bug).
    """
    for key, value in extra.items():
        where = f"{path}.{key}" if path else key
        if key in base and isinstance(base[key], dict) and isinstance(value, Mapping):
            merge(base[key], value, where)
        elif key in base and base[key] != value:
            raise AssertionError(f"values key {where} planned twice: {base[key]!r} and {value!r}")
        else:
            base[key] = _copy(value)
    return base


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _sorted(value: Any) -> Any:
    # Values files are read by Helm, which ignores key order: sort for stable diffs.
    if isinstance(value, Mapping):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def values_files(fragments: Mapping[str, dict[str, Any]], charts: Sequence[Chart]) -> list[PlannedFile]:
    """One ``values/<chart>.yaml`` per chart with values, in chart-name order.

    Raises:
        KeyError: a fragment for a chart not in ``charts`` (the platform's declared charts).
    """
    by_name = {c.name: c for c in charts}
    out = []
    for name in sorted(fragments):
        chart = by_name[name]
        out.append(
            PlannedFile(
                "helm/values.yaml.j2",
                f"values/{name}.yaml",
                {
                    "chart": chart.ref,
                    "release": chart.release,
                    "namespace": chart.namespace_hint,
                    "file": f"values/{name}.yaml",
                    "values": _sorted(fragments[name]),
                },
            )
        )
    return out

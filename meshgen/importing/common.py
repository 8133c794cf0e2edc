"""Helpers every importer shares: host names, ports, durations, caller identities.

Each function is the inverse of a piece of the planners (named in its docstring), so an object
meshgen wrote imports back to the intent that produced it.
"""

from __future__ import annotations

import re
from typing import Any

from meshgen.importing.findings import Findings
from meshgen.importing.reader import SourceObject

#: Service ``appProtocol`` -> intent protocol; the inverse of gateway_api.service_ports, plus
#: the IANA names Istio also reads (https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/).
APP_PROTOCOLS = {
    "http": "http",
    "kubernetes.io/h2c": "http2",
    "http2": "http2",
    "grpc": "grpc",
    "tcp": "tcp",
    "tls": "tls",
    "https": "tls",
}

#: spec.egress[].host of the intent model (EgressHost.host).
EGRESS_HOST = re.compile(r"(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+")


def plain(value: Any) -> Any:
    """ruamel.yaml's Commented* containers -> plain dicts and lists (ordered as read)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def check_keys(obj: SourceObject, mapping: Any, path: tuple, known: set[str], findings: Findings, what: str = "") -> None:
    """Report every key of ``mapping`` outside ``known`` as LOST (the intent cannot say it)."""
    if not isinstance(mapping, dict):
        return
    for key in mapping:
        if key not in known:
            findings.lost(obj, (*path, key), f"{what or 'field'} {key} has no equivalent in the intent; dropped")


def host_service(host: str, namespace: str | None) -> tuple[str, str] | None:
    """A Kubernetes Service host as Istio resolves it -> ``(namespace, name)``; None for other hosts.

    ``name``, ``name.ns``, ``name.ns.svc`` and ``name.ns.svc.cluster.local`` (short names are
    relative to the namespace of the object naming them:
    https://istio.io/latest/docs/reference/config/networking/virtual-service/#VirtualService-hosts).
    """
    parts = host.split(".")
    if "*" in host:
        return None
    if len(parts) == 1 and namespace:
        return namespace, parts[0]
    if len(parts) == 2 or (len(parts) == 3 and parts[2] == "svc") or (len(parts) == 5 and parts[2:] == ["svc", "cluster", "local"]):
        return parts[1], parts[0]
    return None


def number(value: Any) -> int | float:
    """A YAML number as int when whole (``20.0`` -> 20), so the intent reads as people write it."""
    value = float(value)
    return int(value) if value.is_integer() else value


def string_match(value: Any) -> dict[str, str] | None:
    """Istio ``StringMatch`` ``{exact|prefix|regex: v}`` -> the intent's; None when not one of those."""
    if isinstance(value, dict) and len(value) == 1:
        (op, text), = value.items()
        if op in ("exact", "prefix", "regex") and isinstance(text, str):
            return {op: text}
    return None

"""Synthetic intents for the scale benchmark: N services with realistic allow-lists and versions.

The shape follows what large meshes look like: teams of up to 50 services per namespace, a
layered call graph (each service is called by 1-6 services that come before it, a fifth of them
from another team), a third of the services running canaries, gRPC and HTTP ports, per-method
and per-path allow rules, a public gateway in front of the first services. Everything comes from a
seeded random generator, so a given ``n`` always yields the same intent, byte for byte.
"""

from __future__ import annotations

import random
from typing import Any

import yaml

_NOUNS = (
    "api",
    "cart",
    "catalog",
    "checkout",
    "payment",
    "ledger",
    "search",
    "profile",
    "orders",
    "stock",
    "pricing",
    "shipping",
    "review",
    "auth",
    "session",
    "notify",
    "media",
    "report",
    "billing",
    "quote",
)
TEAM_SIZE = 50


def service_name(i: int) -> str:
    """The name of service ``i``: ``catalog-0002``."""
    return f"{_NOUNS[i % len(_NOUNS)]}-{i:04d}"


def namespace(i: int) -> str:
    """The namespace (team) of service ``i``: 50 services per team."""
    return f"team-{i // TEAM_SIZE:03d}"


#: The features the synthetic intent uses (``Feature`` values, as ``meshgen platforms`` names them).
#: With ``portable=True`` each is accepted as a loss on every platform (``spec.acceptedLosses``
#: without ``platform``), so every registered platform, new ones included, renders the same intent
#: without ``--allow-loss``. Accepting a loss never widens access (see ``meshgen/losses.py``):
#: what a platform cannot enforce is still refused in its rendered policy.
USED_FEATURES = (
    "mtls-strict",
    "metrics",
    "alerts",
    "timeout",
    "retries",
    "per-try-timeout",
    "canary-weights",
    "request-routing",
    "outlier-detection",
    "ejection-limits",
    "connection-pool",
    "rate-limit",
    "authz-identity",
    "authz-l7",
    "authz-by-version",
    "gateway-http",
    "egress-allow-list",
)


def accepted_losses() -> list[dict[str, str]]:
    """``spec.acceptedLosses`` entries, one per :data:`USED_FEATURES` entry, on every platform."""
    return [
        {"feature": f, "reason": "synthetic benchmark intent: it measures speed, the same intent on every platform"}
        for f in USED_FEATURES
    ]


def intent_data(n: int, seed: int = 7, portable: bool = False) -> dict[str, Any]:
    """A MeshIntent document with ``n`` services, as plain data.

    Roughly 3 allow edges per service, 30% of services with two versions (a third of those with a
    service account per version, so allow rules can name versions), 10% with a header route to
    the canary, 10% with circuit breaking, 3% with a rate limit. ``portable=True`` adds
    :func:`accepted_losses`, so the intent renders without ``--allow-loss`` on every platform
    (the intent is otherwise the same, so every platform is timed on the same work).
    """
    rng = random.Random(seed)
    services: list[dict[str, Any]] = []
    grpc_of: dict[int, bool] = {}
    version_sas: dict[int, bool] = {}
    for i in range(n):
        name, ns = service_name(i), namespace(i)
        grpc = rng.random() < 0.35
        grpc_of[i] = grpc
        svc: dict[str, Any] = {"name": name, "namespace": ns, "serviceAccount": f"{name}-sa"}
        svc["ports"] = (
            [{"name": "grpc", "port": 9090, "protocol": "grpc"}]
            if grpc
            else [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "http"}]
        )
        svc["replicas"] = rng.choice((1, 2, 3, 5))
        if rng.random() < 0.3:
            own = rng.random() < 0.33
            version_sas[i] = own
            svc["versions"] = [
                {"name": "v1", "weight": 90, **({"serviceAccount": f"{name}-v1"} if own else {})},
                {"name": "v2", "weight": 10, **({"serviceAccount": f"{name}-v2"} if own else {})},
            ]
            if rng.random() < 0.33:
                svc["routes"] = [
                    {"name": "testers", "match": {"headers": {"x-canary": {"exact": "true"}}}, "version": "v2"}
                ]
        if rng.random() < 0.2:
            svc["timeout"] = rng.choice(("2s", "10s", "30s"))
        if rng.random() < 0.1:
            svc["circuitBreaker"] = {
                "consecutiveErrors": 5,
                "interval": "10s",
                "baseEjectionTime": "30s",
                "maxConnections": 200,
            }
        if rng.random() < 0.03:
            svc["rateLimit"] = {"requestsPerSecond": 100 * svc["replicas"]}
        allow: list[dict[str, Any]] = []
        if i < 5:
            allow.append({"gateway": "public"})
        if i > 0:
            callers = sorted(set(_callers(rng, i)))
            for c in callers:
                peer: dict[str, Any] = {"service": service_name(c)}
                if namespace(c) != ns:
                    peer["namespace"] = namespace(c)
                if version_sas.get(c) and rng.random() < 0.5:
                    peer["versions"] = ["v2"]
                if grpc:
                    if rng.random() < 0.5:
                        peer["grpc"] = {
                            "service": f"shop.{_NOUNS[i % len(_NOUNS)].title()}Service",
                            "methods": ["Get", "List"],
                        }
                elif rng.random() < 0.5:
                    peer["methods"] = ["GET"] if rng.random() < 0.5 else ["GET", "POST"]
                    if rng.random() < 0.5:
                        peer["paths"] = [f"/{_NOUNS[i % len(_NOUNS)]}/*"]
                allow.append(peer)
        if allow:
            svc["allowFrom"] = allow
        services.append(svc)
    frontends = min(n, 5)
    gateway = {
        "name": "public",
        "namespace": namespace(0),
        "hostnames": ["shop.example.com"],
        "listeners": [{"port": 443, "protocol": "HTTPS", "tlsSecret": "shop-tls"}],
        "routes": [
            {
                "match": {"path": {"prefix": f"/{service_name(i)}"}},
                "service": service_name(i),
                "namespace": namespace(i),
            }
            for i in range(frontends)
            if not grpc_of[i]
        ]
        or [{"service": service_name(0), "namespace": namespace(0)}],
    }
    data = {
        "apiVersion": "meshgen.dev/v1alpha1",
        "kind": "MeshIntent",
        "metadata": {"name": "synthetic"},
        "spec": {
            "platform": "istio",
            "mesh": {"mtls": "strict", "defaultDeny": True},
            "defaults": {
                "namespace": namespace(0),
                "timeout": "5s",
                "retries": {"attempts": 2, "perTryTimeout": "1s", "retryOn": ["5xx", "reset", "connect-failure"]},
            },
            "services": services,
            "gateways": [gateway],
            "egress": [{"host": "api.stripe.com"}, {"host": "*.googleapis.com"}],
            # Random timeouts and retries on every layer make timeout-chain and retry-amplification
            # errors by construction; the intent exists to measure speed, so it accepts them.
            "suppress": [
                {"code": "MG101", "reason": "synthetic benchmark intent: random per-service timeouts"},
                {"code": "MG102", "reason": "synthetic benchmark intent: default retries on every layer"},
            ],
        },
    }
    if portable:
        data["spec"]["acceptedLosses"] = accepted_losses()
    return data


def _callers(rng: random.Random, i: int) -> list[int]:
    count = min(i, rng.choice((1, 2, 3, 3, 4, 6)))
    out = []
    for _ in range(count):
        if rng.random() < 0.8 and i % TEAM_SIZE:
            team_start = i - i % TEAM_SIZE
            out.append(rng.randrange(team_start, i))
        else:
            out.append(rng.randrange(0, i))
    return out


def intent_yaml(n: int, seed: int = 7, portable: bool = False) -> str:
    """:func:`intent_data` as YAML text, block style, keys in document order."""
    return yaml.safe_dump(intent_data(n, seed, portable), sort_keys=False, default_flow_style=None, width=120)


def team_files(n: int, seed: int = 7) -> dict[str, str]:
    """The same intent split per team: ``mesh.yaml`` (settings, gateways, egress) and one file per namespace."""
    data = intent_data(n, seed)
    spec = data["spec"]
    head = {k: data[k] for k in ("apiVersion", "kind", "metadata")}
    files = {"mesh.yaml": {**head, "spec": {k: v for k, v in spec.items() if k != "services"}}}
    for svc in spec["services"]:
        files.setdefault(f"{svc['namespace']}.yaml", {**head, "spec": {"services": []}})["spec"]["services"].append(svc)
    return {
        name: yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=120) for name, doc in files.items()
    }

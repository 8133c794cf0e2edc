"""Rules across fields of a valid-shaped intent, checked after pydantic's per-field validation.

Each rule names every field involved, so a user can fix all problems in one pass:
:func:`check_intent` returns every violation, never only the first. Paths are tuples of the
intent's camelCase keys and list indexes, e.g. ``("spec", "services", 2, "retries")``; the loader
turns them into ``file:line:col`` positions.

Intent that is valid but probably not what was meant (shared identities, UDP ports, shadowed
routes, retry storms, ...) is reported by the coded analyzers of :mod:`meshgen.analyze`.
"""

from __future__ import annotations

from dataclasses import dataclass

from meshgen.intent.index import services_named
from meshgen.intent.model import MeshIntent, Peer, Service
from meshgen.intent.types import Duration

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Violation:
    """A broken rule: where (intent path) and what is expected.

    ``related`` is a second place the rule involves (the first definition of a name defined
    twice); the loader reports its position too, which may be in another intent file.
    """

    path: Path
    message: str
    at_key: bool = False  # point at the key (an unknown key) rather than its value
    related: Path | None = None  # a second place the problem involves (the first definition of a duplicate)


def format_path(path: Path) -> str:
    """``("spec", "services", 2, "name")`` -> ``spec.services[2].name``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def resolve_service(intent: MeshIntent, name: str, namespace: str | None) -> list[Service]:
    """Services of the intent a reference (name, optional namespace) can mean."""
    return [s for s in services_named(intent, name) if namespace is None or s.namespace == namespace]


def check_intent(intent: MeshIntent) -> list[Violation]:
    """Every cross-field rule violation of ``intent``, in document order."""
    out: list[Violation] = []
    spec = intent.spec
    svc_path = ("spec", "services")

    seen: dict[tuple[str, str | None], int] = {}
    for i, svc in enumerate(spec.services):
        key = (svc.name, svc.namespace)
        if key in seen:
            out.append(
                Violation(
                    (*svc_path, i, "name"),
                    f"service {svc.namespace}/{svc.name} is defined twice",
                    related=(*svc_path, seen[key], "name"),
                )
            )
        else:
            seen[key] = i
    rolled: dict[tuple[str | None, str], int] = {}
    for i, svc in enumerate(spec.services):
        if svc.rollout is None:
            continue
        workload = (svc.namespace, svc.rollout.workload or svc.name)
        if workload in rolled:
            other = spec.services[rolled[workload]]
            out.append(
                Violation(
                    (*svc_path, i, "rollout"),
                    f"Deployment {workload[0]}/{workload[1]} is already rolled out by service {other.name}: a workload has "
                    "one controller object (Canary or Rollout); give this rollout its own workload",
                    related=(*svc_path, rolled[workload], "rollout"),
                )
            )
        else:
            rolled[workload] = i
    _unique(out, [g.name for g in spec.gateways], ("spec", "gateways"), "name", "gateway")
    _unique(out, [e.host for e in spec.egress], ("spec", "egress"), "host", "egress host")

    for i, svc in enumerate(spec.services):
        _check_service(out, intent, svc, (*svc_path, i))
        _check_suppress(out, svc.suppress, (*svc_path, i, "suppress"))
    _check_suppress(out, spec.suppress, ("spec", "suppress"))
    for i, gw in enumerate(spec.gateways):
        _check_gateway(out, intent, gw, ("spec", "gateways", i))
    _check_ca(out, intent)
    _check_control_plane(out, intent)
    return out


def _unique(out: list[Violation], names: list, base: Path, key: str, what: str) -> None:
    first: dict = {}
    for i, name in enumerate(names):
        if name in first:
            out.append(Violation((*base, i, key), f"{what} {name!r} is defined twice", related=(*base, first[name], key)))
        else:
            first[name] = i


def _check_rollout(out: list[Violation], intent: MeshIntent, svc: Service, path: Path, has_l7: bool) -> None:
    """A rollout owns the service's traffic split, reads request metrics, and gates as its controller can."""
    rollout = svc.rollout
    rpath = (*path, "rollout")
    if svc.versions:
        out.append(
            Violation(
                rpath,
                "a rollout and static versions on the same service: the controller shifts traffic between the "
                "stable and the canary workload itself; remove versions (and routes or callers naming them) or the rollout",
                related=(*path, "versions"),
            )
        )
    if not has_l7:
        out.append(
            Violation(
                rpath,
                f"the rollout analysis reads HTTP request metrics (success rate, latency); service {svc.name} has only "
                "L4 ports: give it an http, http2 or grpc port",
            )
        )
    controller = rollout.controller_of(intent.spec.delivery)
    gate = rollout.webhooks.manual_gate
    if gate is not None and controller == "flagger" and gate.url is None:
        out.append(
            Violation(
                (*rpath, "webhooks", "manualGate"),
                "Flagger gates promotion with a confirm-promotion webhook: set url, e.g. "
                "http://flagger-loadtester.test/gate/check",
            )
        )
    if gate is not None and controller == "argo-rollouts" and gate.url is not None:
        out.append(
            Violation(
                (*rpath, "webhooks", "manualGate", "url"),
                "Argo Rollouts gates with a pause step resumed by `kubectl argo rollouts promote`, not a URL: remove url",
            )
        )


def _check_service(out: list[Violation], intent: MeshIntent, svc: Service, path: Path) -> None:
    _unique(out, [p.name for p in svc.ports], (*path, "ports"), "name", "port name")
    _unique(out, [p.port for p in svc.ports], (*path, "ports"), "port", "port number")
    _unique(out, [v.name for v in svc.versions], (*path, "versions"), "name", "version")
    _unique(out, [r.name for r in svc.routes if r.name], (*path, "routes"), "name", "route")

    if svc.versions:
        total = sum(v.weight for v in svc.versions)
        if total != 100:
            weights = ", ".join(f"{v.name}={v.weight}" for v in svc.versions)
            out.append(Violation((*path, "versions"), f"version weights must sum to 100, got {total} ({weights})"))

    has_l7 = any(p.is_l7 for p in svc.ports)
    has_grpc = any(p.protocol == "grpc" for p in svc.ports)
    if svc.rollout is not None:
        _check_rollout(out, intent, svc, path, has_l7)
    _check_timeouts(out, svc.timeout, svc.retries, path, (*path, "retries", "perTryTimeout"))

    for r, route in enumerate(svc.routes):
        rpath = (*path, "routes", r)
        if not has_l7:
            out.append(
                Violation(rpath, f"routes need an http, http2 or grpc port; service {svc.name} has only L4 ports")
            )
        if route.version is not None and svc.version_named(route.version) is None:
            out.append(Violation((*rpath, "version"), _unknown("version", route.version, [v.name for v in svc.versions])))
        if route.mirror is not None and svc.version_named(route.mirror.version) is None:
            out.append(
                Violation((*rpath, "mirror", "version"), _unknown("version", route.mirror.version, [v.name for v in svc.versions]))
            )
        if route.match is not None and route.match.grpc is not None and not has_grpc:
            out.append(Violation((*rpath, "match", "grpc"), f"grpc matches need a grpc port; service {svc.name} has none"))
        if route.timeout is not None or route.retries is not None:
            timeout = route.timeout if route.timeout is not None else svc.timeout
            retries = route.retries if route.retries is not None else svc.retries
            where = (*rpath, "retries", "perTryTimeout") if route.retries else (*rpath, "timeout")
            _check_timeouts(out, timeout, retries, rpath, where)
        if route.match is None and route.version is None and route.fault is None and route.mirror is None and route.timeout is None and route.retries is None:
            out.append(Violation(rpath, "a route must do something: set version, fault, mirror, timeout or retries"))

    for field in ("allowFrom", "denyFrom"):
        peers = svc.allow_from if field == "allowFrom" else svc.deny_from
        for p, peer in enumerate(peers):
            _check_peer(out, intent, svc, peer, (*path, field, p))


def _check_suppress(out: list[Violation], suppressions, path: Path) -> None:
    if not suppressions:
        return
    from meshgen.analyze.registry import CODES  # late: the analyzers import this module

    for i, item in enumerate(suppressions):
        if item.code not in CODES:
            out.append(Violation((*path, i, "code"), _unknown("analyzer code", item.code, sorted(CODES))))


def _check_timeouts(out: list[Violation], timeout, retries, where: Path, per_try_path: Path) -> None:
    if timeout is None or retries is None or retries.per_try_timeout is None or retries.attempts == 0:
        return
    if retries.per_try_timeout > timeout:
        out.append(
            Violation(
                per_try_path,
                f"perTryTimeout {retries.per_try_timeout} is longer than the request timeout {timeout} "
                f"at {format_path(where)}: no retry could ever start; make perTryTimeout <= timeout",
            )
        )


def _check_peer(out: list[Violation], intent: MeshIntent, callee: Service, peer: Peer, path: Path) -> None:
    if peer.service is not None:
        matches = resolve_service(intent, peer.service, peer.namespace)
        if not matches:
            names = sorted({f"{s.namespace}/{s.name}" for s in intent.spec.services})
            out.append(Violation((*path, "service"), _unknown("service", peer.service, names)))
        elif len(matches) > 1:
            spaces = ", ".join(sorted(s.namespace or "" for s in matches))
            out.append(Violation((*path, "service"), f"service {peer.service!r} exists in several namespaces ({spaces}); add namespace"))
        else:
            caller = matches[0]
            for v, version in enumerate(peer.versions):
                if caller.version_named(version) is None:
                    out.append(
                        Violation((*path, "versions", v), _unknown(f"version of {caller.name}", version, [x.name for x in caller.versions]))
                    )
    if peer.selector == {} and not peer.namespace_wide:
        # Cilium read {} as every pod of the namespace, Istio and Linkerd as every intent workload
        # there: refuse the ambiguity rather than pick one silently (issue 18).
        out.append(
            Violation(
                (*path, "selector"),
                "an empty selector selects every workload of the namespace, including pods outside the intent; "
                "name the callers, or say so with namespaceWide: true",
            )
        )
    if peer.gateway is not None and intent.gateway(peer.gateway) is None:
        out.append(Violation((*path, "gateway"), _unknown("gateway", peer.gateway, [g.name for g in intent.spec.gateways])))

    scoped = []
    for i, ref in enumerate(peer.ports):
        port = callee.port_named(ref)
        if port is None:
            out.append(Violation((*path, "ports", i), _unknown(f"port of {callee.name}", ref, [p.name for p in callee.ports])))
        else:
            scoped.append(port)
    ports = scoped or list(callee.ports)
    if peer.is_l7:
        l4 = [p for p in ports if not p.is_l7]
        if l4:
            names = ", ".join(f"{p.name} ({p.protocol})" for p in l4)
            field = next(k for k, v in (("methods", peer.methods), ("paths", peer.paths), ("grpc", peer.grpc)) if v)
            out.append(
                Violation(
                    (*path, field),
                    f"methods, paths and grpc only apply to http, http2 or grpc ports, but this rule also covers {names}; "
                    "scope it with ports: [...] (an L7 rule on a TCP port matches nothing in Istio and would deny it)",
                )
            )
        if peer.grpc and not any(p.protocol == "grpc" for p in ports):
            out.append(Violation((*path, "grpc"), "grpc restrictions need a grpc port among the rule's ports"))


def _check_gateway(out: list[Violation], intent: MeshIntent, gw, path: Path) -> None:
    _unique(out, [lst.resolved_name for lst in gw.listeners], (*path, "listeners"), "name", "listener")
    _unique(out, [r.name for r in gw.routes if r.name], (*path, "routes"), "name", "route")
    listeners = {lst.resolved_name: lst for lst in gw.listeners}
    for i, lst in enumerate(gw.listeners):
        needs_secret = lst.protocol == "HTTPS" or (lst.protocol == "TLS" and lst.tls_mode == "terminate")
        if needs_secret and lst.tls_secret is None:
            out.append(Violation((*path, "listeners", i, "tlsSecret"), f"{lst.protocol} listener {lst.resolved_name} terminating TLS needs tlsSecret"))
        if lst.protocol in ("HTTP", "TCP") and lst.tls_secret is not None:
            out.append(Violation((*path, "listeners", i, "tlsSecret"), f"{lst.protocol} listeners do not use tlsSecret"))
        if lst.protocol != "TLS" and lst.tls_mode == "passthrough":
            out.append(Violation((*path, "listeners", i, "tlsMode"), "passthrough is only for TLS listeners"))
    for r, route in enumerate(gw.routes):
        rpath = (*path, "routes", r)
        if route.listener is not None and route.listener not in listeners:
            out.append(Violation((*rpath, "listener"), _unknown(f"listener of {gw.name}", route.listener, list(listeners))))
            continue
        targets = [listeners[route.listener]] if route.listener else list(listeners.values())
        l4_only = all(t.protocol == "TCP" or (t.protocol == "TLS" and t.tls_mode == "passthrough") for t in targets)
        if l4_only:
            for field in ("match", "rewrite", "redirect", "requestHeaders", "responseHeaders", "timeout"):
                attr = {"requestHeaders": "request_headers", "responseHeaders": "response_headers"}.get(field, field)
                if getattr(route, attr) is not None:
                    out.append(Violation((*rpath, field), f"{field} needs an HTTP or HTTPS listener; {route.listener or 'every listener'} is TCP or TLS passthrough"))
        if route.service is None:
            continue
        matches = resolve_service(intent, route.service, route.namespace)
        if len(matches) != 1:
            names = sorted({s.name for s in intent.spec.services})
            message = _unknown("service", route.service, names) if not matches else f"service {route.service!r} is ambiguous; add namespace"
            out.append(Violation((*rpath, "service"), message))
            continue
        svc = matches[0]
        if route.port is not None and not any(p.port == route.port for p in svc.ports):
            out.append(Violation((*rpath, "port"), _unknown(f"port of {svc.name}", route.port, [p.port for p in svc.ports])))


def _check_ca(out: list[Violation], intent: MeshIntent) -> None:
    ca = intent.spec.mesh.ca
    base = ("spec", "mesh", "ca")
    if not ca.cert_lifetime < ca.issuer_lifetime:
        out.append(
            Violation((*base, "certLifetime"), f"certLifetime {ca.cert_lifetime} must be shorter than issuerLifetime {ca.issuer_lifetime}")
        )
    if not ca.issuer_lifetime < ca.root_lifetime:
        out.append(
            Violation((*base, "issuerLifetime"), f"issuerLifetime {ca.issuer_lifetime} must be shorter than rootLifetime {ca.root_lifetime}")
        )
    if ca.renew_before is not None and not ca.renew_before < ca.issuer_lifetime:
        out.append(
            Violation((*base, "renewBefore"), f"renewBefore {ca.renew_before} must be shorter than issuerLifetime {ca.issuer_lifetime}")
        )
    if ca.type in ("cert-manager", "vault"):
        # cert-manager's own limits (cert-manager.io/v1 MinimumCertificateDuration, MinimumRenewBefore).
        for key, value in (("issuerLifetime", ca.issuer_lifetime), ("rootLifetime", ca.root_lifetime)):
            if value < Duration(3_600_000):
                out.append(Violation((*base, key), f"{key} {value} is shorter than 1h, the shortest Certificate cert-manager issues"))
        if ca.renew_before is not None and ca.renew_before < Duration(300_000):
            out.append(Violation((*base, "renewBefore"), f"renewBefore {ca.renew_before} is shorter than 5m, the least cert-manager accepts"))
    if ca.type == "vault" and ca.issuer_ref is None:
        out.append(Violation((*base, "issuerRef"), "ca.type vault needs issuerRef: the cert-manager Vault issuer that signs the mesh CA"))
    if ca.type in ("mesh", "spire") and ca.issuer_ref is not None:
        out.append(Violation((*base, "issuerRef"), f"issuerRef is only used with cert-manager or vault, not {ca.type}"))


def _check_control_plane(out: list[Violation], intent: MeshIntent) -> None:
    cp = intent.spec.mesh.control_plane
    if cp.max_replicas is not None and cp.max_replicas < cp.replicas:
        out.append(
            Violation(
                ("spec", "mesh", "controlPlane", "maxReplicas"),
                f"maxReplicas {cp.max_replicas} must be at least replicas {cp.replicas} (autoscaling starts at replicas)",
            )
        )


def _unknown(what: str, name, known: list) -> str:
    listed = ", ".join(str(k) for k in known) or "none defined"
    return f"unknown {what} {name!r}; expected one of: {listed}"

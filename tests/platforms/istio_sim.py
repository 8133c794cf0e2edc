"""A small model of how Istio (sidecar mode) reads the objects meshgen renders, for semantics tests.

It reads rendered objects back (parsed YAML dicts, nothing else) and answers, the way istiod and
the Envoy sidecars do, two questions: does a callee's inbound sidecar admit a caller's request
(:meth:`Mesh.admits`), and where does a client's outbound sidecar send a request
(:meth:`Mesh.route`). It is written from Istio's API reference and the source it points to,
independently of meshgen's planner. Each rule below names its source:

[AP]  https://istio.io/latest/docs/reference/config/security/authorization-policy/
      (istio/api security/v1beta1/authorization_policy.proto):
      * evaluation: CUSTOM, then DENY, then ALLOW. "If there are any DENY policies that match the
        request, deny the request. If there are no ALLOW policies for the workload, allow the
        request. If any of the ALLOW policies match the request, allow the request. Deny the request."
      * "rules: If not set, the match will never occur" (``spec: {}`` is allow-nothing);
        ``rules: [{}]`` allows everything ("An empty rule is always matched").
      * a rule matches when one ``from`` source, one ``to`` operation and every ``when`` condition
        match; fields inside a source/operation are ANDed; values in a field are ORed.
      * strings: exact, ``prefix*``, ``*suffix``, and ``*`` = "value is not empty".
      * ``principals``: ``<trust-domain>/ns/<ns>/sa/<sa>``, "requires mTLS enabled"; a plaintext
        caller has no principal and no namespace, so it never matches ``principals``/``namespaces``
        and always matches ``notPrincipals``/``notNamespaces`` (negation of a non-match).
      * ``namespaces`` match the ``/ns/<ns>/`` segment of the peer principal
        (istio/istio pilot/pkg/security/authz/model/generator.go, srcNamespaceGenerator).
      * ``ports`` are the ports "as specified in the connection", i.e. the workload's (container)
        port, not the Service port (istio/api#3075, istio/istio#49098).
      * ``methods``: for gRPC "always POST"; ``paths``: for gRPC "/package.service/method"; paths
        are matched without the query string (Envoy ``url_path`` matcher, generator.go pathGenerator).
      * selector and targetRefs: no selector = every workload of the namespace; a policy in the root
        namespace (istio-system) applies mesh-wide; ``targetRefs`` to a Gateway API ``Gateway``
        apply to that gateway's pods. ``istio.io/dry-run: "true"`` policies are not enforced.
[TCP] https://istio.io/latest/docs/tasks/security/authorization/authz-tcp/ and [AP]: on a TCP port,
      an ALLOW rule with an HTTP-only field (methods, paths, hosts, requestPrincipals, request.*
      conditions) is ignored; in a DENY rule "missing attributes are treated as matches".
[PA]  https://istio.io/latest/docs/reference/config/security/peer_authentication/: workload policy
      (selector) over namespace policy over root-namespace policy; ``portLevelMtls`` keyed by the
      workload port; ``UNSET`` inherits; nothing set anywhere = PERMISSIVE. STRICT refuses plaintext;
      DISABLE leaves every caller without a principal. It configures sidecar inbound listeners; a
      Gateway API gateway's listeners take client traffic as its ``Gateway`` says (istio/istio#23284).
[RA]  https://istio.io/latest/docs/reference/config/security/request_authentication/: "It will
      reject a request if the request contains invalid authentication information ... A request
      that does not contain any authentication credentials will be accepted but will not have any
      authenticated identity". The request principal is ``<iss>/<sub>``; ``audiences`` unset = any.
[PROTO] https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/: a
      port's protocol is its ``appProtocol``, else the ``<protocol>[-suffix]`` port name; TLS and
      HTTPS ports are opaque TCP to the server sidecar.
[VS]  https://istio.io/latest/docs/reference/config/networking/virtual-service/: ``http`` is "an
      ordered list ... The first rule matching an incoming request is used"; ``match`` entries are
      ORed, fields in one entry ANDed; no ``match`` = every request; StringMatch exact/prefix/regex
      (RE2, whole value); header names lower-case, ``{}`` = presence; a destination receives
      "weight/(sum of all weights)"; "If there is only one destination in a rule, it will receive
      all traffic". No ``retries`` = "attempts: 2, retryOn: connect-failure,refused-stream,
      unavailable,cancelled"; "timeouts or retries will not be enabled when faults are enabled".
      No VirtualService = the Service itself, Istio's default retries, no timeout.
[DR]  https://istio.io/latest/docs/reference/config/networking/destination-rule/: a subset is the
      host's endpoints carrying the subset ``labels`` (on top of the Service's selector).
[SE]  https://istio.io/latest/docs/reference/config/networking/sidecar/ (``outboundTrafficPolicy``)
      and .../service-entry/: under REGISTRY_ONLY a sidecar reaches only hosts in the service
      registry (Services, ServiceEntry hosts exported to its namespace, ``*.`` wildcards).

What is not modelled raises :class:`NotModelled` instead of guessing (CUSTOM actions, ip blocks,
``hosts``, source-selecting VirtualService matches, delegate VirtualServices).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ROOT_NAMESPACE = "istio-system"  # MeshConfig rootNamespace default
PLAINTEXT = None  # a caller without a sidecar: no mTLS, no peer principal
WHOLE = "(service)"  # route() key for a destination without subset
GATEWAY_LABEL = "gateway.networking.k8s.io/gateway-name"  # what Istio puts on a Gateway API gateway's pods
DEFAULT_RETRIES = {"attempts": 2, "retryOn": "connect-failure,refused-stream,unavailable,cancelled"}
HTTP_PROTOCOLS = ("http", "http2", "grpc", "grpc-web")


class NotModelled(AssertionError):
    """The objects use an Istio feature this model does not cover; extend the model first."""


@dataclass(frozen=True)
class Token:
    """A JWT the caller presents: issuer, subject, audiences, and other claims (each a list of strings)."""

    iss: str
    sub: str = "user-1"
    aud: tuple[str, ...] = ()
    claims: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """What the callee's sidecar does with one request, and why (for assertion messages)."""

    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


@dataclass(frozen=True)
class Route:
    """Where a client's sidecar sends one request: rule name, percent per destination, policies."""

    rule: str | None
    weights: dict[str, float]  # subset name (or WHOLE, or "host/subset" for another host) -> percent
    timeout: str | None
    retries: dict[str, Any] | None  # None: no retries (attempts 0, or a fault disables them)
    fault: dict[str, Any] | None
    mirror: dict[str, Any] | None
    mirror_percent: float | None


def glob(pattern: str, value: str | None) -> bool:
    """Istio's string match [AP]: exact, ``prefix*``, ``*suffix``, ``*`` = present (non-empty)."""
    if value is None:
        return False
    if pattern == "*":
        return value != ""
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    return value == pattern


def _string_match(spec: Mapping[str, str], value: str | None, ignore_case: bool = False) -> bool:
    """A VirtualService StringMatch [VS]; ``{}`` only asks for presence."""
    if value is None:
        return False
    if not spec:
        return True
    ((kind, want),) = spec.items()
    if ignore_case and kind != "regex":
        value, want = value.lower(), want.lower()
    if kind == "exact":
        return value == want
    if kind == "prefix":
        return value.startswith(want)
    if kind == "regex":
        return re.fullmatch(want, value) is not None
    raise NotModelled(f"StringMatch {kind}")


def _selects(selector: Mapping[str, str] | None, labels: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in (selector or {}).items())


def principal_namespace(principal: str | None) -> str | None:
    """``cluster.local/ns/shop/sa/web`` -> ``shop``."""
    if principal is None:
        return None
    m = re.search(r"/ns/([^/]+)/", principal + "/")
    return m.group(1) if m else None


def principal(trust_domain: str, namespace: str, service_account: str) -> str:
    """The peer principal of a workload [AP]: ``<trust-domain>/ns/<ns>/sa/<sa>``."""
    return f"{trust_domain}/ns/{namespace}/sa/{service_account}"


@dataclass(frozen=True)
class _Request:
    principal: str | None
    request_principal: str | None
    claims: Mapping[str, tuple[str, ...]]
    port: int
    method: str
    path: str  # without query
    headers: Mapping[str, str]


class Mesh:
    """The rendered objects of one platform rendering, read as Istio reads them."""

    def __init__(self, objects: list[dict[str, Any]]):
        self.objects = objects

    def of(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return [
            o
            for o in self.objects
            if o["kind"] == kind and (namespace is None or o["metadata"].get("namespace") == namespace)
        ]

    def service(self, target: str) -> dict[str, Any]:
        """The Kubernetes Service ``namespace/name``."""
        ns, name = target.split("/")
        found = [s for s in self.of("Service", ns) if s["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one Service {target}, got {len(found)}"
        return found[0]

    # --- protocol selection -----------------------------------------------------------------

    def _pod_protocol(self, ns: str, labels: Mapping[str, str], pod_port: int) -> str:
        """The protocol the server sidecar gives a workload port [PROTO]; undeclared ports are passthrough TCP."""
        for svc in self.of("Service", ns):
            if not svc["spec"].get("selector") or not _selects(svc["spec"]["selector"], labels):
                continue
            for p in svc["spec"]["ports"]:
                if p.get("targetPort", p["port"]) == pod_port:
                    return _port_protocol(p)
        return "tcp"

    # --- mTLS -----------------------------------------------------------------------------

    def mtls_mode(self, ns: str, labels: Mapping[str, str], pod_port: int) -> str:
        """Effective PeerAuthentication mode for a workload port [PA]."""
        workload = [
            p
            for p in self.of("PeerAuthentication", ns)
            if p["spec"].get("selector") and _selects(p["spec"]["selector"].get("matchLabels"), labels)
        ]
        assert len(workload) <= 1, "several workload PeerAuthentications select one pod: Istio picks the oldest"
        scopes = [
            workload,
            [p for p in self.of("PeerAuthentication", ns) if not p["spec"].get("selector")],
            [p for p in self.of("PeerAuthentication", ROOT_NAMESPACE) if not p["spec"].get("selector")],
        ]
        for found in scopes:
            assert len(found) <= 1, "several PeerAuthentications at one scope: Istio picks the oldest"
            if not found:
                continue
            spec = found[0]["spec"]
            port_level = (spec.get("portLevelMtls") or {}).get(pod_port) or (spec.get("portLevelMtls") or {}).get(
                str(pod_port)
            )
            for mode in ((port_level or {}).get("mode"), (spec.get("mtls") or {}).get("mode")):
                if mode and mode != "UNSET":
                    return mode
        return "PERMISSIVE"

    # --- authorization -----------------------------------------------------------------------

    def _policies(self, ns: str, labels: Mapping[str, str]) -> list[dict[str, Any]]:
        out = []
        for where in (ns, ROOT_NAMESPACE):
            for ap in self.of("AuthorizationPolicy", where):
                if (ap["metadata"].get("annotations") or {}).get("istio.io/dry-run") == "true":
                    continue
                spec = ap.get("spec") or {}
                refs = spec.get("targetRefs") or ([spec["targetRef"]] if spec.get("targetRef") else [])
                if refs:
                    for ref in refs:
                        if ref.get("kind") != "Gateway" or ref.get("group") != "gateway.networking.k8s.io":
                            raise NotModelled(f"targetRef {ref} on a sidecar workload")
                    if any(labels.get(GATEWAY_LABEL) == ref["name"] and where == ns for ref in refs):
                        out.append(spec)
                elif _selects((spec.get("selector") or {}).get("matchLabels"), labels):
                    out.append(spec)
        return out

    def decide(
        self,
        caller: str | None,
        ns: str,
        labels: Mapping[str, str],
        pod_port: int,
        method: str = "GET",
        path: str = "/",
        *,
        headers: Mapping[str, str] | None = None,
        token: Token | None = None,
        gateway: bool = False,
    ) -> Decision:
        """Whether the sidecar of a pod (``ns``, ``labels``) admits ``caller`` on workload port ``pod_port``.

        ``caller`` is a peer principal (see :func:`principal`) or :data:`PLAINTEXT`. For gRPC pass
        ``method="POST"`` and ``path="/package.Service/Method"``. ``gateway=True`` for a Gateway API
        gateway pod, whose listeners PeerAuthentication does not configure [PA].
        """
        protocol = "http" if gateway else self._pod_protocol(ns, labels, pod_port)
        tcp = protocol not in HTTP_PROTOCOLS
        peer = caller
        if not gateway:
            mode = self.mtls_mode(ns, labels, pod_port)
            if mode == "STRICT" and caller is PLAINTEXT:
                return Decision(False, f"plaintext refused: PeerAuthentication STRICT on port {pod_port}")
            if mode == "DISABLE":
                peer = None
        request_principal, claims = None, {}
        if token is not None and not tcp:
            rules = [
                r
                for ra in self.of("RequestAuthentication", ns)
                if _selects((ra["spec"].get("selector") or {}).get("matchLabels"), labels)
                for r in ra["spec"].get("jwtRules", [])
            ]
            if rules:
                valid = [
                    r
                    for r in rules
                    if r["issuer"] == token.iss and (not r.get("audiences") or set(r["audiences"]) & set(token.aud))
                ]
                if not valid:
                    return Decision(
                        False, f"401: token of issuer {token.iss} (aud {list(token.aud)}) fails every jwtRule"
                    )
                request_principal = f"{token.iss}/{token.sub}"
                claims = {"iss": (token.iss,), "sub": (token.sub,), "aud": token.aud, **token.claims}
        req = _Request(
            peer,
            request_principal,
            claims,
            pod_port,
            method,
            path.split("?", 1)[0],
            {k.lower(): v for k, v in (headers or {}).items()},
        )
        policies = self._policies(ns, labels)
        if any(p.get("action") == "CUSTOM" for p in policies):
            raise NotModelled("CUSTOM authorization")
        for p in policies:
            if p.get("action") == "DENY" and any(_rule_matches(r, req, tcp, deny=True) for r in p.get("rules") or []):
                return Decision(False, f"DENY policy matches (rules {p.get('rules')})")
        allows = [p for p in policies if p.get("action", "ALLOW") == "ALLOW"]
        if not allows:
            return Decision(True, "no ALLOW policy selects the workload")
        for p in allows:
            if any(_rule_matches(r, req, tcp, deny=False) for r in p.get("rules") or []):
                return Decision(True, "an ALLOW rule matches")
        return Decision(False, f"no ALLOW rule matches ({len(allows)} ALLOW policies)")

    def admits(
        self,
        caller: str | None,
        target: str,
        port: int,
        method: str = "GET",
        path: str = "/",
        *,
        labels: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        token: Token | None = None,
    ) -> Decision:
        """Whether ``caller`` may send ``method path`` to Service ``target`` (``ns/name``) on Service port ``port``.

        The request reaches the pods the Service selects on the port's ``targetPort``; ``labels``
        adds a version's pod labels to the Service selector (default: the selector alone).
        """
        svc = self.service(target)
        ports = [p for p in svc["spec"]["ports"] if p["port"] == port]
        assert len(ports) == 1, f"Service {target} has no port {port}"
        pod_port = ports[0].get("targetPort", port)
        assert isinstance(pod_port, int), "named targetPorts are not modelled"
        pod_labels = {**svc["spec"]["selector"], **(labels or {})}
        return self.decide(
            caller, target.split("/")[0], pod_labels, pod_port, method, path, headers=headers, token=token
        )

    # --- traffic ------------------------------------------------------------------------------

    def virtual_service(self, target: str) -> dict[str, Any] | None:
        """The one VirtualService a sidecar uses for Service ``target`` (``ns/name``), or None."""
        ns, name = target.split("/")
        fqdn = f"{name}.{ns}.svc.cluster.local"
        found = []
        for vs in self.of("VirtualService"):
            spec = vs["spec"]
            if spec.get("gateways") and "mesh" not in spec["gateways"]:
                continue
            if "delegate" in str(spec):
                raise NotModelled("delegate VirtualService")
            vs_ns = vs["metadata"]["namespace"]
            hosts = {h if "." in h else f"{h}.{vs_ns}.svc.cluster.local" for h in spec["hosts"]}
            if fqdn in hosts:
                found.append(vs)
        assert len(found) <= 1, f"several VirtualServices for {fqdn}: Istio keeps only the oldest"
        return found[0] if found else None

    def subset_labels(self, target: str, subset: str) -> dict[str, str]:
        """The pod labels a subset of Service ``target`` selects [DR]: the Service selector plus the subset's labels."""
        ns, name = target.split("/")
        fqdn = f"{name}.{ns}.svc.cluster.local"
        rules = [
            d
            for d in self.of("DestinationRule")
            if d["spec"]["host"] in (fqdn, name if d["metadata"]["namespace"] == ns else fqdn)
        ]
        assert len(rules) == 1, f"expected one DestinationRule for {fqdn}, got {len(rules)}"
        subsets = {s["name"]: s for s in rules[0]["spec"].get("subsets", [])}
        assert subset in subsets, f"subset {subset} of {fqdn} is not defined: Istio answers 503 (no healthy upstream)"
        return {**self.service(target)["spec"]["selector"], **subsets[subset].get("labels", {})}

    def route(
        self,
        target: str,
        headers: Mapping[str, str] | None = None,
        path: str = "/",
        method: str = "GET",
        *,
        port: int | None = None,
    ) -> Route | None:
        """Where a client sidecar sends a request to Service ``target`` [VS]; None = no rule matches (404).

        TCP ports (by the Service's protocol) use the ``tcp`` rules. Query parameters are read
        from ``path``.
        """
        svc = self.service(target)
        svc_port = next(p for p in svc["spec"]["ports"] if port is None or p["port"] == port)
        host = f"{target.split('/')[1]}.{target.split('/')[0]}.svc.cluster.local"
        vs = self.virtual_service(target)
        if vs is None:
            return Route(None, {WHOLE: 100.0}, None, dict(DEFAULT_RETRIES), None, None, None)
        spec = vs["spec"]
        if _port_protocol(svc_port) not in HTTP_PROTOCOLS:
            for rule in spec.get("tcp", []):
                if all(
                    set(m) <= {"port"} and m.get("port", svc_port["port"]) == svc_port["port"]
                    for m in rule.get("match", [{}])
                ):
                    return Route(None, _weights(rule["route"], host), None, None, None, None, None)
            return Route(None, {WHOLE: 100.0}, None, None, None, None, None)
        bare, _, query = path.partition("?")
        params = dict(p.split("=", 1) if "=" in p else (p, "") for p in query.split("&") if p)
        lowered = {k.lower(): v for k, v in (headers or {}).items()}
        for rule in spec.get("http", []):
            if not any(
                _http_match(m, method, bare, lowered, params, svc_port["port"]) for m in rule.get("match") or [{}]
            ):
                continue
            for key in ("redirect", "directResponse", "delegate"):
                if key in rule:
                    raise NotModelled(f"http rule with {key}")
            fault = rule.get("fault")
            retries = rule.get("retries", dict(DEFAULT_RETRIES))
            if retries is not None and retries.get("attempts", 2) == 0:
                retries = None
            return Route(
                rule.get("name"),
                _weights(rule["route"], host),
                None if fault else rule.get("timeout"),
                None if fault else retries,
                fault,
                rule.get("mirror"),
                (rule.get("mirrorPercentage") or {}).get("value", 100.0 if rule.get("mirror") else None),
            )
        return None

    # --- egress --------------------------------------------------------------------------------

    def egress_allowed(self, ns: str, host: str, port: int) -> bool:
        """Whether a sidecar in ``ns`` may open ``host:port`` outside the mesh [SE].

        The mesh default (MeshConfig ``outboundTrafficPolicy``) is ALLOW_ANY; a namespace-wide
        ``Sidecar`` overrides it. Under REGISTRY_ONLY only ServiceEntry hosts exported to ``ns``
        (``exportTo`` unset = everywhere) on a declared port pass.
        """
        sidecars = [s for s in self.of("Sidecar", ns) if not s["spec"].get("workloadSelector")]
        assert len(sidecars) <= 1, "several namespace-wide Sidecars"
        mode = ((sidecars[0]["spec"].get("outboundTrafficPolicy") if sidecars else None) or {}).get("mode", "ALLOW_ANY")
        if mode != "REGISTRY_ONLY":
            return True
        for se in self.of("ServiceEntry"):
            export = se["spec"].get("exportTo") or ["*"]
            if not ("*" in export or ns in export or ("." in export and se["metadata"]["namespace"] == ns)):
                continue
            if any(glob(h, host) if h.startswith("*") else h == host for h in se["spec"]["hosts"]) and any(
                p["number"] == port for p in se["spec"]["ports"]
            ):
                return True
        return False


def _port_protocol(port: Mapping[str, Any]) -> str:
    """[PROTO] appProtocol, else the port name's ``<protocol>[-suffix]``; unknown = auto-detect (treated as http)."""
    if port.get("appProtocol"):
        proto = port["appProtocol"].lower()
    else:
        proto = port.get("name", "").split("-")[0].lower()
    if proto in ("tcp", "tls", "https", "mongo", "mysql", "redis"):
        return "tcp"
    return proto if proto in HTTP_PROTOCOLS else "http"


def _weights(destinations: list[dict[str, Any]], host: str) -> dict[str, float]:
    if len(destinations) > 1:
        assert all("weight" in d for d in destinations), "several destinations without weights"
    total = sum(d.get("weight", 100) for d in destinations) if len(destinations) > 1 else 100
    out: dict[str, float] = {}
    for d in destinations:
        dest = d["destination"]
        key = dest.get("subset") or WHOLE
        if dest["host"] != host:
            key = dest["host"] + ("/" + dest["subset"] if dest.get("subset") else "")
        share = 100.0 if len(destinations) == 1 else (100.0 * d["weight"] / total if total else 0.0)
        out[key] = out.get(key, 0.0) + share
    return out


def _http_match(
    m: Mapping[str, Any], method: str, path: str, headers: Mapping[str, str], params: Mapping[str, str], port: int
) -> bool:
    for key in ("sourceLabels", "sourceNamespace", "gateways", "authority", "scheme"):
        if key in m:
            raise NotModelled(f"HTTPMatchRequest {key}")
    if "uri" in m and not _string_match(m["uri"], path, m.get("ignoreUriCase", False)):
        return False
    if "method" in m and not _string_match(m["method"], method):
        return False
    if "port" in m and m["port"] != port:
        return False
    for name, spec in (m.get("headers") or {}).items():
        if not _string_match(spec, headers.get(name)):
            return False
    for name, spec in (m.get("withoutHeaders") or {}).items():
        if _string_match(spec, headers.get(name)):
            return False
    for name, spec in (m.get("queryParams") or {}).items():
        if not _string_match(spec, params.get(name)):
            return False
    return True


# --- AuthorizationPolicy rules --------------------------------------------------------------------

_HTTP_ONLY = {
    "methods",
    "notMethods",
    "paths",
    "notPaths",
    "hosts",
    "notHosts",
    "requestPrincipals",
    "notRequestPrincipals",
}
_UNMODELLED = {"ipBlocks", "notIpBlocks", "remoteIpBlocks", "notRemoteIpBlocks", "hosts", "notHosts", "trustDomains"}


def _values(field_name: str, values: list[str], req: _Request) -> bool:
    """Whether one Source/Operation field (positive form) matches the request."""
    if field_name == "principals":
        return any(glob(v, req.principal) for v in values)
    if field_name == "namespaces":
        return any(glob(v, principal_namespace(req.principal)) for v in values)
    if field_name == "serviceAccounts":  # <ns>/<sa> (1.25+); a bare <sa> means the policy's namespace
        if any("/" not in v for v in values):
            raise NotModelled("serviceAccounts without namespace")
        return req.principal is not None and any(
            req.principal.endswith(f"/ns/{v.replace('/', '/sa/')}") for v in values
        )
    if field_name == "requestPrincipals":
        return any(glob(v, req.request_principal) for v in values)
    if field_name == "ports":
        return str(req.port) in values
    if field_name == "methods":
        return req.method in values
    if field_name == "paths":
        return any(glob(v, req.path) for v in values)
    raise NotModelled(field_name)


def _part_matches(part: Mapping[str, list[str]], req: _Request, tcp: bool, deny: bool) -> bool | None:
    """A source or an operation: all fields must match. None: an ALLOW rule made invalid by TCP [TCP]."""
    for name, values in part.items():
        if name in _UNMODELLED:
            raise NotModelled(name)
        if tcp and name in _HTTP_ONLY:
            if deny:
                continue  # treated as a match
            return None
        positive = name[3].lower() + name[4:] if name.startswith("not") else name
        hit = _values(positive, values, req)
        if hit == name.startswith("not"):
            return False
    return True


def _condition(cond: Mapping[str, Any], req: _Request, tcp: bool, deny: bool) -> bool | None:
    key = cond["key"]
    if key.startswith("request."):
        if tcp:
            return True if deny else None
        if key.startswith("request.auth.claims[") and key.endswith("]"):
            have = req.claims.get(key[len("request.auth.claims[") : -1], ())
        elif key.startswith("request.headers[") and key.endswith("]"):
            header = req.headers.get(key[len("request.headers[") : -1].lower())
            have = () if header is None else (header,)
        elif key == "request.auth.principal":
            have = () if req.request_principal is None else (req.request_principal,)
        else:
            raise NotModelled(key)
    elif key == "source.principal":
        have = () if req.principal is None else (req.principal,)
    elif key == "source.namespace":
        ns = principal_namespace(req.principal)
        have = () if ns is None else (ns,)
    elif key == "destination.port":
        have = (str(req.port),)
    else:
        raise NotModelled(key)
    if "values" in cond and not any(glob(v, h) for v in cond["values"] for h in have):
        return False
    return not ("notValues" in cond and any(glob(v, h) for v in cond["notValues"] for h in have))


def _rule_matches(rule: Mapping[str, Any], req: _Request, tcp: bool, deny: bool) -> bool:
    """[AP]: one source, one operation and every condition; an invalid ALLOW rule on TCP never matches [TCP]."""
    for key in rule:
        if key not in ("from", "to", "when"):
            raise NotModelled(f"rule field {key}")
    checks = []
    for key, inner in (("from", "source"), ("to", "operation")):
        if key in rule:
            results = [_part_matches(entry.get(inner) or {}, req, tcp, deny) for entry in rule[key]]
            if None in results:
                return False
            checks.append(any(results))
    for cond in rule.get("when", []):
        result = _condition(cond, req, tcp, deny)
        if result is None:
            return False
        checks.append(result)
    return all(checks)

"""Python twins of the Gateway API's parentRefs rules, to confirm that they hold without cel-python.

Every HTTPRoute and GRPCRoute carries two ``x-kubernetes-validations`` rules on
``spec.parentRefs`` (Gateway API CRDs, ``httproutes``/``grpcroutes.gateway.networking.k8s.io``,
standard channel; bundled in ``meshgen/kube/crds``): "sectionName must be specified when
parentRefs includes 2 or more references to the same parent" and "sectionName must be unique
when parentRefs includes 2 or more references to the same parent". Their values differ per route
(the parent is the route's own Service), so the verdict cache never hits, and cel-python's
nested comprehensions were 2.3 s of ``meshgen validate`` on a 1,000-service Linkerd mesh. Each
HTTPRoute rule (``spec.rules[]``) also carries two rules on backendRef filters with
``ReplacePrefixMatch`` ("exactly one PathPrefix match must be specified"), true whenever no
backendRef has filters; they read the rule's backendRefs, unique per route too. Istio's selectors
forbid empty keys and ``*`` in label keys and values: three tiny rules, each a cel-python run
per policy since every service's labels differ.

:func:`holds` answers only ``True`` (the rule holds: no CEL needed) or ``None`` (evaluate it with
CEL as before). It never answers ``False``: a failing or unusual value (a missing or non-string
field, a ``null``) goes to cel-python, which words the failure exactly as before. So a rule is
never skipped: it is either proved to hold here or evaluated by CEL. ``tests/test_native_rules.py``
compares both on every small parentRefs list over a set of names, namespaces and section names.

The Gateway API rules that every platform's routes and gateways carry have twins too (see
:data:`GATEWAY_API_RULES`): HTTPRoute's ten path-match rules, its match-count, backendRef, filter
and path-type rules, and the Gateway's listener and TLS rules. With them a mesh whose routes and
gateways are plainly valid needs no CEL at all: cel-python and its Lark parser (about 0.3 s of CPU
to import, build and compile) are never loaded. Each twin cites its rule verbatim; the tests
compare each twin with cel-python on generated values, passing and failing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
import re
from typing import Any

import re2

from meshgen.kube.durations import parse_go_duration

__all__ = ["RULES", "holds"]

#: The rule texts, verbatim from the upstream CRDs (also the same text in v1beta1 HTTPRoute).
SECTION_NAME_SPECIFIED = (
    "self.all(p1, self.all(p2, p1.group == p2.group && p1.kind == p2.kind && p1.name == p2.name && "
    "(((!has(p1.__namespace__) || p1.__namespace__ == '') && (!has(p2.__namespace__) || p2.__namespace__ == '')) "
    "|| (has(p1.__namespace__) && has(p2.__namespace__) && p1.__namespace__ == p2.__namespace__ )) ? "
    "((!has(p1.sectionName) || p1.sectionName == '') == (!has(p2.sectionName) || p2.sectionName == '')) : true))"
)
SECTION_NAME_UNIQUE = (
    "self.all(p1, self.exists_one(p2, p1.group == p2.group && p1.kind == p2.kind && p1.name == p2.name && "
    "(((!has(p1.__namespace__) || p1.__namespace__ == '') && (!has(p2.__namespace__) || p2.__namespace__ == '')) "
    "|| (has(p1.__namespace__) && has(p2.__namespace__) && p1.__namespace__ == p2.__namespace__ )) && "
    "(((!has(p1.sectionName) || p1.sectionName == '') && (!has(p2.sectionName) || p2.sectionName == '')) "
    "|| (has(p1.sectionName) && has(p2.sectionName) && p1.sectionName == p2.sectionName))))"
)

#: On each HTTPRoute rule (``spec.rules[]``): a redirect or rewrite with ``ReplacePrefixMatch`` in
#: a backendRef's filters needs exactly one PathPrefix match.
REDIRECT_PREFIX_MATCH = (
    "(has(self.backendRefs) && self.backendRefs.exists_one(b, (has(b.filters) && b.filters.exists_one(f, "
    "has(f.requestRedirect) && has(f.requestRedirect.path) && f.requestRedirect.path.type == 'ReplacePrefixMatch' "
    "&& has(f.requestRedirect.path.replacePrefixMatch))) )) ? ((size(self.matches) != 1 || "
    "!has(self.matches[0].path) || self.matches[0].path.type != 'PathPrefix') ? false : true) : true"
)
REWRITE_PREFIX_MATCH = REDIRECT_PREFIX_MATCH.replace("requestRedirect", "urlRewrite")

_Ref = tuple[tuple[str, str, str, str], str]  # (group, kind, name, namespace or ''), sectionName or ''


def _refs(value: Any) -> list[_Ref] | None:
    """Each parentRef as (parent, section), absent namespace/sectionName as ''; None when any
    entry is not a plain object of strings (CEL's errors and null comparisons are left to CEL)."""
    if not isinstance(value, list):
        return None
    out = []
    for ref in value:
        if not isinstance(ref, dict):
            return None
        group, kind, name = ref.get("group"), ref.get("kind"), ref.get("name")
        namespace, section = ref.get("namespace", ""), ref.get("sectionName", "")
        if not all(isinstance(v, str) for v in (group, kind, name, namespace, section)):
            return None
        out.append(((group, kind, name, namespace), section))
    return out


def _specified(value: Any, schema: Mapping[str, Any]) -> bool | None:
    # Any two refs to one parent: both with an empty sectionName or both with a non-empty one.
    refs = _refs(value) if _plain_ref_fields(schema) else None
    if refs is None:
        return None
    empty_by_parent: dict[tuple[str, str, str, str], bool] = {}
    for parent, section in refs:
        if empty_by_parent.setdefault(parent, section == "") != (section == ""):
            return None
    return True


def _unique(value: Any, schema: Mapping[str, Any]) -> bool | None:
    # Each ref matches exactly one (itself): no two refs share parent and sectionName.
    refs = _refs(value) if _plain_ref_fields(schema) else None
    if refs is None:
        return None
    return True if len(set(refs)) == len(refs) else None


def _no_backend_filters(value: Any, schema: Mapping[str, Any]) -> bool | None:
    # "(has(self.backendRefs) && self.backendRefs.exists_one(b, has(b.filters) && ...)) ? ... : true":
    # with no backendRef carrying filters, exists_one counts no match and the rule is true.
    if not isinstance(value, dict):
        return None
    refs = value.get("backendRefs", [])
    if isinstance(refs, list) and all(isinstance(ref, dict) and "filters" not in ref for ref in refs):
        return True
    return None


#: Istio's label selectors (``matchLabels``/``labels`` of selector and workloadSelector, on the map
#: and on each value): no empty key, no ``*`` in keys or values. The values are per service.
LABEL_KEYS_NO_WILDCARD = 'self.all(key, !key.contains("*"))'
LABEL_KEYS_NOT_EMPTY = "self.all(key, key.size() != 0)"
LABEL_VALUE_NO_WILDCARD = '!self.contains("*")'


def _label_keys(value: Any, schema: Mapping[str, Any], ok: Callable[[str], bool]) -> bool | None:
    # A CEL map iterates its keys; the twin speaks only for a plain map of string keys.
    if isinstance(value, dict) and schema.get("type") == "object" and all(isinstance(k, str) and ok(k) for k in value):
        return True
    return None


def _label_value(value: Any, schema: Mapping[str, Any]) -> bool | None:
    if isinstance(value, str) and schema.get("type") == "string" and "format" not in schema and "*" not in value:
        return True
    return None


# --- Gateway API (standard channel, bundled in meshgen/kube/crds): HTTPRoute and Gateway rules.
# Each twin answers True only for plain values (declared, unformatted string fields, lists of
# objects), where CEL's view of ``self`` is the value itself; anything else goes to CEL.


def _declared(schema: Mapping[str, Any], *names: str) -> dict[str, Any] | None:
    """The node's properties when every name is declared there (a string one without a format,
    so that CEL sees the field exactly as it is); else None. Remembered per schema node: twins run
    once per rule and object node, tens of thousands of times on one schema."""
    key = (id(schema), names)
    found = _DECLARED.get(key, _UNKNOWN)
    if found is _UNKNOWN:
        found = _DECLARED[key] = _declared_now(schema, names)
        _DECLARED_NODES.append(schema)  # held so that its id is not reused
    return found  # type: ignore[return-value]


_UNKNOWN = object()
_DECLARED: dict[tuple[int, tuple[str, ...]], Any] = {}
_DECLARED_NODES: list[Any] = []


def _declared_now(schema: Any, names: tuple[str, ...]) -> dict[str, Any] | None:
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    if not isinstance(properties, Mapping):
        return None
    for name in names:
        prop = properties.get(name)
        if not isinstance(prop, Mapping) or "format" in prop and prop.get("type") == "string":
            return None
    return properties  # type: ignore[return-value]


def _items_declared(schema: Mapping[str, Any], *names: str) -> dict[str, Any] | None:
    items = schema.get("items") if isinstance(schema, Mapping) else None
    return _declared(items, *names) if isinstance(items, Mapping) else None


def _path_rule(check: Callable[[str], bool]) -> Callable[[Any, Mapping[str, Any]], bool | None]:
    """``(self.type in ['Exact','PathPrefix']) ? <check self.value> : true`` on HTTPPathMatch."""

    def twin(value: Any, schema: Mapping[str, Any]) -> bool | None:
        if not isinstance(value, dict) or _declared(schema, "type", "value") is None:
            return None
        kind = value.get("type")
        if type(kind) is not str:
            return None  # missing: CEL's no such key
        if kind not in ("Exact", "PathPrefix"):
            return True
        path = value.get("value")
        return True if type(path) is str and check(path) else None

    return twin


#: HTTPRoute ``spec.rules[].matches[].path`` (HTTPPathMatch): the ten path rules, verbatim.
_PATH_CHARACTERS = r"""^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$"""
PATH_RULES: dict[str, Callable[[str], bool]] = {
    "(self.type in ['Exact','PathPrefix']) ? self.value.startsWith('/') : true": lambda v: v.startswith("/"),
    "(self.type in ['Exact','PathPrefix']) ? !self.value.contains('//') : true": lambda v: "//" not in v,
    "(self.type in ['Exact','PathPrefix']) ? !self.value.contains('/./') : true": lambda v: "/./" not in v,
    "(self.type in ['Exact','PathPrefix']) ? !self.value.contains('/../') : true": lambda v: "/../" not in v,
    "(self.type in ['Exact','PathPrefix']) ? !self.value.contains('%2f') : true": lambda v: "%2f" not in v,
    "(self.type in ['Exact','PathPrefix']) ? !self.value.contains('%2F') : true": lambda v: "%2F" not in v,
    "(self.type in ['Exact','PathPrefix']) ? !self.value.contains('#') : true": lambda v: "#" not in v,
    "(self.type in ['Exact','PathPrefix']) ? !self.value.endsWith('/..') : true": lambda v: not v.endswith("/.."),
    "(self.type in ['Exact','PathPrefix']) ? !self.value.endsWith('/.') : true": lambda v: not v.endswith("/."),
    # CEL's matches() is RE2's search (cel-python: re2.search), as here.
    "(self.type in ['Exact','PathPrefix']) ? self.value.matches(r\"\"\"" + _PATH_CHARACTERS + "\"\"\") : true":
        lambda v: _PATH_CHARACTERS_RE.search(v) is not None,
}
_PATH_CHARACTERS_RE = re2.compile(_PATH_CHARACTERS)
PATH_TYPE = "self.type in ['Exact','PathPrefix'] || self.type == 'RegularExpression'"


def _path_type(value: Any, schema: Mapping[str, Any]) -> bool | None:
    if isinstance(value, dict) and _declared(schema, "type") is not None \
            and value.get("type") in ("Exact", "PathPrefix", "RegularExpression") and type(value["type"]) is str:
        return True
    return None


#: HTTPRoute ``spec.rules``: at most 128 matches over the first 16 rules.
MATCH_COUNT = " + ".join(f"(self.size() > {i} ? self[{i}].matches.size() : 0)" for i in range(16)) + " <= 128"


def _match_count(value: Any, schema: Mapping[str, Any]) -> bool | None:
    if not isinstance(value, list) or _items_declared(schema, "matches") is None:
        return None
    total = 0
    for rule in value[:16]:
        matches = rule.get("matches") if isinstance(rule, dict) else None
        if type(matches) is not list:
            return None  # missing: CEL's no such key
        total += len(matches)
    return True if total <= 128 else None


#: On a backendRef (HTTPRoute, GRPCRoute, TCP/TLS/UDPRoute, mirrors): a Service needs a port.
BACKEND_PORT = "(size(self.group) == 0 && self.kind == 'Service') ? has(self.port) : true"


def _backend_port(value: Any, schema: Mapping[str, Any]) -> bool | None:
    if not isinstance(value, dict) or _declared(schema, "group", "kind", "port") is None:
        return None
    group, kind = value.get("group"), value.get("kind")
    if type(group) is not str or type(kind) is not str:
        return None
    if group == "" and kind == "Service":
        return True if type(value.get("port")) is int else None
    return True


#: HTTPRoute ``spec.rules[]``: with backendRefs, no requestRedirect filter on the rule.
NO_REDIRECT_WITH_BACKENDS = ("(has(self.backendRefs) && size(self.backendRefs) > 0) ? "
                             "(!has(self.filters) || self.filters.all(f, !has(f.requestRedirect))): true")


def _filters_without(value: Any, key: str) -> bool:
    """No ``filters``, or a list of objects none of which has ``key``."""
    if "filters" not in value:
        return True
    filters = value["filters"]
    return type(filters) is list and all(type(f) is dict and key not in f for f in filters)


def _no_redirect_with_backends(value: Any, schema: Mapping[str, Any]) -> bool | None:
    if not isinstance(value, dict) or _declared(schema, "backendRefs", "filters") is None:
        return None
    refs = value.get("backendRefs", [])
    if type(refs) is not list:
        return None
    return True if not refs or _filters_without(value, "requestRedirect") else None


#: HTTPRoute ``spec.rules[]``: a rule-level ReplacePrefixMatch redirect or rewrite needs exactly
#: one PathPrefix match.
RULE_REDIRECT_PREFIX_MATCH = (
    "(has(self.filters) && self.filters.exists_one(f, has(f.requestRedirect) && has(f.requestRedirect.path) && "
    "f.requestRedirect.path.type == 'ReplacePrefixMatch' && has(f.requestRedirect.path.replacePrefixMatch))) ? "
    "((size(self.matches) != 1 || !has(self.matches[0].path) || self.matches[0].path.type != 'PathPrefix') ? "
    "false : true) : true"
)
RULE_REWRITE_PREFIX_MATCH = RULE_REDIRECT_PREFIX_MATCH.replace("requestRedirect", "urlRewrite")


def _rule_filters_without(key: str) -> Callable[[Any, Mapping[str, Any]], bool | None]:
    # No filter with `key`: exists_one counts no match, and the rule is true.
    def twin(value: Any, schema: Mapping[str, Any]) -> bool | None:
        if isinstance(value, dict) and _declared(schema, "filters") is not None and _filters_without(value, key):
            return True
        return None

    return twin


#: Gateway (and ListenerSet) ``spec.listeners``.
LISTENER_NO_TLS = "self.all(l, l.protocol in ['HTTP', 'TCP', 'UDP'] ? !has(l.tls) : true)"
LISTENER_HTTPS_MODE = ("self.all(l, (l.protocol == 'HTTPS' && has(l.tls)) ? "
                       "(l.tls.mode == '' || l.tls.mode == 'Terminate') : true)")
LISTENER_TLS_MODE = "self.all(l, (l.protocol == 'TLS' ? has(l.tls) && has(l.tls.mode) && l.tls.mode != '' : true))"
LISTENER_NO_HOSTNAME = "self.all(l, l.protocol in ['TCP', 'UDP']  ? (!has(l.hostname) || l.hostname == '') : true)"
LISTENER_NAMES_UNIQUE = "self.all(l1, self.exists_one(l2, l1.name == l2.name))"
LISTENER_PORTS_UNIQUE = (
    "self.all(l1, self.exists_one(l2, l1.port == l2.port && l1.protocol == l2.protocol && "
    "(has(l1.hostname) && has(l2.hostname) ? l1.hostname == l2.hostname : !has(l1.hostname) && !has(l2.hostname))))"
)
_LISTENER_FIELDS = ("name", "port", "protocol", "hostname", "tls")


def _listeners(value: Any, schema: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The listeners when each is an object with a string name and protocol, an integer port, a
    string hostname if any and an object tls if any; else None."""
    properties = _items_declared(schema, *_LISTENER_FIELDS)
    if type(value) is not list or properties is None or _declared(properties["tls"], "mode") is None:
        return None
    for listener in value:
        if type(listener) is not dict or type(listener.get("name")) is not str \
                or type(listener.get("protocol")) is not str or type(listener.get("port")) is not int:
            return None
        if "hostname" in listener and type(listener["hostname"]) is not str:
            return None
        if "tls" in listener and type(listener["tls"]) is not dict:
            return None
    return value


def _tls_mode(listener: dict[str, Any]) -> str | None:
    mode = listener["tls"].get("mode")
    return mode if type(mode) is str else None


def _listener_rule(ok: Callable[[dict[str, Any]], bool]) -> Callable[[Any, Mapping[str, Any]], bool | None]:
    def twin(value: Any, schema: Mapping[str, Any]) -> bool | None:
        listeners = _listeners(value, schema)
        return True if listeners is not None and all(ok(listener) for listener in listeners) else None

    return twin


def _unique_listeners(key: Callable[[dict[str, Any]], Any]) -> Callable[[Any, Mapping[str, Any]], bool | None]:
    # self.all(l1, self.exists_one(l2, same(l1, l2))): each listener matches itself only.
    def twin(value: Any, schema: Mapping[str, Any]) -> bool | None:
        listeners = _listeners(value, schema)
        if listeners is None:
            return None
        keys = [key(listener) for listener in listeners]
        return True if len(set(keys)) == len(keys) else None

    return twin


#: Gateway ``spec.listeners[].tls`` (GatewayTLSConfig).
TLS_TERMINATE_CERTIFICATES = ("self.mode == 'Terminate' ? size(self.certificateRefs) > 0 || "
                              "size(self.options) > 0 : true")


def _tls_certificates(value: Any, schema: Mapping[str, Any]) -> bool | None:
    if not isinstance(value, dict) or _declared(schema, "mode", "certificateRefs", "options") is None:
        return None
    mode = value.get("mode")
    if type(mode) is not str:
        return None
    if mode != "Terminate":
        return True
    refs, options = value.get("certificateRefs"), value.get("options")
    if (type(refs) is list and refs) or (type(options) is dict and options):
        return True  # CEL's || is true when either side is, whatever the other
    return None


#: HTTPRoute ``spec.rules[].timeouts``: backendRequest no longer than a non-zero request timeout.
TIMEOUTS = ("!(has(self.request) && has(self.backendRequest) && duration(self.request) != duration('0s') && "
            "duration(self.backendRequest) > duration(self.request))")
# Gateway API's Duration pattern (HTTPRouteTimeouts): the only strings the twin parses itself.
_GATEWAY_DURATION = re.compile(r"([0-9]{1,5}(h|m|s|ms)){1,4}")


def _timeouts(value: Any, schema: Mapping[str, Any]) -> bool | None:
    if not isinstance(value, dict) or _declared(schema, "request", "backendRequest") is None:
        return None
    if "request" not in value or "backendRequest" not in value:
        return True  # has(...) && ... is false
    request, backend = value["request"], value["backendRequest"]
    if type(request) is not str or type(backend) is not str or not _GATEWAY_DURATION.fullmatch(request) \
            or not _GATEWAY_DURATION.fullmatch(backend):
        return None
    # duration() in meshgen.kube.cel is Go's time.ParseDuration, as here.
    request_ns, backend_ns = parse_go_duration(request), parse_go_duration(backend)
    return True if request_ns == 0 or backend_ns <= request_ns else None


#: GRPCRoute ``spec.rules``: at most 128 matches over the first 16 rules (a rule may have none).
GRPC_MATCH_COUNT = " + ".join(
    f"(self.size() > {i} ? (has(self[{i}].matches) ? self[{i}].matches.size() : 0) : 0)" for i in range(16)
) + " <= 128"


def _grpc_match_count(value: Any, schema: Mapping[str, Any]) -> bool | None:
    if not isinstance(value, list) or _items_declared(schema, "matches") is None:
        return None
    total = 0
    for rule in value[:16]:
        if type(rule) is not dict:
            return None
        matches = rule.get("matches", [])
        if type(matches) is not list:
            return None
        total += len(matches)
    return True if total <= 128 else None


#: GRPCRoute ``spec.rules[].matches[].method`` (GRPCMethodMatch): Exact names are identifiers.
_GRPC_METHOD = r"""^[A-Za-z_][A-Za-z_0-9]*$"""
_GRPC_SERVICE = r"""^(?i)\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$"""
GRPC_METHOD_NAME = ("(!has(self.type) || self.type == 'Exact') && has(self.method) ? "
                    'self.method.matches(r"""' + _GRPC_METHOD + '"""): true')
GRPC_SERVICE_NAME = ("(!has(self.type) || self.type == 'Exact') && has(self.service) ? "
                     'self.service.matches(r"""' + _GRPC_SERVICE + '"""): true')
GRPC_TYPE_NEEDS_NAME = "has(self.type) ? has(self.service) || has(self.method) : true"


def _grpc_method_fields(value: Any, schema: Mapping[str, Any]) -> bool:
    # A plain GRPCMethodMatch: declared, unformatted fields, each a string where present.
    return isinstance(value, dict) and _declared(schema, "type", "method", "service") is not None and all(
        type(value[k]) is str for k in ("type", "method", "service") if k in value)


def _grpc_name(field: str, pattern: str) -> Callable[[Any, Mapping[str, Any]], bool | None]:
    compiled = re2.compile(pattern)

    def twin(value: Any, schema: Mapping[str, Any]) -> bool | None:
        if not _grpc_method_fields(value, schema):
            return None
        if value.get("type", "Exact") != "Exact" or field not in value:
            return True
        return True if compiled.search(value[field]) is not None else None

    return twin


def _grpc_type_needs_name(value: Any, schema: Mapping[str, Any]) -> bool | None:
    if not _grpc_method_fields(value, schema):
        return None
    return True if "type" not in value or "service" in value or "method" in value else None


#: TLSRoute ``spec.hostnames``: no IP, a DNS name, or a ``*.`` wildcard before one.
_HOSTNAME = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$"
_HOSTNAME_RE = re2.compile(_HOSTNAME)
HOSTNAME_NOT_IP = "self.all(h, !isIP(h))"
HOSTNAME_DNS = "self.all(h, !h.contains('*') ? h.matches('" + _HOSTNAME.replace("\\", "\\\\") + "') : true)"
HOSTNAME_WILDCARD = ("self.all(h, h.contains('*') ? (h.startsWith('*.') && h.substring(2).matches('"
                     + _HOSTNAME.replace("\\", "\\\\") + "')) : true)")


def _hostnames(ok: Callable[[str], bool]) -> Callable[[Any, Mapping[str, Any]], bool | None]:
    def twin(value: Any, schema: Mapping[str, Any]) -> bool | None:
        items = schema.get("items") if isinstance(schema, Mapping) else None
        if type(value) is not list or not isinstance(items, Mapping) or items.get("type") != "string" \
                or "format" in items:
            return None
        return True if all(type(h) is str and ok(h) for h in value) else None

    return twin


def _not_ip(host: str) -> bool:
    # An IPv4 address is digits and dots, an IPv6 one has a colon: a name with a letter and no
    # colon is neither (Kubernetes' isIP is Go's netip.ParseAddr).
    return ":" not in host and any(c.isalpha() for c in host)


#: Rule text -> twin of the Gateway API rules above.
GATEWAY_API_RULES: dict[str, Callable[[Any, Mapping[str, Any]], bool | None]] = {
    **{text: _path_rule(check) for text, check in PATH_RULES.items()},
    PATH_TYPE: _path_type,
    MATCH_COUNT: _match_count,
    BACKEND_PORT: _backend_port,
    NO_REDIRECT_WITH_BACKENDS: _no_redirect_with_backends,
    RULE_REDIRECT_PREFIX_MATCH: _rule_filters_without("requestRedirect"),
    RULE_REWRITE_PREFIX_MATCH: _rule_filters_without("urlRewrite"),
    LISTENER_NO_TLS: _listener_rule(lambda l: l["protocol"] not in ("HTTP", "TCP", "UDP") or "tls" not in l),
    LISTENER_HTTPS_MODE: _listener_rule(lambda l: not (l["protocol"] == "HTTPS" and "tls" in l)
                                        or _tls_mode(l) in ("", "Terminate")),
    LISTENER_TLS_MODE: _listener_rule(lambda l: l["protocol"] != "TLS" or ("tls" in l and _tls_mode(l) not in (None, ""))),
    LISTENER_NO_HOSTNAME: _listener_rule(lambda l: l["protocol"] not in ("TCP", "UDP") or l.get("hostname", "") == ""),
    LISTENER_NAMES_UNIQUE: _unique_listeners(lambda l: l["name"]),
    LISTENER_PORTS_UNIQUE: _unique_listeners(lambda l: (l["port"], l["protocol"], "hostname" in l, l.get("hostname"))),
    TLS_TERMINATE_CERTIFICATES: _tls_certificates,
    TIMEOUTS: _timeouts,
    GRPC_MATCH_COUNT: _grpc_match_count,
    GRPC_METHOD_NAME: _grpc_name("method", _GRPC_METHOD),
    GRPC_SERVICE_NAME: _grpc_name("service", _GRPC_SERVICE),
    GRPC_TYPE_NEEDS_NAME: _grpc_type_needs_name,
    HOSTNAME_NOT_IP: _hostnames(_not_ip),
    HOSTNAME_DNS: _hostnames(lambda h: "*" in h or _HOSTNAME_RE.search(h) is not None),
    HOSTNAME_WILDCARD: _hostnames(lambda h: "*" not in h or (h.startswith("*.")
                                                              and _HOSTNAME_RE.search(h[2:]) is not None)),
}


# --- Istio (bundled istio.io CRDs: ServiceEntry, AuthorizationPolicy, PeerAuthentication, EnvoyFilter,
# DestinationRule, VirtualService ...): the rules a rendered Istio or ambient mesh reaches.


def _fields_plain(value: Any, schema: Mapping[str, Any], *names: str) -> bool:
    """``value`` is an object whose ``names`` are declared (unformatted strings) and, where present,
    not null (a null field's has() and comparisons are CEL's to judge)."""
    return isinstance(value, dict) and _declared(schema, *names) is not None and all(
        value[name] is not None for name in names if name in value)


def _at_most_one(*names: str) -> Callable[[Any, Mapping[str, Any]], bool | None]:
    # (has(self.a) ? 1 : 0) + (has(self.b) ? 1 : 0) ... <= 1
    def twin(value: Any, schema: Mapping[str, Any]) -> bool | None:
        if not _fields_plain(value, schema, *names):
            return None
        return True if sum(name in value for name in names) <= 1 else None

    return twin


ONE_OF_SELECTOR_TARGETS = "(has(self.selector) ? 1 : 0) + (has(self.targetRef) ? 1 : 0) + (has(self.targetRefs) ? 1 : 0) <= 1"
ONE_OF_WORKLOAD_SELECTOR_ENDPOINTS = "(has(self.workloadSelector) ? 1 : 0) + (has(self.endpoints) ? 1 : 0) <= 1"
ONE_OF_WORKLOAD_SELECTOR_TARGETS = "(has(self.workloadSelector) ? 1 : 0) + (has(self.targetRefs) ? 1 : 0) <= 1"

#: ServiceEntry ``spec``: CIDR addresses need resolution NONE or STATIC; DNS_ROUND_ROBIN takes at
#: most one endpoint; resolution NONE takes none.
SE_CIDR_RESOLUTION = ('!((has(self.addresses) ? self.addresses : []).exists(k, k.contains("/")) && '
                      '!((has(self.resolution) ? self.resolution : "NONE") in ["STATIC", "NONE"]))')
SE_ROUND_ROBIN_ENDPOINTS = ('((has(self.resolution) ? self.resolution : "") == "DNS_ROUND_ROBIN") ? '
                            '((has(self.endpoints) ? self.endpoints : []).size() <= 1) : true')
SE_NONE_NO_ENDPOINTS = '((has(self.resolution) ? self.resolution : "NONE") == "NONE") ? !has(self.endpoints) : true'


def _se_cidr_resolution(value: Any, schema: Mapping[str, Any]) -> bool | None:
    if not _fields_plain(value, schema, "addresses", "resolution"):
        return None
    addresses, resolution = value.get("addresses", []), value.get("resolution", "NONE")
    if type(addresses) is not list or not all(type(a) is str for a in addresses) or type(resolution) is not str:
        return None
    return True if resolution in ("STATIC", "NONE") or not any("/" in a for a in addresses) else None


def _se_round_robin(value: Any, schema: Mapping[str, Any]) -> bool | None:
    if not _fields_plain(value, schema, "resolution", "endpoints") or type(value.get("resolution", "")) is not str:
        return None
    if value.get("resolution", "") != "DNS_ROUND_ROBIN":
        return True
    endpoints = value.get("endpoints", [])
    return True if type(endpoints) is list and len(endpoints) <= 1 else None


def _se_none_no_endpoints(value: Any, schema: Mapping[str, Any]) -> bool | None:
    if not _fields_plain(value, schema, "resolution", "endpoints") or type(value.get("resolution", "")) is not str:
        return None
    return True if value.get("resolution", "NONE") != "NONE" or "endpoints" not in value else None


#: ServiceEntry ``spec.ports``: port numbers are unique.
SE_PORT_NUMBERS_UNIQUE = "self.all(l1, self.exists_one(l2, l1.number == l2.number))"


def _se_port_numbers(value: Any, schema: Mapping[str, Any]) -> bool | None:
    if type(value) is not list or _items_declared(schema, "number") is None:
        return None
    numbers = [port.get("number") if type(port) is dict else None for port in value]
    if not all(type(n) is int for n in numbers):
        return None
    return True if len(set(numbers)) == len(numbers) else None


#: AuthorizationPolicy ``spec.rules[].from[].source``: serviceAccounts exclude principals and namespaces.
SOURCE_SERVICE_ACCOUNTS = ("(has(self.serviceAccounts) || has(self.notServiceAccounts)) ? (!has(self.principals) &&\n"
                           "!has(self.notPrincipals) && !has(self.namespaces) && !has(self.notNamespaces)) : true")
_SOURCE_FIELDS = ("serviceAccounts", "notServiceAccounts", "principals", "notPrincipals", "namespaces", "notNamespaces")


def _source_service_accounts(value: Any, schema: Mapping[str, Any]) -> bool | None:
    if not _fields_plain(value, schema, *_SOURCE_FIELDS):
        return None
    if "serviceAccounts" not in value and "notServiceAccounts" not in value:
        return True
    return True if not any(name in value for name in _SOURCE_FIELDS[2:]) else None


#: PeerAuthentication ``spec``: portLevelMtls needs a non-empty selector.matchLabels.
PORT_LEVEL_MTLS_SELECTOR = ("has(self.portLevelMtls) ? (((has(self.selector) && has(self.selector.matchLabels)) ? "
                            "self.selector.matchLabels : {}).size() > 0) : true")


def _port_level_mtls(value: Any, schema: Mapping[str, Any]) -> bool | None:
    if not _fields_plain(value, schema, "portLevelMtls", "selector"):
        return None
    if "portLevelMtls" not in value:
        return True
    selector = value.get("selector")
    labels = selector.get("matchLabels") if type(selector) is dict else None
    selector_schema = schema["properties"]["selector"]
    return True if type(labels) is dict and labels and _declared(selector_schema, "matchLabels") is not None else None


#: EnvoyFilter ``spec.configPatches[].match``: waypoint exactly with context WAYPOINT.
ENVOY_FILTER_WAYPOINT = ('has(self.context) ? ((self.context == "WAYPOINT") ? has(self.waypoint) : '
                         '!has(self.waypoint)) : !has(self.waypoint)')


def _envoy_filter_waypoint(value: Any, schema: Mapping[str, Any]) -> bool | None:
    if not _fields_plain(value, schema, "context", "waypoint"):
        return None
    if "context" in value and type(value["context"]) is not str:
        return None
    return True if ("waypoint" in value) == (value.get("context") == "WAYPOINT") else None


#: Port numbers (ServiceEntry ports, WorkloadEntry ports, EnvoyFilter portNumber).
PORT_RANGE = "0 < self && self <= 65535"
#: Istio durations (DestinationRule, VirtualService, Sidecar, Telemetry, RequestAuthentication).
DURATION_AT_LEAST_1MS = "duration(self) >= duration('1ms')"
#: ServiceEntry ``spec.hosts[]``.
HOST_NOT_STAR = 'self != "*"'


def _port_range(value: Any, schema: Mapping[str, Any]) -> bool | None:
    return True if type(value) is int and schema.get("type") == "integer" and 0 < value <= 65535 else None


def _duration_at_least_1ms(value: Any, schema: Mapping[str, Any]) -> bool | None:
    if type(value) is not str or schema.get("type") != "string" or "format" in schema:
        return None
    try:
        nanoseconds = parse_go_duration(value)  # duration() in meshgen.kube.cel: Go's ParseDuration
    except ValueError:
        return None
    return True if 10**6 <= nanoseconds <= 10**18 else None


def _host_not_star(value: Any, schema: Mapping[str, Any]) -> bool | None:
    return True if type(value) is str and schema.get("type") == "string" and "format" not in schema \
        and value != "*" else None


#: Rule text -> twin of the Istio rules above.
ISTIO_RULES: dict[str, Callable[[Any, Mapping[str, Any]], bool | None]] = {
    ONE_OF_SELECTOR_TARGETS: _at_most_one("selector", "targetRef", "targetRefs"),
    ONE_OF_WORKLOAD_SELECTOR_ENDPOINTS: _at_most_one("workloadSelector", "endpoints"),
    ONE_OF_WORKLOAD_SELECTOR_TARGETS: _at_most_one("workloadSelector", "targetRefs"),
    SE_CIDR_RESOLUTION: _se_cidr_resolution,
    SE_ROUND_ROBIN_ENDPOINTS: _se_round_robin,
    SE_NONE_NO_ENDPOINTS: _se_none_no_endpoints,
    SE_PORT_NUMBERS_UNIQUE: _se_port_numbers,
    SOURCE_SERVICE_ACCOUNTS: _source_service_accounts,
    PORT_LEVEL_MTLS_SELECTOR: _port_level_mtls,
    ENVOY_FILTER_WAYPOINT: _envoy_filter_waypoint,
    PORT_RANGE: _port_range,
    DURATION_AT_LEAST_1MS: _duration_at_least_1ms,
    HOST_NOT_STAR: _host_not_star,
}


#: Rule text -> twin. Twins answer True (holds) or None (ask CEL), never False.
RULES: dict[str, Callable[[Any, Mapping[str, Any]], bool | None]] = {
    SECTION_NAME_SPECIFIED: _specified,
    SECTION_NAME_UNIQUE: _unique,
    REDIRECT_PREFIX_MATCH: _no_backend_filters,
    REWRITE_PREFIX_MATCH: _no_backend_filters,
    LABEL_KEYS_NO_WILDCARD: lambda value, schema: _label_keys(value, schema, lambda k: "*" not in k),
    LABEL_KEYS_NOT_EMPTY: lambda value, schema: _label_keys(value, schema, lambda k: k != ""),
    LABEL_VALUE_NO_WILDCARD: _label_value,
    **GATEWAY_API_RULES,
    **ISTIO_RULES,
}

_FIELDS = ("group", "kind", "name", "namespace", "sectionName")


def _plain_ref_fields(schema: Mapping[str, Any]) -> bool:
    # The twins compare plain strings; a CRD giving these fields a format (CEL would see a
    # duration or bytes) or leaving them out of the schema is left to CEL. Remembered per
    # schema node, as _declared is: both parentRefs rules ask it of every route.
    entry = _PLAIN_REF_FIELDS.get(id(schema))
    if entry is None:
        items = schema.get("items") if isinstance(schema.get("items"), Mapping) else {}
        properties = items.get("properties") or {}
        entry = _PLAIN_REF_FIELDS[id(schema)] = (schema, all(
            isinstance(properties.get(f), Mapping) and "format" not in properties[f] for f in _FIELDS))
    return entry[1]


# id(schema node) -> (the node, held so that its id is not reused; _plain_ref_fields' answer).
_PLAIN_REF_FIELDS: dict[int, tuple[Mapping[str, Any], bool]] = {}


def holds(rule: str, value: Any, schema: Mapping[str, Any]) -> bool:
    """Whether ``rule`` is known to hold for ``value`` (the JSON-like node the rule sees as
    ``self``, pruned and defaulted; ``schema`` its schema node) without evaluating CEL. False
    means "evaluate it with CEL", not that the rule fails."""
    twin = RULES.get(rule)
    return twin is not None and twin(value, schema) is True

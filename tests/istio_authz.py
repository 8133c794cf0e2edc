"""A small evaluator of Istio AuthorizationPolicy, for tests: does a request reach a workload?

Semantics from https://istio.io/latest/docs/concepts/security/#authorization-policies and the
security v1 reference: a policy applies to a workload when its ``selector.matchLabels`` is a
subset of the pod's labels (no selector: every workload of the namespace); any matching DENY rule
denies; then, when some ALLOW policy applies, the request must match one of their rules (a policy
without rules, such as allow-nothing, matches nothing); with no ALLOW policy it is allowed.
Only principals, namespaces, ports, methods and paths are modelled; a rule using any other field
(``when``, ``notPrincipals``, ...) never matches, so a test built on it cannot pass by accident.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Request:
    """A call: caller identity ``principal`` (``td/ns/NS/sa/SA``), then port, method and path."""

    principal: str
    port: int
    method: str
    path: str

    @property
    def namespace(self) -> str:
        return self.principal.split("/")[2]


def allowed(policies: list[dict], namespace: str, labels: dict[str, str], request: Request) -> bool:
    """Whether ``request`` reaches a pod with ``labels`` in ``namespace``."""
    applying = [p for p in policies if _applies(p, namespace, labels)]
    spec = lambda p: p.get("spec") or {}  # noqa: E731
    if any(_matches(rule, request) for p in applying if spec(p).get("action") == "DENY" for rule in spec(p).get("rules") or []):
        return False
    allows = [p for p in applying if spec(p).get("action", "ALLOW") == "ALLOW"]
    if not allows:
        return True
    return any(_matches(rule, request) for p in allows for rule in spec(p).get("rules") or [])


def _applies(policy: dict, namespace: str, labels: dict[str, str]) -> bool:
    if policy.get("kind") != "AuthorizationPolicy" or (policy["metadata"].get("namespace") or "default") != namespace:
        return False
    spec = policy.get("spec") or {}
    if spec.get("targetRefs"):
        return False
    wanted = (spec.get("selector") or {}).get("matchLabels") or {}
    return all(labels.get(k) == v for k, v in wanted.items())


def _matches(rule: dict, request: Request) -> bool:
    if set(rule) - {"from", "to"}:
        return False
    sources = [s.get("source") or {} for s in rule.get("from") or []]
    if sources and not any(_source(s, request) for s in sources):
        return False
    operations = [o.get("operation") or {} for o in rule.get("to") or []]
    return not operations or any(_operation(o, request) for o in operations)


def _source(source: dict, request: Request) -> bool:
    if set(source) - {"principals", "namespaces"}:
        return False
    if "principals" in source and not any(p in ("*", request.principal) for p in source["principals"]):
        return False
    return "namespaces" not in source or request.namespace in source["namespaces"]


def _operation(op: dict, request: Request) -> bool:
    if set(op) - {"ports", "methods", "paths"}:
        return False
    if "ports" in op and str(request.port) not in op["ports"]:
        return False
    if "methods" in op and request.method not in op["methods"]:
        return False
    return "paths" not in op or any(_path(p, request.path) for p in op["paths"])


def _path(pattern: str, path: str) -> bool:
    if pattern.endswith("*"):
        return path.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return path.endswith(pattern[1:])
    return pattern == path

"""Keep every Gateway API route object within its CRD limits by splitting it, precedence intact.

Limits (Gateway API v1.6.1 standard CRDs, ``httproutes``/``grpcroutes`` v1): ``spec.rules``
maxItems 16, ``spec.rules[].matches`` maxItems 64, and the CEL rule on ``spec.rules`` "the total
number of matches across all rules in a route must be less than 128" (``<= 128`` in the rule).
``tcproutes``/``tlsroutes`` v1 allow one rule.

Why a split keeps the routing (HTTPRoute ``spec.rules[].matches`` description): "Across all rules
specified on applicable Routes, precedence must be given to the match having: Exact path match;
Prefix path match with largest number of characters; Method match; Largest number of header
matches; Largest number of query param matches. [...] If ties still exist across multiple Routes,
matching precedence MUST be determined [by] the oldest Route based on creation timestamp [then]
{namespace}/{name}. If ties still exist within an HTTPRoute, [...] the FIRST matching rule (in
list order)." GRPCRoute orders by characters of the matching service, then method, then header
matches, with the same cross-route tie-breakers. So the order of rules only matters between
matches that tie; across objects a tie is decided by creation time, which meshgen cannot control.
The split therefore never separates two matches that could tie: matches are grouped by their
precedence key (:func:`precedence_key`), every rule carrying a key stays in one object with every
other rule carrying it, and each object keeps the intent's rule order. Two matches with different
keys either differ in precedence or cannot match the same request (two different exact paths, or
two different prefixes of equal length). RegularExpression paths all share one key: their
precedence is implementation-specific, so they are kept together in intent order.

A rule with more than 64 matches is first cut into consecutive rules with the same action (the
first matching rule wins within a route, and they are adjacent, so nothing changes).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from meshgen.errors import MeshgenError
from meshgen.platforms.base import PlannedObject, object_name

#: spec.rules maxItems per kind (HTTPRoute and GRPCRoute v1: 16; TCPRoute and TLSRoute v1: 1).
MAX_RULES = {"HTTPRoute": 16, "GRPCRoute": 16, "TCPRoute": 1, "TLSRoute": 1}
#: spec.rules[].matches maxItems (HTTPRoute, GRPCRoute).
MAX_MATCHES_PER_RULE = 64
#: The CEL rule on spec.rules: the sum of matches over all rules <= 128.
MAX_MATCHES_PER_ROUTE = 128


class RouteLimitError(MeshgenError):
    """A route object that cannot be split without changing its routing (exit 1, nothing written)."""


def precedence_key(kind: str, match: dict[str, Any]) -> tuple:
    """The Gateway API precedence class of one match: equal keys may tie, different keys never do.

    Args:
        kind: ``HTTPRoute`` or ``GRPCRoute``.
        match: one ``HTTPRouteMatch`` / ``GRPCRouteMatch`` as planned (``{}`` = match everything).

    Returns:
        HTTPRoute: ``(path, method?, #headers, #queryParams)`` where path is ``("Exact", value)``,
        ``("PathPrefix", value)`` (default ``/``) or ``("RegularExpression",)``. GRPCRoute:
        ``(method type, service, method, #headers)``, regex methods as one class.
    """
    if kind == "GRPCRoute":
        method = match.get("method") or {}
        if method.get("type") == "RegularExpression":
            return ("RegularExpression", len(match.get("headers", [])))
        return ("Exact", method.get("service", ""), method.get("method", ""), len(match.get("headers", [])))
    path = match.get("path") or {"type": "PathPrefix", "value": "/"}
    path_key = ("RegularExpression",) if path["type"] == "RegularExpression" else (path["type"], path["value"])
    return (path_key, "method" in match, len(match.get("headers", [])), len(match.get("queryParams", [])))


def split_route(obj: PlannedObject, taken: set[str]) -> list[PlannedObject]:
    """``obj`` unchanged when it is within limits, else several objects with the same routing.

    The first part keeps ``obj.name``; the others are ``<name>-part-<n>`` (n from 2), skipping
    names in ``taken`` (updated). Every part keeps the parentRefs, hostnames, labels and
    annotations.

    Raises:
        RouteLimitError: more rules than one object holds share a precedence key (they would be
            ordered by creation time across objects), or a TCPRoute/TLSRoute has several rules.
    """
    limit = MAX_RULES.get(obj.kind)
    if limit is None:
        return [obj]
    rules = _cut_long_rules(list(obj.values["rules"]))
    if len(rules) <= limit and sum(len(r.get("matches", [])) for r in rules) <= MAX_MATCHES_PER_ROUTE:
        return [obj] if rules == list(obj.values["rules"]) else [_with_rules(obj, obj.name, rules)]
    where = f"{obj.kind} {obj.namespace}/{obj.name}"
    if obj.kind in ("TCPRoute", "TLSRoute"):
        raise RouteLimitError(
            f"{where}: {len(rules)} routes share one {obj.kind} listener and hostnames; a {obj.kind} has one rule "
            "(Gateway API v1 spec.rules maxItems 1) and routes without matches cannot be ordered: give each route its own listener"
        )
    parts = []
    for group in _tie_groups(obj.kind, rules):
        size = (len(group), sum(len(rules[i].get("matches", [])) for i in group))
        if size[0] > limit or size[1] > MAX_MATCHES_PER_ROUTE:
            raise RouteLimitError(
                f"{where}: {size[0]} rules ({size[1]} matches) whose matches tie under Gateway API precedence "
                f"(same path, method and number of header/query matches); one {obj.kind} holds at most {limit} rules and "
                f"{MAX_MATCHES_PER_ROUTE} matches, and across objects ties are ordered by creation time, not intent order: "
                "make the matches differ (e.g. by path) or use fewer routes"
            )
        for part in parts:
            if len(part) + size[0] <= limit and sum(len(rules[i].get("matches", [])) for i in part) + size[1] <= MAX_MATCHES_PER_ROUTE:
                part.extend(group)
                break
        else:
            parts.append(list(group))
    out = []
    for n, part in enumerate(parts, start=1):
        name = obj.name
        if n > 1:
            name, k = object_name(obj.name, "part", str(n)), n
            while name in taken:
                k += 1
                name = object_name(obj.name, "part", str(k))
        taken.add(name)
        out.append(_with_rules(obj, name, [rules[i] for i in sorted(part)]))
    return out


def split_routes(objects: tuple[PlannedObject, ...]) -> list[PlannedObject]:
    """Every object of a plan, with over-limit routes split (see :func:`split_route`)."""
    taken: set[str] | None = None  # every object's name, built when the first route needs it
    out: list[PlannedObject] = []
    for obj in objects:
        if obj.kind in MAX_RULES:
            if taken is None:
                taken = {o.name for o in objects}
            out.extend(split_route(obj, taken))
        else:
            out.append(obj)
    return out


def _cut_long_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for rule in rules:
        matches = rule.get("matches", [])
        if len(matches) <= MAX_MATCHES_PER_RULE:
            out.append(rule)
            continue
        for start in range(0, len(matches), MAX_MATCHES_PER_RULE):
            out.append({**rule, "matches": matches[start : start + MAX_MATCHES_PER_RULE]})
    return out


def _tie_groups(kind: str, rules: list[dict[str, Any]]) -> list[list[int]]:
    """Rule indexes connected by a shared precedence key, in order of first rule."""
    parent = list(range(len(rules)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[tuple, int] = {}
    for i, rule in enumerate(rules):
        for match in rule.get("matches") or [{}]:
            key = precedence_key(kind, match)
            if key in owner:
                parent[find(i)] = find(owner[key])
            else:
                owner[key] = i
    groups: dict[int, list[int]] = {}
    for i in range(len(rules)):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])


def _with_rules(obj: PlannedObject, name: str, rules: list[dict[str, Any]]) -> PlannedObject:
    return dataclasses.replace(obj, name=name, values={**obj.values, "rules": rules})

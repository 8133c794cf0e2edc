"""Allow-lists that still cover a service's pods after Flagger splits them into primary and canary.

Flagger copies the target Deployment to ``<workload>-primary`` and gives the primary pods the
value ``<value>-primary`` for the first of its selector labels found in the Deployment's
``spec.selector.matchLabels``; every other label is kept, and the canary pods keep the original
labels (fluxcd/flagger ``pkg/canary/deployment_controller.go`` ``createPrimaryDeployment``,
``pkg/canary/util.go`` ``makePrimaryLabels``; the label list is the ``--selector-labels`` flag,
default ``app,name,app.kubernetes.io/name``, ``cmd/flagger/main.go``). Flagger also writes the
``<service>-primary`` and ``<service>-canary`` Services (``pkg/router/kubernetes_default.go``).

A policy that selects the service's pods by its selector would then select the canary pods only,
and with default deny the primary pods, which serve all traffic outside a rollout, would refuse
every caller. :func:`cover_primary` rewrites the service's own selector-based policies so they
select both pod sets and nothing more, and names every place it cannot rewrite (fail closed).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from meshgen.platforms.base import PlannedObject, object_name

#: Flagger's default ``--selector-labels``, in the order it tries them.
SELECTOR_LABELS: tuple[str, ...] = ("app", "name", "app.kubernetes.io/name")

#: Policy kinds whose ``selector`` / ``pod_selector`` value is a plain label map that only adds
#: permissions (or denials) to the pods it selects: a copy for the primary pods covers them
#: without touching anything else (Istio AuthorizationPolicy / RequestAuthentication /
#: PeerAuthentication / EnvoyFilter workload selectors take matchLabels only; Kubernetes
#: NetworkPolicy and CiliumNetworkPolicy are additive).
_COPIED_KINDS = frozenset(
    {"AuthorizationPolicy", "RequestAuthentication", "PeerAuthentication", "EnvoyFilter", "NetworkPolicy", "CiliumNetworkPolicy"}
)
#: Kinds others refer to by name (Linkerd's AuthorizationPolicy and routes target a Server): a
#: copy would have no authorizations, so their selector gets a matchExpressions ``In`` instead.
_EXPRESSION_KINDS = frozenset({"Server"})


@dataclass(frozen=True)
class PrimaryLabels:
    """How Flagger labels a service's pods.

    Attributes:
        label: the selector label Flagger rewrites on primary pods (e.g. ``app``).
        value: its value on canary pods (the service's selector value, e.g. ``podinfo``).
        canary: the service's pod selector (canary pods).
        primary: the same selector with ``label: <value>-primary`` (primary pods).
    """

    label: str
    value: str
    canary: dict[str, str]
    primary: dict[str, str]


def primary_labels(pod_selector: Mapping[str, str]) -> PrimaryLabels | None:
    """The primary pods' selector for a service selecting ``pod_selector``, or None when it has
    none of :data:`SELECTOR_LABELS` (Flagger refuses such a Deployment).

    Assumes the Deployment's ``spec.selector.matchLabels`` are the Service's selector, as in
    every shipped example.
    """
    for label in SELECTOR_LABELS:
        if label in pod_selector:
            value = pod_selector[label]
            canary = dict(sorted(pod_selector.items()))
            return PrimaryLabels(label, value, canary, {**canary, label: f"{value}-primary"})
    return None


@dataclass(frozen=True)
class Coverage:
    """What :func:`cover_primary` changes.

    Attributes:
        replaced: ``(kind, namespace, name)`` of objects to take out (a rewritten copy is in ``added``).
        added: rewritten objects and the primary pods' copies.
        uncovered: one sentence per place that still names the canary pods only (a loss).
    """

    replaced: frozenset[tuple[str, str | None, str]]
    added: tuple[PlannedObject, ...]
    uncovered: tuple[str, ...]


def cover_primary(
    objects: Sequence[PlannedObject], namespace: str, service: str, labels: PrimaryLabels
) -> Coverage:
    """Make the policies of ``service`` select its primary and canary pods.

    * a policy of a :data:`_COPIED_KINDS` kind whose ``selector`` or ``pod_selector`` is the
      service's selector gets a copy ``<name>-primary`` selecting the primary pods;
    * a Linkerd ``Server`` gets ``matchExpressions: [{key: <label>, operator: In, values:
      [<value>, <value>-primary]}]`` in place of that label;
    * a ``targetRefs`` entry naming the Service (Istio ambient waypoint policies) gets the
      ``-primary`` and ``-canary`` Services beside it, which Flagger creates and callers can reach;
    * any other place the service's selector appears (a caller's label selector, an unknown
      kind) is returned in :attr:`Coverage.uncovered`.
    """
    replaced: set[tuple[str, str | None, str]] = set()
    added: list[PlannedObject] = []
    uncovered: list[str] = []
    for obj in objects:
        values = dict(obj.values)
        key = next((k for k in ("selector", "pod_selector") if _same(values.get(k), labels.canary)), None)
        handled = {key} if key else set()
        if obj.namespace == namespace and key and obj.kind in _COPIED_KINDS:
            added.append(
                dataclasses.replace(obj, name=object_name(obj.name, "primary"), values={**values, key: labels.primary})
            )
        elif obj.namespace == namespace and key and obj.kind in _EXPRESSION_KINDS:
            rest = {k: v for k, v in labels.canary.items() if k != labels.label}
            expression = {"key": labels.label, "operator": "In", "values": [labels.value, f"{labels.value}-primary"]}
            replaced.add((obj.kind, obj.namespace, obj.name))
            added.append(dataclasses.replace(obj, values={**values, key: rest, "match_expressions": [expression]}))
        elif key:
            handled = set()
        refs = values.get("target_refs")
        if obj.namespace == namespace and isinstance(refs, list) and any(_names_service(r, service) for r in refs):
            extra = flagger_service_refs(refs, service)
            if (obj.kind, obj.namespace, obj.name) not in replaced:
                replaced.add((obj.kind, obj.namespace, obj.name))
                added.append(dataclasses.replace(obj, values={**values, "target_refs": [*refs, *extra]}))
            else:  # a Server has no targetRefs; kept for completeness
                added[-1] = dataclasses.replace(added[-1], values={**added[-1].values, "target_refs": [*refs, *extra]})
            handled.add("target_refs")
        for path in _mentions({k: v for k, v in values.items() if k not in handled}, labels.canary):
            uncovered.append(
                f"{obj.kind} {obj.namespace or ''}/{obj.name} selects the pods by {_fmt(labels.canary)} at {path}: "
                f"Flagger's primary pods carry {labels.label}={labels.value}-primary and would not be covered"
            )
    return Coverage(frozenset(replaced), tuple(added), tuple(uncovered))


def flagger_service_refs(refs: Sequence[Any], service: str) -> list[dict[str, Any]]:
    """The ``targetRefs`` entries :func:`cover_primary` appends to ``refs`` for ``service``: for
    each entry naming the Service ``service`` (``kind: Service``, in order), a copy naming
    ``<service>-primary`` then one naming ``<service>-canary`` (every other key kept). Empty when
    no entry names it. The importer (:mod:`meshgen.platforms.istio_ambient.importer`) takes
    exactly these back off.
    """
    return [
        {**r, "name": f"{service}-{suffix}"}
        for r in refs
        if _names_service(r, service)
        for suffix in ("primary", "canary")
    ]


def _same(value: Any, selector: Mapping[str, str]) -> bool:
    return isinstance(value, Mapping) and dict(value) == dict(selector)


def _names_service(ref: Any, service: str) -> bool:
    return isinstance(ref, Mapping) and ref.get("kind") == "Service" and ref.get("name") == service


def _mentions(value: Any, selector: Mapping[str, str], path: str = "") -> list[str]:
    """Paths under ``value`` where a label map holds every label of ``selector`` (a selector of
    these pods, maybe narrowed by more labels such as a namespace)."""
    if isinstance(value, Mapping):
        if selector and all(value.get(k) == v for k, v in selector.items()):
            return [path or "."]
        out = []
        for k, v in value.items():
            out.extend(_mentions(v, selector, f"{path}.{k}"))
        return out
    if isinstance(value, (list, tuple)):
        out = []
        for i, v in enumerate(value):
            out.extend(_mentions(v, selector, f"{path}[{i}]"))
        return out
    return []


def _fmt(labels: Mapping[str, str]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in sorted(labels.items())) + "}"

"""The Platform interface: a mesh decides *what* to emit as plain data; templates lay it out.

A platform's :meth:`Platform.plan` is pure: no files, no Jinja, no clock. It returns a
:class:`Plan`: the Kubernetes objects to emit (each a template name plus the values the template
lays out), any other files (Helm values), and the capability findings of this intent on this
platform.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Protocol

from meshgen.capabilities import Capability, Feature, Finding, Report
from meshgen.intent.model import MeshIntent

if TYPE_CHECKING:  # both import this module
    from meshgen.delivery.support import DeliverySupport
    from meshgen.platforms.helm_values import Chart
    from meshgen.platforms.sections import Section

#: Apply order: namespaces and identities first, then what refers to them.
_KIND_ORDER = {
    "Namespace": 0,
    "ServiceAccount": 1,
    "ConfigMap": 2,
    "Secret": 2,
    "Service": 3,
    "Deployment": 4,
}


@dataclass(frozen=True)
class PlannedObject:
    """One Kubernetes object to emit: which template, with which values.

    Attributes:
        template: path under ``templates/``, e.g. ``istio/virtual-service.yaml.j2``.
        api_version, kind, name, namespace: the object's identity (namespace None = cluster-scoped).
        values: what the template lays out; plain data only (str, int, float, bool, None, lists, dicts).
    """

    template: str
    api_version: str
    kind: str
    name: str
    namespace: str | None
    values: Mapping[str, Any] = field(default_factory=dict)

    @property
    def sort_key(self) -> tuple:
        """Stable output order: kind rank, namespace, kind, name."""
        return (_KIND_ORDER.get(self.kind, 10), self.namespace or "", self.kind, self.name)

    @property
    def file_name(self) -> str:
        """Relative output path: ``<namespace>/<kind>-<name>.yaml`` (``_cluster`` for cluster-scoped)."""
        return f"{self.namespace or '_cluster'}/{self.kind.lower()}-{self.name}.yaml"


@dataclass(frozen=True)
class PlannedFile:
    """A non-object file to emit, such as a Helm values file, at ``path`` relative to the platform folder."""

    template: str
    path: str
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    """Everything one platform emits for one intent."""

    platform: str
    objects: tuple[PlannedObject, ...]
    files: tuple[PlannedFile, ...] = ()
    findings: tuple[Finding, ...] = ()


class Platform(Protocol):
    """A target meshgen renders for: one package under ``meshgen/platforms/`` and one templates folder.

    Attributes:
        name: the CLI value, the ``templates/<name>/`` folder and the test id (``istio-ambient``).
        description: one line for ``meshgen platforms`` and ``--help``.
        capabilities: its column of the capability matrix, feature -> Capability; every Feature present.
        control_plane_namespace: where its control plane runs unless ``mesh.controlPlane.namespace`` says.
        charts: the Helm charts it writes ``values/<chart>.yaml`` for.
        template_folders: ``templates/`` folders it uses besides the shared ones (core, gateway-api,
            cert-manager, trust-manager, prometheus, helm, kustomize, argo-rollouts); its own folder first.
        unrotated_mesh_ca: with ``mesh.ca.type: mesh``, why nothing rotates the trust anchor the
            platform makes (with the upstream doc), or None where meshgen makes no such claim.
            ``meshgen analyze`` (MG302) reports it.
        delivery: how Flagger and Argo Rollouts work on it (its package's ``delivery`` module).
    """

    name: str
    description: str
    capabilities: Mapping[Feature, Capability]
    control_plane_namespace: str
    charts: tuple[Chart, ...]
    template_folders: tuple[str, ...]
    unrotated_mesh_ca: str | None
    delivery: DeliverySupport

    def plan(self, intent: MeshIntent) -> Plan:
        """Traffic and security objects for ``intent``, with findings. Pure: no files, no Jinja, no clock."""
        ...

    def operations(self, intent: MeshIntent, report: Report) -> Section:
        """Identity, control-plane HA, telemetry and alerts of ``intent``; findings go to ``report``. Pure."""
        ...


# Runs of characters a DNS-1123 name cannot hold (compiled once: object_name runs per object).
_NOT_IN_NAME = re.compile(r"[^a-z0-9-]+")


def object_name(*parts: str) -> str:
    """Join name parts into a DNS-1123 name of at most 63 characters (stable hash suffix if cut)."""
    name = _NOT_IN_NAME.sub("-", "-".join(filter(None, parts)).lower()).strip("-")
    if len(name) <= 63:
        return name
    import hashlib

    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[:54].rstrip('-')}-{digest}"


def distinct_object_names(keys: Iterable[tuple[str, ...]]) -> dict[tuple[str, ...], str]:
    """Name each key (a tuple of name parts) with :func:`object_name`, keeping the names apart.

    ``object_name`` folds everything but ``[a-z0-9-]`` into ``-``, so different keys can meet:
    hosts ``a-b.example.com`` and ``a.b-example.com`` both become ``egress-a-b-example-com``.
    Keys whose names meet get a stable hash of the key itself appended; keys whose names are
    unique keep the plain name, so intents without a collision render as before.

    Returns:
        key -> DNS-1123 name of at most 63 characters, distinct for distinct keys.
    """
    import hashlib

    names = {key: object_name(*key) for key in dict.fromkeys(keys)}
    count: dict[str, int] = {}
    for name in names.values():
        count[name] = count.get(name, 0) + 1
    for key, name in names.items():
        if count[name] > 1:
            digest = hashlib.sha256("\x00".join(key).encode()).hexdigest()[:8]
            names[key] = f"{name[:54].rstrip('-')}-{digest}"
    return names


def egress_object_names(hosts: Iterable[Any], per_port: bool = False) -> dict[tuple[str, int | None], str]:
    """Object names for ``spec.egress`` hosts: ``egress-<host>`` (``*`` spelled ``wildcard``), or
    ``egress-<host>-<port>`` with ``per_port``, distinct per host (see :func:`distinct_object_names`).

    Args:
        hosts: the intent's ``EgressHost`` entries.
        per_port: one object per host and port (Linkerd routes, Consul destinations) instead of
            one per host (Istio ServiceEntry).

    Returns:
        (host, port or None) -> name.
    """
    keys = {
        (h.host, p if per_port else None): ("egress", h.host.replace("*", "wildcard"), *([str(p)] if per_port else []))
        for h in hosts
        for p in h.ports
    }
    names = distinct_object_names(keys.values())
    return {entry: names[key] for entry, key in keys.items()}


def sort_objects(objects: list[PlannedObject]) -> tuple[PlannedObject, ...]:
    """Objects in stable apply order; duplicates (same kind, namespace, name) are a planning bug."""
    seen: set = set()
    for obj in objects:
        key = (obj.api_version.split("/")[0], obj.kind, obj.namespace, obj.name)
        if key in seen:
            raise AssertionError(f"planned {obj.kind} {obj.namespace}/{obj.name} twice")
        seen.add(key)
    return tuple(sorted(objects, key=lambda o: o.sort_key))

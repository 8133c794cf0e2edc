"""``spec.mesh.ca``, ``spec.mesh.controlPlane`` and ``spec.telemetry`` read back from the objects
and Helm values meshgen writes for them (the platform's ``operations()``).

:func:`read_operations` is the one call a platform's importer makes, with its
:class:`OperationsReader`. It reads in two steps:

1. **Read**: the cert-manager chain (shared, :mod:`meshgen.importing.cert_manager`), the
   prometheus-operator monitors and rule (shared, :mod:`meshgen.importing.prometheus`), then the
   platform's own shapes (``OperationsReader.read``: its Helm values, Istio's ``Telemetry``,
   Linkerd's access-log annotation) into intent data.
2. **Compare**: the platform's ``operations()`` planned for that data (with one stand-in service
   per namespace read, so per-namespace monitors are planned too) is laid out as ``meshgen
   render`` would, and each source object of the same API group, kind, namespace and name, and
   each values file of the same chart, is compared field by field with it. What differs is what
   the intent cannot say: each difference is LOST at its own ``file:line`` and field path (a
   field here that the intent does not write, a value it writes differently, a field it writes
   that is missing here), never dropped silently. Durations compare by value (``2160h0m0s`` is
   ``2160h``), numbers by value (``10`` is ``10.0``), labels without meshgen's own
   (``app.kubernetes.io/managed-by``, ``app.kubernetes.io/part-of``). A PrometheusRule's
   ``spec.groups`` are planned from the imported services: they are reported APPROXIMATED
   (regenerated), with the thresholds read from them.

Objects no planned object matches stay the importer's leftovers (reported as before), and a
values file of a chart the imported intent writes no values for is LOST whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from meshgen.importing.cert_manager import Chain, find_chain, read_ca
from meshgen.importing.common import plain
from meshgen.importing.duplicates import SERVER_METADATA
from meshgen.importing.findings import dotted
from meshgen.importing.reader import VALUES_KIND, SourceObject, ValuesDocument
from meshgen.importing.workloads import managed
from meshgen.intent.types import Duration

#: The labels meshgen puts on every object it writes (gateway_api.labels_for): not intent data.
MESHGEN_LABELS = frozenset({"app.kubernetes.io/managed-by", "app.kubernetes.io/part-of"})
#: API groups of the objects compared with the planned operations.
GROUPS = frozenset({"cert-manager.io", "trust.cert-manager.io", "telemetry.istio.io", "monitoring.coreos.com"})
#: Kinds of the objects compared (what the platforms' operations() plan).
KINDS = ("Issuer", "ClusterIssuer", "Certificate", "Bundle", "Telemetry", "PodMonitor", "ServiceMonitor", "PrometheusRule")
#: The stand-in service of each namespace in the intent planned for the comparison.
PROBE = "meshgen-import-probe"


@dataclass
class Context:
    """One run of :func:`read_operations`: the importer's state plus what was read so far.

    Attributes:
        run: the importer's run (a :class:`~meshgen.importing.workloads.WorkloadRun`).
        values: values file name (``istiod``) -> its document.
        chain: the cert-manager chain, when there is one.
        ca, control_plane, telemetry: intent data read (camelCase, only what differs from the defaults).
        reported: ``(id(obj), path)`` already reported LOST; the comparison skips them.
    """

    run: Any
    values: dict[str, ValuesDocument]
    chain: Chain | None = None
    ca: dict[str, Any] = field(default_factory=dict)
    control_plane: dict[str, Any] = field(default_factory=dict)
    telemetry: dict[str, Any] = field(default_factory=dict)
    reported: set[tuple[int, tuple]] = field(default_factory=set)

    def lost(self, obj: SourceObject, path: tuple, message: str) -> None:
        """Report ``path`` of ``obj`` LOST, once (the comparison will not report it again)."""
        self.reported.add((id(obj), tuple(path)))
        self.run.f.lost(obj, tuple(path), message)

    def value(self, chart: str, *path: str) -> Any:
        """The value at ``path`` of values file ``chart`` (None when the file or key is absent)."""
        doc = self.values.get(chart)
        node: Any = doc.body if doc is not None else None
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        return node

    def duration(self, chart: str, path: tuple[str, ...]) -> Duration | None:
        """A Go duration in a values file; one the intent cannot hold is LOST (None returned)."""
        text = self.value(chart, *path)
        if text is None:
            return None
        try:
            return Duration.parse(str(text))
        except ValueError:
            self.lost(self.values[chart], path, f"{text} is not a duration the intent can hold (h, m, s and ms, nothing finer)")
            return None


@dataclass(frozen=True)
class OperationsReader:
    """A platform's part of :func:`read_operations`.

    Attributes:
        platform: the registry name whose ``operations()`` is planned for the comparison.
        read: reads the platform's own shapes into the :class:`Context` (values, Telemetry, ...).
        foreign_charts: values files only another platform writes (ambient's ``ztunnel`` for the
            Istio sidecar reader): when one is among the manifests, they are that platform's and
            nothing is read here (every object stays the importer's leftover, reported as before).
        extra: ``(intent, report) -> planned objects`` the platform writes for these settings outside
            ``operations()`` (Consul's ProxyDefaults ``global``, planned with its config entries); the
            objects of ``extra_kinds`` meshgen wrote (label ``app.kubernetes.io/managed-by: meshgen``)
            are compared with them too, even when the importer already read them.
        extra_kinds: the kinds of ``extra``'s objects.
    """

    platform: str
    read: Callable[[Context], None]
    foreign_charts: frozenset[str] = frozenset()
    extra: Callable[[Any, Any], list] | None = None
    extra_kinds: tuple[str, ...] = ()


def reader_for(platform: str) -> OperationsReader:
    """The ``READER`` of ``meshgen/platforms/<platform>/operations_import.py`` (``-`` as ``_``).

    Raises:
        ModuleNotFoundError: the platform has no operations reader.
    """
    import importlib

    return importlib.import_module(f"meshgen.platforms.{platform.replace('-', '_')}.operations_import").READER


def read_operations(run: Any, reader: OperationsReader) -> None:
    """Read ``mesh.ca``, ``mesh.controlPlane`` and ``telemetry`` into ``run`` (``run.mesh``,
    ``run.telemetry``), compare what was read with what the intent renders, and mark the objects
    compared handled (see the module docstring). Pure but for ``run``."""
    from meshgen.importing import prometheus

    ctx = Context(run, {v.values_name: v for v in run.by_kind.get(VALUES_KIND, []) if isinstance(v, ValuesDocument)})
    if reader.foreign_charts & set(ctx.values):
        return
    ctx.chain = find_chain(run.by_kind)
    if ctx.chain is not None:
        ctx.ca = read_ca(ctx.chain, ctx.lost)
    prometheus.read_monitoring(ctx)
    reader.read(ctx)
    _compare(ctx, reader)


def _apply(ctx: Context) -> None:
    run = ctx.run
    if ctx.ca:
        ca = dict(ctx.ca)
        ordered = {k: ca.pop(k) for k in ("type", "certLifetime") if k in ca}
        run.mesh["ca"] = {**ordered, **ca}
    if ctx.control_plane:
        run.mesh["controlPlane"] = dict(ctx.control_plane)
    if ctx.telemetry:
        run.telemetry.update(ctx.telemetry)


def _planned(ctx: Context, reader: OperationsReader) -> tuple[dict[tuple, Any], dict[str, Any]] | None:
    """The platform's operations for what was read: objects by (group, kind, namespace, name)
    and values by file name, as parsed YAML; None (reported) when that is not a valid intent."""
    import yaml

    from meshgen.capabilities import Report
    from meshgen.errors import IntentError
    from meshgen.loader import parse_intent
    from meshgen.platforms.helm_values import values_files
    from meshgen.platforms.registry import get_platform
    from meshgen.render import render_file, render_object

    run = ctx.run
    namespaces = sorted({k[0] for k in run.services} | {run.home})
    spec = {
        "platform": reader.platform,
        "mesh": dict(run.mesh),
        **({"telemetry": run.telemetry} if run.telemetry else {}),
        "defaults": {"namespace": run.home},
        "services": [{"name": PROBE, "namespace": ns, "ports": [{"name": "http", "port": 80, "protocol": "http"}]} for ns in namespaces],
    }
    doc = {"apiVersion": "meshgen.dev/v1alpha1", "kind": "MeshIntent", "metadata": {"name": run.out.name}, "spec": spec}
    try:
        intent = parse_intent(yaml.safe_dump(doc, sort_keys=False), Path("<imported intent>"))
    except IntentError as exc:
        why = "; ".join(p.message for p in exc.problems)[:400]
        for obj in ([ctx.chain.root] if ctx.chain else []) + list(ctx.values.values()):
            ctx.lost(obj, (), f"what was read here is not a valid intent ({why}); dropped")
        return None
    platform = get_platform(reader.platform)
    report = Report(platform.name, platform.capabilities)
    section = platform.operations(intent, report)
    objects = {}
    for planned in [*section.objects, *(reader.extra(intent, report) if reader.extra else [])]:
        group = planned.api_version.rpartition("/")[0]
        objects[(group, planned.kind, planned.namespace, planned.name)] = planned
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: the pure-Python loader was most of this step's cost

    def load(text: str) -> Any:
        return yaml.load(text, Loader=loader)

    values = {Path(f.path).stem: load(render_file(f)) or {} for f in values_files(section.values, platform.charts)}
    rendered = {key: _Lazy(obj, render_object, load) for key, obj in objects.items()}
    return rendered, values


class _Lazy:
    """A planned object laid out and parsed only when a source object matches it."""

    def __init__(self, planned: Any, render: Callable, load: Callable) -> None:
        self._planned, self._render, self._load, self._body = planned, render, load, None

    @property
    def body(self) -> dict[str, Any]:
        """The planned object as ``meshgen render`` writes it, parsed (once)."""
        if self._body is None:
            self._body = self._load(self._render(self._planned))
        return self._body


def _compare(ctx: Context, reader: OperationsReader) -> None:
    run = ctx.run
    _apply(ctx)
    planned = _planned(ctx, reader)
    if planned is None:
        for key in ("ca", "controlPlane"):
            run.mesh.pop(key, None)
        run.telemetry.clear()
        return
    objects, values = planned
    for kind in (*KINDS, *reader.extra_kinds):
        for obj in run.by_kind.get(kind, []):
            if kind in reader.extra_kinds:
                if not managed(obj):
                    continue
            elif obj.group not in GROUPS or id(obj) in run.handled:
                continue
            key = (obj.group, obj.kind, obj.namespace, obj.name)
            if key not in objects:
                continue
            run.handled.add(id(obj))
            expected = objects[key].body
            _diff_object(ctx, obj, expected)
    for name, doc in sorted(ctx.values.items()):
        run.handled.add(id(doc))
        if name not in values:
            if (id(doc), ()) not in ctx.reported:
                ctx.lost(doc, (), f"the imported intent writes no values for {doc.chart}; every value here is dropped")
            continue
        _diff(ctx, doc, doc.body, values[name], ())


def _diff_object(ctx: Context, obj: SourceObject, expected: dict[str, Any]) -> None:
    body = obj.body
    for key in body:
        if key in ("apiVersion", "kind", "status"):
            continue
        if key == "metadata":
            meta = {k: v for k, v in obj.metadata.items() if k not in SERVER_METADATA}
            want = dict(expected.get("metadata") or {})
            for labels in ("labels", "annotations"):
                mine = {k: v for k, v in (meta.get(labels) or {}).items() if k not in MESHGEN_LABELS}
                theirs = {k: v for k, v in (want.get(labels) or {}).items() if k not in MESHGEN_LABELS}
                if mine or theirs:
                    _diff(ctx, obj, mine, theirs, ("metadata", labels))
                meta.pop(labels, None)
                want.pop(labels, None)
            _diff(ctx, obj, meta, want, ("metadata",))
        elif key == "spec" and obj.kind == "PrometheusRule":
            spec = {k: v for k, v in (obj.spec or {}).items() if k != "groups"}
            _diff(ctx, obj, spec, {k: v for k, v in (expected.get("spec") or {}).items() if k != "groups"}, ("spec",))
        else:
            _diff(ctx, obj, body[key], expected.get(key, _MISSING), (key,))
    for key in expected:
        if key not in body and key not in ("apiVersion", "kind"):
            _missing(ctx, obj, (), key, expected[key])


_MISSING = object()


def _diff(ctx: Context, obj: SourceObject, actual: Any, expected: Any, path: tuple) -> None:
    """Report every difference between ``actual`` (at ``path`` of ``obj``) and ``expected`` LOST."""
    if any((id(obj), path[:i]) in ctx.reported for i in range(len(path) + 1)):
        return
    if expected is _MISSING:
        ctx.lost(obj, path, f"{dotted(path)} has no equivalent in the intent; dropped")
        return
    if isinstance(actual, dict) and isinstance(expected, dict):
        for key in actual:
            _diff(ctx, obj, actual[key], expected.get(key, _MISSING), (*path, key))
        for key in expected:
            if key not in actual:
                _missing(ctx, obj, path, key, expected[key])
        return
    if isinstance(actual, list) and isinstance(expected, list) and len(actual) == len(expected):
        for i, (a, e) in enumerate(zip(actual, expected)):
            _diff(ctx, obj, a, e, (*path, i))
        return
    if not _same(actual, expected):
        ctx.lost(obj, path, f"{_short(actual)} here; the intent read from these manifests writes {_short(expected)}, "
                            "so this value has no equivalent in the intent; dropped")


def _missing(ctx: Context, obj: SourceObject, path: tuple, key: str, value: Any) -> None:
    where = (*path, key)
    if any((id(obj), where[:i]) in ctx.reported for i in range(len(where) + 1)):
        return
    ctx.lost(obj, path, f"the intent read from these manifests also writes {dotted(where)}: {_short(value)}, which is not here")


def _same(actual: Any, expected: Any) -> bool:
    if actual == expected and type(actual) is type(expected):
        return True
    if isinstance(actual, (int, float)) and isinstance(expected, (int, float)) and not isinstance(actual, bool) and not isinstance(expected, bool):
        return float(actual) == float(expected)
    if isinstance(actual, str) and isinstance(expected, str):
        try:
            return Duration.parse(actual) == Duration.parse(expected)
        except ValueError:
            return False
    return False


def _short(value: Any) -> str:
    text = repr(plain(value)) if isinstance(value, (dict, list)) else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."

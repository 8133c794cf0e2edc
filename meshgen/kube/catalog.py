"""Check rendered Kubernetes objects the way an API server with the CRDs installed would.

Custom resources are checked against their CRD's ``openAPIV3Schema`` with structural-schema
semantics and ``kubectl --validate=strict``: unknown fields are rejected, schema defaults are
applied before the ``x-kubernetes-validations`` CEL rules run, and messages follow the API
server's wording (``spec.hosts: Required value``). Built-in kinds (Service, Deployment, ...) are
checked against kubernetes-validate's bundled strict JSON schemas.

Typical use::

    catalog = CRDCatalog.bundled()                     # the CRDs shipped with meshgen
    catalog = CRDCatalog.from_directory(Path("crds"))  # or a cluster's own
    for violation in validate_objects(documents, catalog):
        print(violation)

Everything that can be prepared per kind (the schema without the object envelope, its compiled
validator, its CEL rules) is prepared once, on first use of the kind, and kept by the catalog.
"""

from __future__ import annotations

import datetime
import functools
import gzip
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field as dataclass_field
from pathlib import Path
from typing import Any

import yaml

from meshgen.kube import names, structural
from meshgen.kube.core import CLUSTER_SCOPED_CORE_KINDS, check_core, check_core_clean, check_metadata, core_validator
from meshgen.kube.issues import CRDLoadError, Issue, SchemaViolation
from meshgen.kube.rules import RuleSet

__all__ = ["CRDCatalog", "CRDLoadError", "SchemaViolation", "validate_objects"]

#: The CRDs shipped inside meshgen (see meshgen/kube/crds/SOURCES.md and meshgen/kube/bundled.py).
BUNDLE = Path(__file__).resolve().parent / "crds" / "crds.json.gz"


@dataclass
class _ServedVersion:
    api_version: str
    kind: str
    namespaced: bool
    schema: Mapping[str, Any]
    # With a status subresource the API server drops ``status`` on create.
    status_subresource: bool
    _compiled: tuple[Any, RuleSet] | None = dataclass_field(default=None, repr=False)

    @functools.cached_property
    def clean_shortcut(self) -> bool:
        """Whether :func:`_check_custom_clean` may prune on the schema without its envelope:
        the root is ``type: object`` and no envelope property (apiVersion, kind, metadata)
        carries a default that the full path's pruning would add."""
        properties = self.schema.get("properties") or {}
        return self.schema.get("type") == "object" and isinstance(properties, dict) and not any(
            isinstance(properties.get(k), Mapping) and "default" in properties[k]
            for k in structural.OBJECT_ENVELOPE)

    def compiled(self) -> tuple[Any, RuleSet]:
        """The schema validator and the rule set, built on first use and kept."""
        if self._compiled is None:
            self._compiled = (structural.compile_schema(structural.without_envelope(self.schema)),
                              RuleSet(self.schema))
        return self._compiled


_CEL_NOT_RUN = ("some validation rules were not checked because the object was invalid; "
                "correct the existing errors to complete validation")


class CRDCatalog:
    """The custom resource kinds a cluster serves, with their schemas."""

    def __init__(self, served: Mapping[tuple[str, str], _ServedVersion], source: str = "") -> None:
        self._served = dict(served)
        self._groups = {_group(api_version) for api_version, _ in served}
        #: Where the CRDs came from, for messages (a directory, or "meshgen's bundled CRDs").
        self.source = source

    @classmethod
    def from_directory(cls, path: Path, *, experimental: bool = False) -> CRDCatalog:
        """Load every CRD below ``path`` (``*.yaml``/``*.yml``, recursively).

        A file may hold one CRD, several documents, or a ``kind: List`` of CRDs (what
        ``kubectl get crd -o yaml`` prints); other documents are ignored. Files under a folder
        named ``experimental`` are read only when ``experimental`` is true, and then replace
        standard CRDs of the same ``metadata.name``. Only ``served`` versions are indexed.

        Raises:
            CRDLoadError: ``path`` is not a directory, a file is not valid YAML, or no CRD
                was found.
        """
        path = Path(path)
        if not path.is_dir():
            raise CRDLoadError(f"{path}: CRD directory not found")
        files = sorted(p for p in path.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file())
        entries = [(p.relative_to(path).as_posix(), crd) for p in files for crd in _read_crds(p)]
        if not entries:
            raise CRDLoadError(f"{path}: no CustomResourceDefinition found")
        return cls._from_entries(entries, experimental, str(path))

    @classmethod
    def bundled(cls, *, experimental: bool = False) -> CRDCatalog:
        """The CRDs shipped inside meshgen: the kinds it emits, at the releases it targets.

        ``experimental`` as in :meth:`from_directory` (the Gateway API experimental channel).
        The list of kinds and their upstream releases: ``meshgen/kube/crds/SOURCES.md``.

        Raises:
            CRDLoadError: the bundle is missing from the installation.
        """
        return _bundled(cls, experimental)

    @classmethod
    def _from_entries(cls, entries: Iterable[tuple[str, Mapping[str, Any]]], experimental: bool,
                      source: str) -> CRDCatalog:
        entries = list(entries)
        standard = [(p, c) for p, c in entries if "experimental" not in p.split("/")[:-1]]
        channel = [(p, c) for p, c in entries if "experimental" in p.split("/")[:-1]] if experimental else []
        crds: dict[str, Mapping[str, Any]] = {}
        for where, crd in standard + channel:  # experimental last, so it replaces by name
            crds[crd.get("metadata", {}).get("name", where)] = crd
        served = {}
        for crd in crds.values():
            for version in _served_versions(crd):
                served[(version.api_version, version.kind)] = version
        return cls(served, source)

    def kinds(self) -> list[tuple[str, str]]:
        """Sorted ``(apiVersion, kind)`` pairs that some loaded CRD serves."""
        return sorted(self._served)

    def validate(self, obj: Mapping[str, Any]) -> list[SchemaViolation]:
        """Every reason the API server would reject ``obj`` on create, in a stable order.

        ``obj`` is a Kubernetes object as parsed from YAML. It is not modified. Custom kinds
        are looked up in this catalog, built-in kinds in kubernetes-validate's schemas; a kind
        found in neither is reported as unknown.
        """
        if type(obj) is not dict and not isinstance(obj, Mapping):
            return [SchemaViolation("", "", "", None, "", "not a Kubernetes object (mapping)")]
        clean = self._validate_clean(obj)
        if clean is not None:
            return clean
        plain = _plain(obj)
        api_version, kind = str(plain.get("apiVersion") or ""), str(plain.get("kind") or "")
        metadata = plain.get("metadata") if isinstance(plain.get("metadata"), dict) else {}
        name = str(metadata.get("name") or metadata.get("generateName") or "")
        namespace = None if metadata.get("namespace") is None else str(metadata["namespace"])

        def violation(issue: Issue) -> SchemaViolation:
            return SchemaViolation(api_version, kind, name, namespace, issue.path, issue.message)

        if not api_version or not kind:
            missing = [f for f, value in (("apiVersion", api_version), ("kind", kind)) if not value]
            return [violation(Issue(f, "Required value")) for f in missing]
        served = self._served.get((api_version, kind))
        if served is not None:
            return [violation(i) for i in _check_custom(plain, served)]
        core = core_validator(api_version, kind) if _group(api_version) not in self._groups else None
        if core is not None:
            return [violation(i) for i in check_core(plain, core)]
        return [violation(self._unknown_kind(api_version, kind))]

    def _validate_clean(self, obj: Mapping[str, Any]) -> list[SchemaViolation] | None:
        """What :meth:`validate` answers, for an object whose schema check is plainly clean.

        Most rendered objects are plain JSON and break no schema rule: then the JSON copy, the
        pruning copy and jsonschema's walk only confirm that (see :func:`structural.clean_body`
        and :func:`core.check_core_clean`). Metadata and CEL rules are checked as on the full
        path. None means "take the full path", which then words every problem itself.
        """
        if type(obj) is not dict:
            return None
        api_version, kind, metadata = obj.get("apiVersion"), obj.get("kind"), obj.get("metadata")
        if type(api_version) is not str or type(kind) is not str or not api_version or not kind \
                or type(metadata) is not dict or not structural.is_plain_metadata(metadata):
            return None
        served = self._served.get((api_version, kind))
        if served is not None:
            issues = _check_custom_clean(obj, served)
        elif _group(api_version) in self._groups:
            return None
        else:
            core = core_validator(api_version, kind)
            issues = None if core is None else check_core_clean(obj, core)
        if issues is None:
            return None
        if not issues:
            return []
        name = str(metadata.get("name") or metadata.get("generateName") or "")
        namespace = None if metadata.get("namespace") is None else str(metadata["namespace"])
        return [SchemaViolation(api_version, kind, name, namespace, i.path, i.message) for i in issues]

    def namespaced(self, api_version: str, kind: str) -> bool:
        """Whether objects of the kind live in a namespace (built-in kinds: the known list)."""
        served = self._served.get((api_version, kind))
        return served.namespaced if served else kind not in CLUSTER_SCOPED_CORE_KINDS

    _namespaced = namespaced  # the name before meshgen.kube

    def _unknown_kind(self, api_version: str, kind: str) -> Issue:
        looked_up = f"no CRD or built-in schema serves apiVersion {api_version!r} kind {kind!r}"
        same_kind = sorted(v for v, k in self._served if k == kind)
        if same_kind:
            return Issue("apiVersion", f"{looked_up}; {kind} is served as: {', '.join(same_kind)}")
        group = _group(api_version)
        in_group = sorted({f"{v} {k}" for v, k in self._served if _group(v) == group})
        if in_group:
            return Issue("kind", f"{looked_up}; group {group} serves: {', '.join(in_group)}")
        return Issue("kind", f"{looked_up}; no loaded CRD has group {group or 'core'!r}")


def _check_custom(obj: dict[str, Any], served: _ServedVersion) -> list[Issue]:
    validator, rules = served.compiled()
    body = {k: v for k, v in obj.items() if k not in structural.OBJECT_ENVELOPE}
    if served.status_subresource:
        body.pop("status", None)
    unknown: list[Issue] = []
    body = structural.prune_and_default(body, served.schema, "", unknown)
    issues = unknown + check_metadata(obj.get("metadata"), names.dns1123_subdomain_errors,
                                      namespaced=served.namespaced)
    issues += structural.schema_issues(validator, body)
    if any(issue.blocking for issue in issues):
        return issues + [Issue("", _CEL_NOT_RUN)]
    # Rules see metadata.name and generateName only, as in the API server.
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    body.update({k: obj[k] for k in ("apiVersion", "kind") if k in obj})
    body["metadata"] = {k: metadata[k] for k in ("name", "generateName") if k in metadata}
    return issues + rules.check(body)


def _check_custom_clean(obj: dict[str, Any], served: _ServedVersion) -> list[Issue] | None:
    """:func:`_check_custom` for a plain object (metadata already found plain) whose body is
    plainly clean, without copying it; None when the body is not (take the full path)."""
    if not served.clean_shortcut:
        return None
    validator, rules = served.compiled()
    # The object less its envelope (apiVersion, kind and metadata: _validate_clean found all
    # three), in the object's order. A new dict: the rules' envelope may go on it (below).
    body = obj.copy()
    del body["apiVersion"], body["kind"], body["metadata"]
    if served.status_subresource:
        body.pop("status", None)
    # Pruning on the validator's schema is pruning on the served one: they differ only in the
    # envelope's properties, which the body lacks and which give no default (clean_shortcut).
    body = structural.clean_body(body, validator)
    if body is None:
        return None
    metadata = obj["metadata"]
    issues = check_metadata(metadata, names.dns1123_subdomain_errors, namespaced=served.namespaced)
    if issues and any(issue.blocking for issue in issues):
        return issues + [Issue("", _CEL_NOT_RUN)]
    body["apiVersion"], body["kind"] = obj["apiVersion"], obj["kind"]
    body["metadata"] = {k: metadata[k] for k in ("name", "generateName") if k in metadata}
    return issues + rules.check(body)


def validate_objects(objects: Iterable[Mapping[str, Any]], catalog: CRDCatalog) -> list[SchemaViolation]:
    """All violations of all objects, in input order, plus duplicate objects.

    Two objects are duplicates when they share API group, kind, namespace (as written; ignored
    for cluster-scoped kinds) and name; every occurrence after the first is reported.
    """
    violations: list[SchemaViolation] = []
    first_seen: dict[tuple[str, str, str | None, str], int] = {}
    # (apiVersion, kind) -> (API group, whether namespaced): a mesh has a dozen kinds.
    scopes: dict[tuple[str, str], tuple[str, bool]] = {}
    for index, obj in enumerate(objects):
        violations += catalog.validate(obj)
        if type(obj) is dict:  # parsed YAML: the Mapping checks below, without the ABC machinery
            metadata = obj.get("metadata")
            if type(metadata) is not dict and not isinstance(metadata, Mapping):
                continue
        elif not isinstance(obj, Mapping) or not isinstance(obj.get("metadata"), Mapping):
            continue
        api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
        api_version = api_version if type(api_version) is str else str(api_version)
        kind = kind if type(kind) is str else str(kind)
        name, namespace = obj["metadata"].get("name"), obj["metadata"].get("namespace")
        if not name:
            continue
        scope = scopes.get((api_version, kind))
        if scope is None:
            scope = scopes[(api_version, kind)] = (_group(api_version), catalog.namespaced(api_version, kind))
        key = (scope[0], kind, namespace if scope[1] else None, name if type(name) is str else str(name))
        if key in first_seen:
            violations.append(SchemaViolation(
                api_version, kind, str(name), namespace, "metadata.name",
                f"Duplicate value: {json.dumps(name)}: object #{index} repeats object "
                f"#{first_seen[key]} (same group, kind, namespace and name)"))
        else:
            first_seen[key] = index
    return violations


# --- Loading CRDs.

@functools.cache
def _bundled(cls: type[CRDCatalog], experimental: bool) -> CRDCatalog:
    # One catalog per channel and process: it only grows caches of compiled schemas and rules.
    return cls._from_entries(_bundle_entries(), experimental, "meshgen's bundled CRDs")


@functools.cache
def _bundle_entries() -> tuple[tuple[str, Mapping[str, Any]], ...]:
    """``(path in the corpus, CRD)`` pairs from the bundle, read once per process."""
    try:
        with gzip.open(BUNDLE, "rt", encoding="utf-8") as stream:
            bundle = json.load(stream)
    except OSError as err:
        raise CRDLoadError(f"{BUNDLE}: meshgen's bundled CRDs cannot be read ({err}); reinstall meshgen "
                           "or pass --crds DIR") from err
    return tuple((entry["path"], entry["crd"]) for entry in bundle["crds"])


def _read_crds(file: Path) -> list[Mapping[str, Any]]:
    try:
        stat = file.stat()
        documents = _parse_yaml(file, stat.st_mtime_ns, stat.st_size)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise CRDLoadError(f"{file}: cannot read CRDs: {err}") from err
    crds = []
    for document in documents:
        if not isinstance(document, Mapping):
            continue
        items = document.get("items") if document.get("kind") == "List" else [document]
        crds += [item for item in items or () if isinstance(item, Mapping)
                 and item.get("kind") == "CustomResourceDefinition"]
    return crds


@functools.lru_cache(maxsize=512)
def _parse_yaml(file: Path, mtime_ns: int, size: int) -> list[Any]:
    """Parsed documents of a file, shared between catalogs (parsing dominates loading).

    ``mtime_ns`` and ``size`` are part of the cache key so an edited file is read again;
    callers must not modify what this returns.
    """
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return list(yaml.load_all(file.read_text(encoding="utf-8"), Loader=loader))


def _served_versions(crd: Mapping[str, Any]) -> list[_ServedVersion]:
    spec = crd.get("spec") or {}
    group, kind = spec.get("group", ""), (spec.get("names") or {}).get("kind", "")
    versions = []
    for version in spec.get("versions") or ():
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if not version.get("served") or not isinstance(schema, Mapping):
            continue
        versions.append(_ServedVersion(
            api_version=f"{group}/{version['name']}", kind=kind,
            namespaced=spec.get("scope", "Namespaced") != "Cluster", schema=schema,
            status_subresource="status" in (version.get("subresources") or {})))
    return versions


# --- Small helpers.

def _plain(value: Any) -> Any:
    """JSON-like copy, as the API server receives YAML: string keys, dates as text, 1.0 as 1."""
    kind = type(value)  # exact types first: parsed YAML is almost all str, int, dict and list
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        return {k if type(k) is str else _key_text(k): _plain(v) for k, v in value.items()}
    if kind is list:
        return [_plain(v) for v in value]
    return _plain_other(value)


def _plain_other(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {_key_text(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _key_text(key: Any) -> str:
    if isinstance(key, bool) or key is None:
        return json.dumps(key)
    return str(key)


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]

"""One object per name: a corpus of manifests may repeat an object; the cluster holds one.

Kubernetes keys an object by API group, kind, namespace and name; ``kubectl apply`` of two files
that both define ``Gateway default/example-gateway`` leaves whichever was applied last. An import
of such a corpus therefore has two honest outcomes:

- the copies are identical (the same Gateway shared by several example files): they are one
  object, read once (the first, in file order);
- the copies differ: the cluster would hold the last one applied (``kubectl apply -f`` of the
  paths in the order given, directories sorted), so that one is imported, and every other copy
  is reported LOST with its own ``file:line`` and the kept one's. All conflicts are reported at
  once, and like any loss they refuse the import (exit 3) unless ``--allow-loss``: the engineer
  then imports the files separately, renames one, or accepts the last-applied reading.

Fields the API server fills in (``metadata.uid``, ``resourceVersion``, ``managedFields``, ...,
and ``status``) do not make copies differ: two ``kubectl get -o yaml`` exports of one object
are the same object.
"""

from __future__ import annotations

from meshgen.importing.findings import LOST, ImportFinding
from meshgen.importing.reader import SourceObject

#: metadata the API server writes (https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/object-meta/):
#: not part of what the author asked for.
SERVER_METADATA = frozenset({"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink"})


def home_namespace(objects: list[SourceObject]) -> str:
    """The namespace objects without ``metadata.namespace`` land in: the one most Services name
    (ties: the first by name; no Service names one: ``default``), as ``kubectl apply -n`` would."""
    namespaces = [o.namespace for o in objects if o.body.get("kind") == "Service" and o.namespace]
    return max(sorted(set(namespaces)), key=namespaces.count) if namespaces else "default"


def merge_duplicates(objects: list[SourceObject]) -> tuple[list[SourceObject], list[ImportFinding]]:
    """``objects`` with one copy per object, and a LOST finding per copy that differs and is dropped.

    Identity: API group, kind, namespace (:func:`home_namespace` when unset) and name; objects
    without a name are never merged (there is nothing to collide on). Identical copies: the first
    is kept, silently (nothing is lost). Copies that differ: the last one read is kept, as
    ``kubectl apply`` of these paths in this order leaves it, and every other copy is reported
    LOST at its own ``file:line`` with the kept copy's ``file:line`` (exit 3 unless
    ``--allow-loss``, like any loss). Kept objects stay in read order.
    """
    home = home_namespace(objects)
    copies: dict[tuple, list[SourceObject]] = {}
    for obj in objects:
        # straight from the body: the SourceObject properties cost ~4x more on 10,000s of objects
        body = obj.body
        meta = body.get("metadata")
        if isinstance(meta, dict) and meta.get("name"):
            api_group = str(body.get("apiVersion")).rpartition("/")[0]  # v1 and v1beta1 of a group are one object
            key = (api_group, body.get("kind"), meta.get("namespace") or home, meta.get("name"))
            copies.setdefault(key, []).append(obj)
    dropped: set[int] = set()
    findings: list[ImportFinding] = []
    for key, group in copies.items():
        if len(group) == 1:
            continue
        last = group[-1]
        reference = _authored(last)
        if all(_authored(c) == reference for c in group):
            dropped.update(id(c) for c in group[1:])
            continue
        dropped.update(id(c) for c in group[:-1])
        others = ", ".join(f"{c.file}:{c.line}" for c in group[:-1])
        for copy in group[:-1]:
            findings.append(ImportFinding(
                copy.file, copy.line, copy.ref, "", LOST,
                f"defined {len(group)} times in namespace {key[2]} and the copies differ ({others}, {last.file}:{last.line}); "
                f"a cluster holds the last applied, {last.file}:{last.line}, which is imported; this copy is dropped "
                "(import the files separately, or rename one)",
            ))
    return [o for o in objects if id(o) not in dropped], findings


def _authored(obj: SourceObject) -> dict:
    """The object as its author wrote it: without ``status`` and server-written metadata.
    Namespace and the API version are left out too: the key holds the resolved namespace and
    the group, and the API server converts between a group's versions."""
    body = {k: v for k, v in obj.body.items() if k not in ("status", "apiVersion")}
    meta = body.get("metadata")
    if isinstance(meta, dict):
        body["metadata"] = {k: v for k, v in meta.items() if k not in SERVER_METADATA and k != "namespace"}
    return body

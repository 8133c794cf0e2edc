"""The list of CRDs bundled with meshgen, and the script that builds the bundle from a CRD corpus.

meshgen validates what it renders against the upstream CRDs of the kinds it emits (and of the
platforms being added: Consul, Flagger, Argo Rollouts), so ``meshgen validate`` works offline
and with nothing beside the installation. To add a kind: add its CRD file to :data:`BUNDLED`
and rebuild::

    python -m meshgen.kube.bundled ../shared/crds

The corpus is ``../shared/crds``, beside the repository (layout and provenance: its SOURCES.md; one CRD per file named
``<metadata.name>.yaml``). The bundle keeps each listed CRD whole except for ``description``
texts of schema nodes (documentation, never validation), stored as gzip-compressed JSON in
``meshgen/kube/crds/crds.json.gz``; ``meshgen/kube/crds/SOURCES.md`` records the releases.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: Corpus folder -> CRD file names (without ``.yaml``); ``*`` takes the whole folder.
BUNDLED: dict[str, tuple[str, ...]] = {
    "istio": (
        "authorizationpolicies.security.istio.io",
        "destinationrules.networking.istio.io",
        "envoyfilters.networking.istio.io",
        "gateways.networking.istio.io",
        "peerauthentications.security.istio.io",
        "requestauthentications.security.istio.io",
        "serviceentries.networking.istio.io",
        "sidecars.networking.istio.io",
        "telemetries.telemetry.istio.io",
        "virtualservices.networking.istio.io",
        "workloadentries.networking.istio.io",
    ),
    "linkerd": (
        "authorizationpolicies.policy.linkerd.io",
        "egressnetworks.policy.linkerd.io",
        "httplocalratelimitpolicies.policy.linkerd.io",
        "httproutes.policy.linkerd.io",
        "meshtlsauthentications.policy.linkerd.io",
        "networkauthentications.policy.linkerd.io",
        "serverauthorizations.policy.linkerd.io",
        "servers.policy.linkerd.io",
        "serviceprofiles.linkerd.io",
    ),
    "cilium": (
        "ciliumclusterwidenetworkpolicies.cilium.io",
        "ciliumenvoyconfigs.cilium.io",
        "ciliumnetworkpolicies.cilium.io",
    ),
    "gateway-api/standard": ("*",),
    "gateway-api/experimental": ("*",),
    "consul": (
        "exportedservices.consul.hashicorp.com",
        "ingressgateways.consul.hashicorp.com",
        "jwtproviders.consul.hashicorp.com",
        "meshes.consul.hashicorp.com",
        "proxydefaults.consul.hashicorp.com",
        "ratelimits.consul.hashicorp.com",
        "routeretryfilters.consul.hashicorp.com",
        "routetimeoutfilters.consul.hashicorp.com",
        "samenessgroups.consul.hashicorp.com",
        "servicedefaults.consul.hashicorp.com",
        "serviceintentions.consul.hashicorp.com",
        "serviceresolvers.consul.hashicorp.com",
        "servicerouters.consul.hashicorp.com",
        "servicesplitters.consul.hashicorp.com",
        "terminatinggateways.consul.hashicorp.com",
    ),
    "flagger": ("*",),
    "argo-rollouts": (
        "analysistemplates.argoproj.io",
        "clusteranalysistemplates.argoproj.io",
        "rollouts.argoproj.io",
    ),
    "cert-manager": (
        "certificates.cert-manager.io",
        "clusterissuers.cert-manager.io",
        "issuers.cert-manager.io",
    ),
    "trust-manager": ("bundles.trust.cert-manager.io",),
    "prometheus-operator": (
        "podmonitors.monitoring.coreos.com",
        "prometheusrules.monitoring.coreos.com",
        "servicemonitors.monitoring.coreos.com",
    ),
}


def bundle_files(corpus: Path) -> list[Path]:
    """The corpus files :data:`BUNDLED` names, sorted; raises FileNotFoundError for a missing one."""
    files = []
    for folder, names in BUNDLED.items():
        for name in names:
            if name == "*":
                files += sorted((corpus / folder).glob("*.yaml"))
                continue
            path = corpus / folder / f"{name}.yaml"
            if not path.is_file():
                raise FileNotFoundError(f"{path}: listed in meshgen.kube.bundled.BUNDLED but missing")
            files.append(path)
    return sorted(files)


def strip_descriptions(schema: Any) -> Any:
    """A copy of a JSON schema without the ``description`` of any schema node.

    Property *names* are kept, even a property called ``description``: only the keyword is
    dropped, where a node is a schema (not inside a ``properties`` map).
    """
    if isinstance(schema, list):
        return [strip_descriptions(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    out = {}
    for key, value in schema.items():
        if key == "description" and isinstance(value, str):
            continue
        if key in {"properties", "patternProperties", "definitions"} and isinstance(value, Mapping):
            out[key] = {name: strip_descriptions(sub) for name, sub in value.items()}
        elif key in {"default", "enum", "example", "x-kubernetes-validations"}:
            out[key] = value  # values, not schemas
        else:
            out[key] = strip_descriptions(value)
    return out


def build(corpus: Path, target: Path) -> int:
    """Write the bundle for ``corpus`` to ``target``; returns the number of CRDs."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    entries = []
    for path in bundle_files(corpus):
        crd = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
        for version in crd["spec"]["versions"]:
            schema = version.get("schema") or {}
            if "openAPIV3Schema" in schema:
                schema["openAPIV3Schema"] = strip_descriptions(schema["openAPIV3Schema"])
        entries.append({"path": path.relative_to(corpus).as_posix(), "crd": crd})
    text = json.dumps({"crds": entries}, sort_keys=True, separators=(",", ":"))
    # mtime=0: the same corpus always gives the same bytes.
    target.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))
    return len(entries)


def main(argv: list[str] | None = None) -> None:
    """``python -m meshgen.kube.bundled CORPUS``: rebuild meshgen/kube/crds/crds.json.gz."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="the CRD corpus (shared/crds)")
    args = parser.parse_args(argv)
    target = Path(__file__).resolve().parent / "crds" / "crds.json.gz"
    count = build(args.corpus, target)
    sys.stderr.write(f"wrote {count} CRDs to {target} ({target.stat().st_size} bytes)\n")


if __name__ == "__main__":
    main()

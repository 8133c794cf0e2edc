"""A model of how Consul decides one request from rendered ServiceIntentions (Consul CE).

Written from Consul's own description and code, not from meshgen:

* Precedence (https://developer.hashicorp.com/consul/docs/secure-mesh/intention, "Precedence
  and match order"): with one Consul namespace the table reduces to exact source -> exact
  destination (9), ``*`` -> exact destination (8), exact source -> ``*`` (6), ``*`` -> ``*`` (5):
  the destination's exactness first, then the source's.
* Only one intention applies to a caller: the highest-precedence one whose source matches it
  (hashicorp/consul ``agent/xds/rbac.go``: ``removeSameSourceIntentions`` drops lower intentions of
  the same source, ``removeSourcePrecedence`` AND-NOTs a higher source out of every lower one).
* An L4 intention allows or denies. An L7 intention's permissions are tried in order and the first
  that matches decides; a request matching none gets the *default intention policy* (the ACL
  default policy), never a lower intention (``removePermissionPrecedence``: permissions are
  AND-NOTed with earlier ones and those equal to the default are dropped, so an unmatched request
  lands on the RBAC filter's default).
* A permission matches when its path matcher (Envoy ``url_path``: the path without the query;
  ``pathRegex`` a full RE2 match), its methods (any of) and headers all match (``convertPermission``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from meshgen import pipeline
from meshgen.loader import parse_intent


@dataclass(frozen=True)
class Request:
    """One request from the caller's Consul service ``source`` to ``destination``."""

    source: str
    destination: str
    method: str = "GET"
    path: str = "/"
    headers: dict[str, str] = field(default_factory=dict)


def render_objects(text: str) -> list[dict[str, Any]]:
    """Render an intent for consul (losses allowed) and parse every object back."""
    intent = parse_intent(text, Path("intent.yaml"))
    rendering = pipeline.render(intent, "consul", "intent.yaml")
    return [yaml.safe_load(doc) for doc in rendering.documents]


def intentions(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flatten ServiceIntentions objects into intentions: {destination, source, precedence, ...}."""
    out = []
    for obj in objects:
        if obj["kind"] != "ServiceIntentions":
            continue
        dest = obj["spec"]["destination"]["name"]
        for src in obj["spec"].get("sources", []):
            precedence = (dest != "*", src["name"] != "*")
            out.append({"destination": dest, "source": src["name"], "precedence": precedence, **src})
    return out


def _path_only(path: str) -> str:
    return path.split("?", 1)[0]


def permission_matches(perm: dict[str, Any], req: Request) -> bool:
    """Whether one permission's ``http`` block matches ``req``."""
    http = perm.get("http")
    if http is None:
        return True
    path = _path_only(req.path)
    if "pathExact" in http and path != http["pathExact"]:
        return False
    if "pathPrefix" in http and not path.startswith(http["pathPrefix"]):
        return False
    if "pathRegex" in http and not re.fullmatch(http["pathRegex"], path):
        return False
    if http.get("methods") and req.method not in http["methods"]:
        return False
    for header in http.get("header", []):
        value = req.headers.get(header["name"])
        ok = value is not None and (
            ("exact" in header and value == header["exact"])
            or ("prefix" in header and value.startswith(header["prefix"]))
            or ("regex" in header and re.fullmatch(header["regex"], value) is not None)
            or header.get("present", False)
        )
        if header.get("invert"):
            ok = not ok
        if not ok:
            return False
    return True


def decide(objects: list[dict[str, Any]], req: Request, *, acl_default_allow: bool) -> bool:
    """Whether Consul admits ``req``, given the rendered objects and the ACL default policy."""
    applicable = [i for i in intentions(objects) if i["destination"] in (req.destination, "*")]
    applicable.sort(key=lambda i: i["precedence"], reverse=True)
    for ixn in applicable:
        if ixn["source"] not in (req.source, "*"):
            continue
        if "permissions" not in ixn:
            return ixn["action"] == "allow"
        for perm in ixn["permissions"]:
            if permission_matches(perm, req):
                return perm["action"] == "allow"
        return acl_default_allow
    return acl_default_allow

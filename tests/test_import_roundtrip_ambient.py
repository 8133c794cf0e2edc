"""Round trip on Istio ambient (issue 14): render(import(render(I))) is byte-identical to render(I).

The sibling of tests/test_import_roundtrip_linkerd.py for ``meshgen import --from istio-ambient``
(guessed from the waypoints): rendered with ``meshgen render --platform istio-ambient --output``,
imported, and checked with ``meshgen check`` against the first render (exit 0 = identical bytes).
Every example the loop covers loses something on ambient (faults, per-route retries, rate limits),
so it runs with ``--allow-loss``: the imported intent differs from the example only in what the
first render reported, and renders the same bytes. Expected values are hand-read from the
examples' intents, never computed by the importer.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from meshgen.importing.reader import SourceObject, read
from meshgen.importing.run import import_manifests
from meshgen.platforms.registry import guess_importer
from tests.conftest import EXAMPLES
from tests.workflow_helpers import round_trip, run

PLATFORM = "istio-ambient"
#: Examples whose ambient render (with --allow-loss) imports back to the same render (hand-listed).
ROUND_TRIP = {"bookinfo", "emojivoto", "online-boutique", "feature-tour", "podinfo"}
#: Examples that render on ambient without loss and import back to the same render.
LOSSLESS = {"production-identity"}  # mesh.ca, controlPlane, telemetry: meshgen/importing/operations.py


def _render(tmp_path: Path, example: str, *flags: str) -> Path:
    out = tmp_path / "out"
    result = run("render", f"examples/{example}/intent.yaml", "--platform", PLATFORM, *flags, "--output", out)
    assert result.exit_code == 0, result.stderr
    return out / PLATFORM


def _spec(text: str) -> dict:
    return yaml.safe_load(text)["spec"]


def test_every_example_is_classified():
    assert {p.parent.name for p in EXAMPLES} == ROUND_TRIP | LOSSLESS  # every example now imports back


@pytest.mark.parametrize("example", sorted(ROUND_TRIP))
def test_render_import_render_is_identical(tmp_path, example):
    # the first render loses something: without --allow-loss it refuses
    assert run("render", f"examples/{example}/intent.yaml", "--platform", PLATFORM, "--output", tmp_path / "x").exit_code == 3
    imported = round_trip(tmp_path, f"examples/{example}/intent.yaml", PLATFORM, "--allow-loss")
    assert "LOST" not in imported.stderr and "not-understood" not in imported.stderr
    assert f"platform: {PLATFORM}" in imported.stdout  # guessed from the waypoints


@pytest.mark.parametrize("example", sorted(LOSSLESS))
def test_lossless_render_import_render_is_identical(tmp_path, example):
    imported = round_trip(tmp_path, f"examples/{example}/intent.yaml", PLATFORM)
    assert "LOST" not in imported.stderr and "not-understood" not in imported.stderr
    assert f"platform: {PLATFORM}" in imported.stdout


def test_emojivoto_imports_the_intent_it_came_from(tmp_path):
    """Hand-read from examples/emojivoto/intent.yaml and the ambient render's losses."""
    spec = _spec(import_manifests([_render(tmp_path, "emojivoto", "--allow-loss")]).text)
    services = {s["name"]: s for s in spec["services"]}
    web = services["web-svc"]
    assert web["versions"] == [{"name": "v11", "weight": 90}, {"name": "v12", "weight": 10}]
    assert web["routes"] == [{"match": {"headers": {"x-canary": {"exact": "true"}}}, "version": "v12"}]
    assert web["timeout"] == "2s" and spec["defaults"]["timeout"] == "1s"  # emoji-svc's and voting-svc's
    # the waypoint policy's gRPC paths come back as the gRPC methods they were written from
    assert services["emoji-svc"]["allowFrom"][0]["grpc"] == {"service": "emojivoto.v1.EmojiService", "methods": ["ListAll", "FindByShortcode"]}
    assert services["voting-svc"]["allowFrom"][0]["grpc"] == {"service": "emojivoto.v1.VotingService"}
    # emoji-svc's own retries cannot be said on a waypoint (render reported it): the mesh-wide
    # policy istiod applies is the intent's default retries, none here (attempts: 0)
    assert "retries" not in spec["defaults"] and "retries" not in services["emoji-svc"]
    assert spec["mesh"]["defaultDeny"] is True


def test_feature_tour_routes_mirror_jwt_and_default_retries(tmp_path):
    """Hand-read from examples/feature-tour/intent.yaml."""
    spec = _spec(import_manifests([_render(tmp_path, "feature-tour", "--allow-loss")]).text)
    assert spec["defaults"]["retries"] == {"attempts": 2, "retryOn": ["5xx", "reset", "connect-failure"], "perTryTimeout": "1s"}
    api = next(s for s in spec["services"] if s["name"] == "api")
    assert api["versions"] == [{"name": "v1", "weight": 100}, {"name": "v2", "weight": 0}]
    assert api["routes"] == [
        {"match": {"path": {"prefix": "/v1/export"}, "method": "GET"}, "timeout": "30s"},
        {"match": {"path": {"prefix": "/v1/"}}, "mirror": {"version": "v2", "percent": 10}},
    ]
    assert api["requestAuthentication"] == {
        "issuer": "https://auth.example.com", "jwksUri": "https://auth.example.com/.well-known/jwks.json", "audiences": ["shop-api"],
    }
    assert api["allowFrom"] == [
        {"gateway": "public"},
        {"service": "storefront", "methods": ["GET", "POST"], "paths": ["/v1/cart/*", "/v1/products/*"]},
    ]
    checkout = next(s for s in spec["services"] if s["name"] == "checkout")
    assert [(v["name"], v["weight"]) for v in checkout["versions"]] == [("v1", 80), ("v2", 20)]


def test_podinfo_imports_its_flagger_rollout_and_the_policy_of_the_service(tmp_path):
    """Hand-read from examples/podinfo/intent.yaml: the waypoint policy of podinfo names the
    Services podinfo, podinfo-primary and podinfo-canary in the render; it comes back as podinfo's
    allowFrom, and the rollout as the Canary said it."""
    result = import_manifests([_render(tmp_path, "podinfo", "--allow-loss")])
    assert not [f for f in result.findings if f.is_loss]
    spec = _spec(result.text)
    assert spec["delivery"]["controller"] == "flagger"
    podinfo = next(s for s in spec["services"] if s["name"] == "podinfo")
    assert podinfo["allowFrom"] == [{"service": "frontend"}, {"service": "flagger-loadtester", "ports": ["http"]}]
    assert podinfo["rollout"]["steps"] == [{"weight": 10}, {"weight": 20}, {"weight": 30}, {"weight": 50}]
    assert [s["name"] for s in spec["services"]] == ["flagger-loadtester", "frontend", "podinfo"]


def test_podinfo_with_jwt_and_deny_rules_round_trips(tmp_path):
    """podinfo with a JWT requirement and a deny rule: the DENY policies and the
    RequestAuthentication on its waypoint name podinfo-primary and podinfo-canary too, and are
    narrowed back the same way (byte-identical, no loss beyond the render's)."""
    text = Path("examples/podinfo/intent.yaml").read_text()
    extra = (
        "      requestAuthentication: {issuer: https://auth.example.com, jwksUri: https://auth.example.com/jwks.json}\n"
        "      denyFrom: [{namespace: sandbox}]\n"
    )
    assert text.count("      timeout: 5s\n") == 1
    source = tmp_path / "intent.yaml"
    source.write_text(text.replace("      timeout: 5s\n", "      timeout: 5s\n" + extra))
    imported = round_trip(tmp_path, source, PLATFORM, "--allow-loss")
    assert "LOST" not in imported.stderr and "not-understood" not in imported.stderr
    rendered = tmp_path / "out" / PLATFORM / "test"
    for name in ("authorizationpolicy-podinfo-deny", "authorizationpolicy-podinfo-require-jwt",
                 "requestauthentication-podinfo"):
        assert "name: podinfo-canary" in (rendered / f"{name}.yaml").read_text()
    podinfo = next(s for s in _spec(imported.stdout)["services"] if s["name"] == "podinfo")
    assert podinfo["denyFrom"] == [{"namespace": "sandbox"}]
    assert podinfo["requestAuthentication"]["issuer"] == "https://auth.example.com"


PODINFO_REFS = """\
    - group: ""
      kind: Service
      name: podinfo
    - group: ""
      kind: Service
      name: podinfo-primary
    - group: ""
      kind: Service
      name: podinfo-canary
"""
OTHER_REF = """\
    - group: ""
      kind: Service
      name: {name}
"""
PRIMARY_REF, CANARY_REF = OTHER_REF.format(name="podinfo-primary"), OTHER_REF.format(name="podinfo-canary")


@pytest.mark.parametrize(
    "refs",
    [
        # a Service of the namespace not read here, after Flagger's (the end is no longer meshgen's)
        PODINFO_REFS + OTHER_REF.format(name="billing"),
        # the same Service between podinfo and Flagger's: the tail is meshgen's, billing is unknown
        OTHER_REF.format(name="podinfo") + OTHER_REF.format(name="billing") + PRIMARY_REF + CANARY_REF,
        # a Service read here after Flagger's: not the tail meshgen writes, so nothing is taken off
        PODINFO_REFS + OTHER_REF.format(name="frontend"),
        # canary before primary, or one of them missing: not what meshgen writes
        OTHER_REF.format(name="podinfo") + CANARY_REF + PRIMARY_REF,
        OTHER_REF.format(name="podinfo") + PRIMARY_REF,
    ],
    ids=["foreign-last", "foreign-inside", "known-last", "reordered", "no-canary"],
)
def test_widened_target_refs_with_anything_else_stay_lost(tmp_path, refs):
    """Only the exact -primary/-canary tail meshgen appends for a Flagger rollout is taken off
    (istio_ambient.importer.narrow_flagger_refs); any other targetRefs list is still reported LOST
    (fail closed), and the policy's Service stays closed (an ALLOW policy admits only its rules)."""
    out = _render(tmp_path, "podinfo", "--allow-loss")
    path = out / "test" / "authorizationpolicy-podinfo.yaml"
    text = path.read_text()
    assert PODINFO_REFS in text
    path.write_text(text.replace(PODINFO_REFS, refs))
    result = import_manifests([out])
    lost = [(f.ref, f.field, f.severity) for f in result.findings if f.is_loss]
    assert lost == [("AuthorizationPolicy test/podinfo", "spec.targetRefs", "LOST")]
    podinfo = next(s for s in _spec(result.text)["services"] if s["name"] == "podinfo")
    assert "allowFrom" not in podinfo  # its callers were in the dropped policy: nobody is admitted


def test_narrow_flagger_refs_takes_off_only_the_exact_tail():
    from meshgen.platforms.istio_ambient.importer import narrow_flagger_refs

    def ref(name, **extra):
        return {"group": "", "kind": "Service", "name": name, **extra}

    widened = [ref("api"), ref("api-primary"), ref("api-canary")]
    assert narrow_flagger_refs(widened, {"api"}) == [ref("api")]
    assert narrow_flagger_refs(widened, set()) == widened  # no Canary read for api
    assert narrow_flagger_refs(widened, {"web"}) == widened
    # two services rolled out, each widened in turn (api first, then web)
    both = [ref("api"), ref("web"), ref("api-primary"), ref("api-canary"), ref("web-primary"), ref("web-canary")]
    assert narrow_flagger_refs(both, {"api", "web"}) == [ref("api"), ref("web")]
    assert narrow_flagger_refs(both, {"api"}) == both  # web's tail is not api's
    # a copy that differs from the original ref in another key is not meshgen's
    odd = [ref("api"), ref("api-primary", group="core"), ref("api-canary")]
    assert narrow_flagger_refs(odd, {"api"}) == odd
    # a Gateway ref named like the service is not a Service ref
    gateway = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "api"}
    gw = [gateway, ref("api-primary"), ref("api-canary")]
    assert narrow_flagger_refs(gw, {"api"}) == gw


def test_bookinfo_service_timeout_shorter_than_the_mesh_per_try_timeout(tmp_path):
    """bookinfo: defaults.retries perTryTimeout 3s, reviews timeout 500ms. istiod's policy carries
    the 3s; reviews cannot hold it (the intent refuses perTryTimeout > timeout), so it gets the
    mesh-wide attempts without perTryTimeout, said at the values file's line."""
    result = import_manifests([_render(tmp_path, "bookinfo", "--allow-loss")])
    spec = _spec(result.text)
    assert spec["defaults"]["retries"] == {"attempts": 2, "retryOn": ["5xx", "reset", "connect-failure"], "perTryTimeout": "3s"}
    reviews = next(s for s in spec["services"] if s["name"] == "reviews")
    assert reviews["timeout"] == "500ms"
    assert reviews["retries"] == {"attempts": 2, "retryOn": ["5xx", "reset", "connect-failure"]}
    [said] = [f for f in result.findings if f.field == "meshConfig.defaultHttpRetryPolicy.perTryTimeout"]
    assert said.file.endswith("values/istiod.yaml") and said.severity == "approximated" and "bookinfo/reviews" in said.message


# --- guessing ----------------------------------------------------------------------------------


def test_ambient_output_is_guessed_as_ambient_and_sidecar_output_as_istio(tmp_path):
    out = tmp_path / "out"
    assert run("render", "examples/emojivoto/intent.yaml", "-p", "istio", "--allow-loss", "--output", out).exit_code == 0
    sidecar, _ = read([out / "istio"])
    ambient, _ = read([_render(tmp_path, "emojivoto", "--allow-loss")])
    assert guess_importer({o.group for o in sidecar}, sidecar) == "istio"
    assert guess_importer({o.group for o in ambient}, ambient) == PLATFORM
    # without the objects (the old call) the first importer claiming the groups still wins
    assert guess_importer({o.group for o in ambient}) == "istio"


def test_a_use_waypoint_label_alone_is_enough(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(SERVICES + "---\n" + PA)
    objects, _ = read([path])
    assert guess_importer({o.group for o in objects}, objects) == "istio"
    path.write_text(SERVICES.replace("labels: {app: api}", "labels: {app: api, istio.io/use-waypoint: wp}") + "---\n" + PA)
    objects, _ = read([path])
    assert guess_importer({o.group for o in objects}, objects) == PLATFORM


# --- hand-written manifests ----------------------------------------------------------------------

SERVICES = """\
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop, labels: {app: api}}
spec:
  selector: {app: api}
  ports: [{name: http, port: 80, targetPort: 8080, appProtocol: http}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, appProtocol: http}]
"""
PA = """\
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec: {mtls: {mode: STRICT}}
"""
ALLOW_WEB = """\
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: api, namespace: shop}
spec:
  targetRefs: [{group: "", kind: Service, name: api}]
  action: ALLOW
  rules:
    - from: [{source: {principals: [cluster.local/ns/shop/sa/web]}}]
      to: [{operation: {ports: ["80"], methods: [GET]}}]
"""
EMPTY_ALLOW = """\
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: api-nobody, namespace: shop}
spec:
  targetRefs: [{group: "", kind: Service, name: api}]
  action: ALLOW
"""


def _import(tmp_path: Path, *docs: str, values: str | None = None):
    path = tmp_path / "m.yaml"
    path.write_text("---\n".join(docs))
    paths = [path]
    if values is not None:
        (tmp_path / "istiod.yaml").write_text(values)
        paths.append(tmp_path / "istiod.yaml")
    return import_manifests(paths, PLATFORM)


def test_an_empty_allow_on_a_target_closes_that_target_not_the_namespace(tmp_path):
    """ALLOW policies are OR'd; one with targetRefs and no rules matches nothing for its target
    only (AuthorizationPolicy.targetRefs). api still admits web (the other policy); web stays
    open: no namespace-wide allow-nothing, so no mesh.defaultDeny."""
    spec = _spec(_import(tmp_path, SERVICES, PA, ALLOW_WEB, EMPTY_ALLOW).text)
    assert spec["mesh"] == {"mtls": "strict", "defaultDeny": False}
    api = next(s for s in spec["services"] if s["name"] == "api")
    # the waypoint policy's port is the Service port (80), not the pod's 8080
    assert api["allowFrom"] == [{"service": "web", "methods": ["GET"]}]


def test_an_empty_allow_alone_closes_its_target_and_says_so(tmp_path):
    result = _import(tmp_path, SERVICES, PA, EMPTY_ALLOW)
    spec = _spec(result.text)
    # the intent closes a service only through defaultDeny: fail closed, reported
    assert spec["mesh"]["defaultDeny"] is True
    assert any(f.severity == "approximated" and "shop/api: its ALLOW policies admit nobody" in f.message for f in result.findings)


def test_the_mesh_retry_policy_comes_from_istiod_values(tmp_path):
    values = "meshConfig:\n  defaultHttpRetryPolicy:\n    attempts: 3\n    perTryTimeout: 2s\n    retryOn: 5xx,gateway-error,503,bogus\n"
    result = _import(tmp_path, SERVICES, PA, values=values)
    assert _spec(result.text)["defaults"]["retries"] == {"attempts": 3, "retryOn": ["5xx", "gateway-error", 503], "perTryTimeout": "2s"}
    [lost] = [f for f in result.findings if f.severity == "LOST"]
    assert (Path(lost.file).name, lost.line, lost.field) == ("istiod.yaml", 5, "meshConfig.defaultHttpRetryPolicy.retryOn")
    assert "bogus" in lost.message
    # attempts 0 is "no retries"
    assert "retries" not in _spec(_import(tmp_path, SERVICES, PA, values="meshConfig:\n  defaultHttpRetryPolicy: {attempts: 0}\n").text)["defaults"]


def test_routes_without_values_say_istios_default_retries(tmp_path):
    route = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: api, namespace: shop}
spec:
  parentRefs: [{group: "", kind: Service, name: api, port: 80}]
  rules:
    - backendRefs: [{name: api, port: 80}]
      timeouts: {request: 3s}
"""
    result = _import(tmp_path, SERVICES, PA, route)
    spec = _spec(result.text)
    assert "retries" not in spec["defaults"]
    assert next(s for s in spec["services"] if s["name"] == "api")["timeout"] == "3s"
    assert any(f.ref == "HTTPRoute shop/api" and "Istio retries 2 times" in f.message for f in result.findings)


def test_what_is_not_understood_is_listed_per_object(tmp_path):
    wasm = """\
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: auth, namespace: shop}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: waypoint}]
  url: oci://example/auth:1
"""
    on_waypoint = """\
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: wp, namespace: shop}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: waypoint}]
  action: DENY
  rules: [{from: [{source: {namespaces: [sandbox]}}]}]
"""
    result = _import(tmp_path, SERVICES, PA, wasm, on_waypoint)
    found = {(f.line, f.ref, f.field, f.severity) for f in result.findings if f.is_loss}
    assert found == {
        (20, "WasmPlugin shop/auth", "", "not-understood"),
        (31, "AuthorizationPolicy shop/wp", "spec.targetRefs", "LOST"),
    }
    assert "is not read by the istio-ambient importer" in next(f.message for f in result.findings if f.ref == "WasmPlugin shop/auth")


def test_synthetic_intent_round_trips(tmp_path):
    """benchmarks/synthetic.py's intent at 60 services (versions with their own accounts, callers
    limited to versions, rate limits, circuit breaking, egress): ambient's render drops what it
    cannot say (--allow-loss); the import of that render renders back to the same bytes."""
    from benchmarks.synthetic import intent_yaml

    source = tmp_path / "intent.yaml"
    source.write_text(intent_yaml(60))
    imported = round_trip(tmp_path, source, PLATFORM, "--allow-loss")
    assert "LOST" not in imported.stderr and "not-understood" not in imported.stderr

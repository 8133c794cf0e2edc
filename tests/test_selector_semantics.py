"""An empty ``selector`` means one thing everywhere, or nothing (issue 18, item 6).

Before: ``allowFrom: [{selector: {}}]`` was accepted and admitted every pod of the namespace on
Cilium but only the intent's own workloads there on Istio and Linkerd. Now it is refused unless
``namespaceWide: true`` says "every workload of the namespace", and then every platform renders
exactly what ``namespace: <ns>`` renders.
"""

from __future__ import annotations

import pytest

from meshgen import pipeline
from meshgen.errors import IntentError
from meshgen.loader import load, load_intent
from meshgen.platforms import registry

HEAD = "apiVersion: meshgen.dev/v1alpha1\nkind: MeshIntent\nmetadata: {name: t}\nspec:\n"
BODY = """\
  defaults: {{namespace: shop}}
  services:
    - name: api
      ports: [{{name: http, port: 80}}]
      allowFrom:
        - {peer}
    - name: web
      ports: [{{name: http, port: 80}}]
      allowFrom: [{{gateway: gw}}]
  gateways:
    - name: gw
      serviceAccount: gw
      listeners: [{{port: 80, protocol: HTTP}}]
      routes: [{{service: web}}]
"""


def _write(tmp_path, peer: str, name: str = "intent.yaml"):
    path = tmp_path / name
    path.write_text(HEAD + BODY.format(peer=peer))
    return path


def test_empty_selector_is_refused_with_its_position(tmp_path):
    with pytest.raises(IntentError) as err:
        load_intent(_write(tmp_path, "{selector: {}}"))
    # line 10 "        - {selector: {}}": the value is a mapping, so the key is pointed at, column 12.
    assert str(err.value.problems[0]).startswith(
        f"{tmp_path}/intent.yaml:10:12: spec.services[0].allowFrom[0].selector: "
    )
    assert "namespaceWide: true" in str(err.value)


def test_namespace_wide_only_confirms_an_empty_selector(tmp_path):
    with pytest.raises(IntentError, match="namespaceWide only confirms an empty selector"):
        load_intent(_write(tmp_path, "{selector: {app: web}, namespaceWide: true}"))


@pytest.mark.parametrize("platform", registry.names())
def test_namespace_wide_renders_as_the_namespace_on_every_platform(tmp_path, platform):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    wide = load_intent(_write(tmp_path / "a", "{selector: {}, namespaceWide: true}"))
    namespace = load_intent(_write(tmp_path / "b", "{namespace: shop}"))
    ours = _stream(wide, platform)
    theirs = _stream(namespace, platform)
    assert ours == theirs
    marker = {
        "istio": "- shop",  # AuthorizationPolicy source.namespaces
        "linkerd": "*.shop.serviceaccount.identity.linkerd.cluster.local",
        "cilium": '"k8s:io.kubernetes.pod.namespace": shop',
    }.get(platform)
    assert marker is None or marker in ours


def _stream(intent, platform: str) -> str:
    return pipeline.render(intent, platform, "intent.yaml").stream


def test_namespace_wide_is_a_broad_allow_for_the_analyzers(tmp_path):
    from meshgen.analyze import analyze

    peer = "{selector: {}, namespaceWide: true}\n        - {service: web, methods: [GET]}"
    codes = [f.code for f in analyze(load([_write(tmp_path, peer)])).findings]
    assert "MG207" in codes

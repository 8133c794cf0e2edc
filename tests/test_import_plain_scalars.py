"""An imported string reads back as that string (issue 14).

meshgen's loader reads intents with the YAML 1.2 core schema (meshgen/loader.py), so ``yes``,
``on``, ``Off`` or ``y`` are strings to it; but ``1e5``, ``-.5``, ``08``, ``0o7`` and ``.5e5``
are numbers. The import writes the intent twice: a draft (libyaml's dumper, YAML 1.1 quoting) it
validates, and the laid-out intent (ruamel.yaml's YAML 1.2 quoting); neither quoted every string
meshgen's loader reads as a number, so a header value ``1e5`` failed the import ("input should be
a valid string") and ``.5e5`` would have been written plain and read back as 50000.0.
The expected values here are the strings the manifests hold, read back by meshgen's own loader.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from meshgen.importing.run import import_manifests
from meshgen.loader import load
from tests.workflow_helpers import round_trip

#: YAML 1.1 booleans (strings to the YAML 1.2 loader), and strings the loader reads as numbers.
VALUES = ["yes", "no", "on", "Off", "y", "N", "YES", "1e5", "-.5", "+.5", "08", "0o7", ".5e5", "1E+5", "0x1F"]

MANIFEST = """\
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: shop}}
spec:
  selector: {{app: web}}
  ports:
    - {{name: http, port: 8080}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: web, namespace: shop}}
spec:
  hosts: [web]
  http:
    - match:
        - headers:
            x-beta: {{exact: "{value}"}}
      route:
        - destination: {{host: web}}
    - route:
        - destination: {{host: web}}
"""


@pytest.mark.parametrize("value", VALUES)
def test_an_imported_header_value_reads_back_as_the_same_string(tmp_path, value):
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "web.yaml").write_text(MANIFEST.format(value=value))
    result = import_manifests([manifests], "istio")
    intent = tmp_path / "intent.yaml"
    intent.write_text(result.text)
    (service,) = load([intent]).intent.spec.services
    assert service.routes[0].match.headers["x-beta"].exact == value


INTENT = """\
apiVersion: meshgen.dev/v1alpha1
kind: MeshIntent
metadata:
  name: t
spec:
  platform: istio
  defaults: {{namespace: shop}}
  services:
    - name: web
      ports:
        - {{name: http, port: 8080, protocol: http}}
      versions:
        - {{name: v1, weight: 100}}
        - {{name: v2, weight: 0}}
      routes:
        - name: beta
          match: {{headers: {{x-beta: {{exact: "{value}"}}}}}}
          version: v2
"""


@pytest.mark.parametrize("value", ["yes", "1e5", ".5e5", "08"])
def test_render_import_render_keeps_the_string(tmp_path, value):
    source = tmp_path / "intent.yaml"
    source.write_text(INTENT.format(value=value))
    imported = round_trip(tmp_path, source, "istio")
    (service,) = load([Path(tmp_path / "imported.yaml")]).intent.spec.services
    assert service.routes[0].match.headers["x-beta"].exact == value
    assert "LOST" not in imported.stderr

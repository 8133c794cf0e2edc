"""Shared fixtures: the examples, readable YAML snapshots, a CRD catalog, test data.

The suite needs nothing beside the checkout: CRDs come from meshgen's bundled catalog
(meshgen/kube/crds/), chart values and upstream examples from tests/fixtures/ (copied from the
project's shared corpus; see tests/fixtures/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
EXAMPLES = sorted((REPO / "examples").glob("*/intent.yaml"))


class YamlSnapshot(SingleFileSnapshotExtension):
    """One readable .yaml file per snapshot, kept in tests/snapshots/."""

    file_extension = "yaml"
    _write_mode = WriteMode.TEXT

    @classmethod
    def dirname(cls, *, test_location) -> str:
        return str(REPO / "tests" / "snapshots")

    @classmethod
    def get_snapshot_name(cls, *, test_location, index) -> str:
        # Name the file after the parametrization only (e.g. bookinfo-istio.yaml).
        name = test_location.testname
        return name[name.index("[") + 1 : -1] if "[" in name else name


@pytest.fixture
def yaml_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(YamlSnapshot)


@pytest.fixture(scope="session")
def crd_catalog():
    from meshgen.kube import CRDCatalog

    return CRDCatalog.bundled()


def write_bundled_crds(folder: Path) -> Path:
    """Write meshgen's bundled CRDs into ``folder`` as a CRD directory (one JSON-as-YAML file each,
    the corpus layout), for tests of ``--crds DIR``; returns ``folder``."""
    from meshgen.kube.catalog import _bundle_entries

    for where, crd in _bundle_entries():
        target = folder / where
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(crd, indent=1), encoding="utf-8")
    return folder


def write_intent(tmp_path: Path, text: str, name: str = "intent.yaml") -> Path:
    """Write an intent file for a test and return its path."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


MINIMAL = """\
apiVersion: meshgen.dev/v1alpha1
kind: MeshIntent
metadata:
  name: shop
spec:
  defaults:
    namespace: shop
  services:
    - name: api
      ports:
        - {name: http, port: 8080}
      allowFrom:
        - service: web
    - name: web
      ports:
        - {name: http, port: 80, targetPort: 8080}
"""

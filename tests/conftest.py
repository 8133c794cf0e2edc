"""Shared fixtures: where ../shared is, the examples, readable YAML snapshots, a CRD catalog."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MESHGEN_SHARED", REPO.parent / "shared"))
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

    crds = SHARED / "crds"
    if not crds.is_dir():
        pytest.fail(f"CRD corpus not found at {crds}; set MESHGEN_SHARED to the shared/ folder")
    return CRDCatalog.from_directory(crds)


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

"""README, docs/analyzers.md and the analyzer registry agree; every documented example triggers its code."""

from __future__ import annotations

import re

import pytest

from meshgen.analyze import ANALYZERS, analyze
from meshgen.analyze.docs import BEGIN, END, codes_markdown
from meshgen.analyze.registry import Severity
from meshgen.loader import load
from tests.conftest import REPO

DOCS = (REPO / "docs" / "analyzers.md").read_text()
SECTIONS = dict(re.findall(r"^## (MG\d{3})\n(.*?)(?=^## |\Z)", DOCS, flags=re.DOTALL | re.MULTILINE))


def test_readme_lists_every_code():
    readme = (REPO / "README.md").read_text()
    assert readme[readme.index(BEGIN) : readme.index(END) + len(END)] == codes_markdown(), (
        "regenerate the README table with: python -m meshgen.analyze.docs"
    )


def test_docs_have_one_section_per_code():
    assert sorted(SECTIONS) == sorted(ANALYZERS)
    for code, text in SECTIONS.items():
        assert text.lstrip().startswith(f"**{ANALYZERS[code].name}**"), code
        assert "Fix:" in text, code


@pytest.mark.parametrize("code", sorted(ANALYZERS))
def test_documented_example_triggers_its_code(tmp_path, code):
    snippet = re.search(r"```yaml\n(spec:\n.*?)```", SECTIONS[code], flags=re.DOTALL).group(1)
    path = tmp_path / "intent.yaml"
    path.write_text("apiVersion: meshgen.dev/v1alpha1\nkind: MeshIntent\nmetadata: {name: docs}\n" + snippet)
    findings = analyze(load([path])).findings
    assert code in {f.code for f in findings}
    for f in findings:
        assert f.severity in ANALYZERS[f.code].severities, f.code  # severities are documented in the registry


def test_codes_are_grouped_by_family():
    for code, a in ANALYZERS.items():
        assert a.family == {"1": "traffic", "2": "security", "3": "operations", "4": "routing"}[code[2]]
        assert a.severities and all(isinstance(s, Severity) for s in a.severities)

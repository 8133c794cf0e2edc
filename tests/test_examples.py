"""Every shipped example renders on every platform: one reviewed snapshot each (CRD validity: test_platform_contract)."""

from __future__ import annotations

import pytest

from meshgen import load_intent, render
from meshgen.platforms import PLATFORMS
from meshgen.render import render_file
from tests.conftest import EXAMPLES, REPO


def _render(example, platform):
    return render(load_intent(example), platform, example.relative_to(REPO).as_posix())


def _report(rendering) -> str:
    """Findings, then the object stream, then every other file (Helm values) under its path."""
    lines = [f"# {f.support.value} {f.subject} {f.feature.value}: {f.detail}" for f in rendering.plan.findings]
    text = ("\n".join(lines) + "\n" if lines else "") + rendering.stream
    for planned in rendering.plan.files:
        text += f"--- # {planned.path}\n{render_file(planned)}"
    return text


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_example_renders_unchanged(example, platform, yaml_snapshot):
    assert _report(_render(example, platform)) == yaml_snapshot(name=f"{example.parent.name}-{platform}")


def test_examples_exist():
    names = {p.parent.name for p in EXAMPLES}
    assert {"bookinfo", "online-boutique"} <= names

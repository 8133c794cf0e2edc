"""What the operations planners add for every example on every platform, values files included.

tests/test_examples.py snapshots the YAML stream of registered platforms; this snapshots
plan_operations for all three (Linkerd and Cilium before they are registered) with the Helm
values files, which the stream does not carry: tests/snapshots/<example>-<platform>-operations.yaml.
"""

from __future__ import annotations

import pytest

from meshgen import load_intent
from meshgen.platforms.operations import plan_operations
from meshgen.render import join_documents, render_file, render_object
from tests.conftest import EXAMPLES


def _text(plan) -> str:
    lines = [f"# {f.support.value} {f.subject} {f.feature.value}: {f.detail}" for f in plan.findings]
    out = ("\n".join(lines) + "\n" if lines else "") + join_documents(render_object(o) for o in plan.objects)
    for f in plan.files:
        out += f"--- # {f.path}\n{render_file(f)}"
    return out


@pytest.mark.parametrize("platform", ["istio", "linkerd", "cilium"], ids=lambda p: f"{p}-operations")
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_operations_render_unchanged(example, platform, yaml_snapshot):
    plan = plan_operations(platform, load_intent(example))
    assert _text(plan) == yaml_snapshot

"""The loader's direct call of ``_macros.j2``'s metadata macro renders exactly what the macro call renders.

meshgen's template loader rewrites ``{{ m.metadata(meta, o) -}}`` into a filter calling the
compiled macro directly (no import and no Macro call handling per object, issue 17). The expected
text here comes from Jinja itself: the same templates read through Jinja's plain
``FileSystemLoader``, which keeps the import and the macro call.
"""

from __future__ import annotations

import jinja2
import pytest

from meshgen import load_intent
from meshgen.pipeline import plan
from meshgen.platforms import PLATFORMS
from meshgen.render import build_environment, environment, templates_dir
from tests.conftest import EXAMPLES


def _render(env: jinja2.Environment, obj) -> str:
    meta = {"name": obj.name, "namespace": obj.namespace, "api_version": obj.api_version, "kind": obj.kind}
    return env.get_template(obj.template).render(o=obj.values, meta=meta)


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_expanded_templates_render_what_the_macro_call_renders(platform):
    plain = build_environment(jinja2.FileSystemLoader(str(templates_dir())))
    ours = environment()
    compared = 0
    for example in EXAMPLES:
        for obj in plan(load_intent(example), platform).objects:
            assert _render(ours, obj) == _render(plain, obj), (example.parent.name, obj.template, obj.name)
            compared += 1
    assert compared > 0


def test_object_templates_call_the_macro_directly():
    env = environment()
    source = env.loader.get_source(env, "core/service.yaml.j2")[0]
    assert "m.metadata" not in source and "_macros.j2" not in source
    assert "{{ meta | _metadata_macro(o) -}}\n" in source
    # Read as written by Jinja's own loader, the template still imports and calls the macro.
    written = jinja2.FileSystemLoader(str(templates_dir())).get_source(env, "core/service.yaml.j2")[0]
    assert '{% import "_macros.j2" as m %}' in written and "{{ m.metadata(meta, o) -}}" in written


@pytest.mark.parametrize("call", ["{{ m.metadata(meta, o) -}}", "{{ m.metadata(meta, o) }}", "{{- m.metadata(meta, o) }}"])
def test_rewrite_keeps_the_whitespace_control_of_the_call(tmp_path, call):
    (tmp_path / "_macros.j2").write_text(
        "{% macro metadata(meta, o) %}\nmetadata:\n  name: {{ meta.name | y }}\n{% endmacro %}\n"
    )
    (tmp_path / "t.j2").write_text('{% import "_macros.j2" as m %}\nkind: X\n' + call + "\n\n   spec: {}\n")
    from meshgen.render import _Loader

    ours = build_environment(_Loader(str(tmp_path))).get_template("t.j2").render(meta={"name": "a"}, o={})
    plain = build_environment(jinja2.FileSystemLoader(str(tmp_path))).get_template("t.j2").render(meta={"name": "a"}, o={})
    assert ours == plain
    assert "metadata:\n  name: a\n" in ours

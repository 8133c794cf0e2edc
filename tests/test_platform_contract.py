"""The contract every registered platform passes unedited (a new platform is tested by registering it).

Parametrised over :mod:`meshgen.platforms.registry`:

* the package: its name follows its package, its column covers every feature with a reason, it has
  a ``templates/<name>/`` folder and uses only the template folders it declares;
* every example renders, or refuses with exit 3 naming each lost feature and writing nothing;
* every emitted object is accepted by the upstream CRDs (CEL rules included) and is the object
  that was planned (apiVersion, kind, name and namespace as its template writes them);
* the Helm values files are for charts the platform declares.

Also part of the contract, in their own modules because they cover more than platforms:
``test_capabilities.py`` (every feature a platform does not render natively yields a finding),
``test_render_safety.py`` (byte-identical across runs and hash seeds, hostile strings),
``test_examples.py`` (one reviewed snapshot per example and platform), ``test_kustomize.py``.
"""

from __future__ import annotations

import pytest

from meshgen import load_intent, render
from meshgen.capabilities import Feature, Support
from meshgen.platforms import registry
from tests.conftest import EXAMPLES, REPO
from tests.workflow_helpers import run

PLATFORM_NAMES = registry.names()
#: Template folders every platform may use (objects that are not any one mesh's).
SHARED_TEMPLATES = {"core", "gateway-api", "cert-manager", "trust-manager", "prometheus", "helm", "kustomize", "flagger", "argo-rollouts"}


def _render(example, platform):
    return render(load_intent(example), platform, example.relative_to(REPO).as_posix())


@pytest.mark.parametrize("package", registry.PACKAGES)
def test_package_is_a_complete_platform(package):
    platform = registry.get_platform(package.replace("_", "-"))
    assert platform.name == package.replace("_", "-")
    assert platform.description.strip()
    assert platform.control_plane_namespace.strip()
    assert set(platform.capabilities) == set(Feature), sorted(set(Feature) - set(platform.capabilities))
    for feature, cap in platform.capabilities.items():
        assert isinstance(cap.support, Support), feature
        assert cap.how.strip(), f"{platform.name}: {feature.value} needs a reason"
    assert platform.template_folders[0] == platform.name
    for folder in platform.template_folders:
        assert (REPO / "templates" / folder).is_dir(), folder
    assert len({c.name for c in platform.charts}) == len(platform.charts)


def test_registry_names_every_package_once():
    assert len(set(PLATFORM_NAMES)) == len(PLATFORM_NAMES) == len(registry.PACKAGES)
    assert list(registry.all_platforms()) == list(PLATFORM_NAMES)
    assert list(registry.matrix()[Feature.TIMEOUT]) == list(PLATFORM_NAMES)


def test_unknown_platform_is_an_error_everywhere(tmp_path):
    from meshgen.errors import UnknownPlatformError

    with pytest.raises(UnknownPlatformError, match="known: " + ", ".join(PLATFORM_NAMES)):
        registry.get_platform("nomesh-at-all")
    intent = (REPO / "examples" / "bookinfo" / "intent.yaml").read_text().replace("platform: istio", "platform: nomesh")
    path = tmp_path / "intent.yaml"
    path.write_text(intent)
    result = run("validate", path)
    assert result.exit_code == 1
    assert "spec.platform: unknown platform 'nomesh'; expected one of: " + ", ".join(PLATFORM_NAMES) in result.stderr
    assert run("render", REPO / "examples" / "bookinfo" / "intent.yaml", "--platform", "nomesh").exit_code == 2


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_example_renders_or_names_every_loss(example, platform):
    rendering = _render(example, platform)
    lost = sorted({f.feature.value for f in rendering.plan.findings if f.loses_intent})
    result = run("render", example, "--platform", platform)
    if not lost:
        assert result.exit_code == 0, result.stderr
        assert result.stdout == rendering.stream
        return
    assert result.exit_code == 3, result.stderr
    assert result.stdout == ""
    for feature in lost:
        assert "LOST" in result.stderr and feature in result.stderr, feature


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_example_objects_are_admissible_and_as_planned(example, platform, crd_catalog):
    from meshgen.kube import validate_objects

    rendering = _render(example, platform)
    own = registry.get_platform(platform).template_folders
    assert rendering.documents
    objects = rendering.objects()
    assert [str(v) for v in validate_objects(objects, crd_catalog)] == []
    for planned, obj in zip(rendering.plan.objects, objects, strict=True):
        meta = obj["metadata"]
        assert (obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace")) == (
            planned.api_version, planned.kind, planned.name, planned.namespace,
        ), planned.template
        folder = planned.template.split("/")[0]
        assert folder in own or folder in SHARED_TEMPLATES, f"{platform} uses {planned.template}"
    declared = {c.name for c in registry.get_platform(platform).charts}
    for planned_file in rendering.plan.files:
        if planned_file.path.startswith("values/"):
            assert planned_file.path[len("values/"):-len(".yaml")] in declared


def test_no_platform_name_outside_its_package_but_the_registry():
    # Everything else derives from the registry: a quoted platform name in meshgen's code outside
    # meshgen/platforms/<package>/ is a decision that a new platform would not reach.
    import re

    from meshgen.platforms import names

    quoted = re.compile(r"""["'](%s)["']""" % "|".join(re.escape(n) for n in names()))
    own = {f"meshgen/platforms/{n.replace('-', '_')}/" for n in names()}
    allowed = {"meshgen/platforms/registry.py", "meshgen/kube/bundled.py"}  # the list; CRD corpus folders
    found = []
    for path in sorted((REPO / "meshgen").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        if rel in allowed or any(rel.startswith(prefix) for prefix in own):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if quoted.search(code):
                found.append(f"{rel}:{number}: {line.strip()}")
    assert found == []

"""The wheel carries the templates: install it (not editable) into a fresh environment and render."""

from __future__ import annotations

import subprocess
import sys
import site
import venv
from pathlib import Path

from meshgen import load_intent, render
from tests.conftest import REPO


def test_wheel_installs_and_renders(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(REPO)],
        check=True,
        capture_output=True,
    )
    # The distribution is meshgen-intent (the index's "meshgen" is an unrelated project); the
    # version comes from meshgen/__init__.py only.
    (wheel,) = dist.glob("meshgen_intent-0.2.0-py3-none-any.whl")
    env_dir = tmp_path / "env"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    # Dependencies come from the test environment (appended after the new env's own site-packages,
    # so an editable meshgen there cannot shadow the wheel); meshgen itself only from the wheel.
    own = subprocess.run([python, "-c", "import site; print(site.getsitepackages()[0])"], capture_output=True, text=True, check=True)
    (Path(own.stdout.strip()) / "_test_deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([python, "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)], check=True)
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    where = subprocess.run(
        [python, "-c", "import meshgen; from meshgen.render import templates_dir; print(meshgen.__file__); print(templates_dir())"],
        cwd=workdir, capture_output=True, text=True, check=True,
    ).stdout.split()
    assert where[0].startswith(str(env_dir)), where
    assert where[1].startswith(str(env_dir)), "templates must come from the installed wheel"
    example = REPO / "examples" / "bookinfo" / "intent.yaml"
    result = subprocess.run(
        [env_dir / "bin" / "meshgen", "render", str(example)], cwd=workdir, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == render(load_intent(example), "istio", "unused").stream
    version = subprocess.run([env_dir / "bin" / "meshgen", "--version"], cwd=workdir, capture_output=True, text=True)
    assert (version.returncode, version.stdout) == (0, "meshgen 0.2.0\n")
    installed = subprocess.run(
        [python, "-c", "from importlib.metadata import version; print(version('meshgen-intent'))"],
        capture_output=True, text=True, check=True,
    )
    assert installed.stdout == "0.2.0\n"

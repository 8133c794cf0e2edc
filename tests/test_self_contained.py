"""The suite needs nothing beside the checkout (issue 16): no ../shared, no MESHGEN_SHARED."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def _copy_checkout(target: Path) -> Path:
    ignore = shutil.ignore_patterns(".venv", ".git", "__pycache__", ".pytest_cache", "build", "dist", "*.egg-info")
    shutil.copytree(REPO, target, ignore=ignore)
    return target


def test_crd_checks_pass_in_a_copy_with_nothing_beside_it(tmp_path):
    # A copy of the checkout alone in an empty folder, with MESHGEN_SHARED pointing nowhere:
    # the CRD checks of every example and platform still run, against the bundled catalog.
    copy = _copy_checkout(tmp_path / "alone" / "meshgen")
    assert sorted(p.name for p in copy.parent.iterdir()) == ["meshgen"]
    env = {**os.environ, "MESHGEN_SHARED": str(tmp_path / "nowhere")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests/test_platform_contract.py",
         "tests/test_validate.py", "-k", "admissible or upstream or bundle"],
        cwd=copy, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed and int(passed.group(1)) > 300, result.stdout[-500:]


def test_no_test_reads_the_shared_corpus():
    offenders = [
        str(p.relative_to(REPO)) for p in (REPO / "tests").rglob("*.py")
        if p.name != "test_self_contained.py"
        and re.search(r"MESHGEN_SHARED|\.\./shared|parent / \"shared\"", p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_ci_runs_the_readme_test_command_in_an_isolated_copy():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    command = "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && python -m pytest"
    assert command in readme
    assert ci.rstrip().splitlines()[-1] == command
    assert 'cd "$scratch"' in ci and "unset MESHGEN_SHARED" in ci

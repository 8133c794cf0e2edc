"""``meshgen init``: a starter repository from the cookiecutter template in ``template/``.

The starter holds an intent (with the ``# yaml-language-server: $schema=`` line and the schema
file it names), a Makefile with render/check/validate/schema targets, a pre-commit config and a
GitHub Actions workflow, and renders and checks clean as created. The template ships inside the
wheel (package data); cookiecutter's generation functions are called directly, so nothing is read
from or written to the user's cookiecutter configuration or replay folder.
"""

from __future__ import annotations

import re
from pathlib import Path

from meshgen import DISTRIBUTION, __version__
from meshgen.capabilities import Feature, Support
from meshgen.errors import OutputError, UsageError
from meshgen.platforms import get_platform
from meshgen.platforms.registry import DEFAULT
from meshgen.schema import schema_json

TEMPLATE = Path(__file__).resolve().parent / "template"
#: Where the starter keeps the intent schema (the intent's $schema line names it).
SCHEMA_PATH = "schema/meshintent.schema.json"


def dns_name(text: str) -> str:
    """``My Shop_2`` -> ``my-shop-2``: a DNS-1123 label for metadata.name and namespaces."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:63].rstrip("-")


def init_project(
    target: Path,
    *,
    platform: str = DEFAULT,
    name: str | None = None,
    namespace: str | None = None,
    output: str = "deploy",
) -> list[Path]:
    """Create a starter repository in ``target`` (which must be missing or empty).

    Args:
        target: the new repository's folder.
        platform: a registered platform; its gateway support decides whether the starter has one, and a
            platform without mTLS (no mesh) gets a starter limited to what NetworkPolicy expresses.
        name: the application's name (``metadata.name``). Default: ``target``'s name as a DNS label.
        namespace: the services' namespace. Default: ``name``.
        output: output directory for rendered manifests, relative to ``target``.

    Returns:
        The files created, sorted.

    Raises:
        UnknownPlatformError: ``platform`` is not registered.
        UsageError: no valid name can be derived, or ``target`` is a non-empty directory or a file.
    """
    chosen = get_platform(platform)
    target = Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(
            f"{target} already exists and is not an empty directory; meshgen init only creates new repositories"
        )
    app = dns_name(name or target.resolve().name)
    if not app:
        raise UsageError(f"cannot derive an application name from {target.resolve().name!r}; pass --name")
    space = dns_name(namespace) if namespace else app
    gateway = chosen.capabilities[Feature.GATEWAY_HTTP].support is not Support.NOT_EXPRESSIBLE
    # Without mTLS there is no proxy either (the no-mesh baseline): the starter keeps to what L4 expresses.
    mesh = chosen.capabilities[Feature.MTLS_STRICT].support is not Support.NOT_EXPRESSIBLE

    from cookiecutter.generate import generate_context, generate_files
    from cookiecutter.prompt import prompt_for_config

    context = generate_context(
        context_file=str(TEMPLATE / "cookiecutter.json"),
        extra_context={
            "project_slug": target.name,
            "app_name": app,
            "namespace": space,
            "platform": platform,
            "gateway": "yes" if gateway else "no",
            "mesh": "yes" if mesh else "no",
            "output": output,
            "meshgen_version": __version__,
            "meshgen_distribution": DISTRIBUTION,
        },
    )
    context["cookiecutter"].update(prompt_for_config(context, no_input=True))
    try:
        created = Path(
            generate_files(
                repo_dir=str(TEMPLATE),
                context=context,
                output_dir=str(target.resolve().parent),
                overwrite_if_exists=target.exists(),
                accept_hooks=False,
            )
        )
    except Exception as exc:  # cookiecutter raises its own types; report them as meshgen errors
        raise OutputError(f"cannot create {target}: {exc}") from None
    schema = created / SCHEMA_PATH
    schema.parent.mkdir(parents=True, exist_ok=True)
    schema.write_text(schema_json(), encoding="utf-8")
    return sorted(p for p in created.rglob("*") if p.is_file())


"""The locale tools import no domain: every package uses them, so nothing they import may
import a package above them, directly or through the registry modules they import."""

from __future__ import annotations

import ast
from pathlib import Path

import registry

PACKAGE = Path(registry.__file__).parent


def _module_file(module: str) -> Path | None:
    """The source file of a registry module, or None for a module outside the registry."""
    parts = module.split(".")
    if parts[0] != "registry":
        return None
    path = PACKAGE.joinpath(*parts[1:])
    if path.is_dir():
        return path / "__init__.py"
    file = path.with_suffix(".py")
    return file if file.is_file() else None


def _module_name(file: Path) -> str:
    parts = file.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(file: Path) -> set[str]:
    """Every registry module ``file`` imports, at the top, in a function or for typing."""
    package = _module_name(file)
    if file.name != "__init__.py":
        package = package.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0]
                base = f"{anchor}.{base}" if base else anchor
            found.add(base)
            # `from registry.locales import messages` imports a module, not a name.
            found.update(
                f"{base}.{alias.name}"
                for alias in node.names
                if _module_file(f"{base}.{alias.name}") is not None
            )
    return {module for module in found if _module_file(module) is not None}


def import_chains(package: str) -> dict[str, list[str]]:
    """Each registry module the modules of ``package`` reach through their imports, with
    the chain of imports that reaches it."""
    start = _module_file(package)
    assert start is not None
    chains = {
        _module_name(file): [_module_name(file)] for file in sorted(start.parent.rglob("*.py"))
    }
    pending = list(chains)
    while pending:
        module = pending.pop()
        file = _module_file(module)
        assert file is not None
        for imported in sorted(imported_modules(file)):
            if imported not in chains:
                chains[imported] = [*chains[module], imported]
                pending.append(imported)
    return chains


def _is_domain(module: str) -> bool:
    """A module of a package other than the locale tools, or a service anywhere."""
    parts = module.split(".")
    subpackage = len(parts) > 2 or (len(parts) == 2 and PACKAGE.joinpath(parts[1]).is_dir())
    return (subpackage and parts[1] != "locales") or parts[-1] == "service"


def test_the_locale_tools_reach_no_domain_package_or_service() -> None:
    chains = import_chains("registry.locales")
    reached = {module: " -> ".join(chain) for module, chain in chains.items() if _is_domain(module)}
    assert reached == {}


def test_the_check_sees_imports_that_cross_the_layers() -> None:
    # The translations import the prompts' tables and the locale tools, which the check
    # must see for its silence about registry.locales to mean anything.
    chains = import_chains("registry.translations")
    assert "registry.prompts.models" in chains
    assert chains["registry.locales.requests"][-1] == "registry.locales.requests"
    assert "registry.locales.messages" in imported_modules(PACKAGE / "locales" / "tags.py")

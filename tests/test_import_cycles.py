"""The import graph of core/, server/ and gui/, counting every import the source writes: no cycles, and no
protocol adapter (a package under server/) importing another one."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "server", "gui")

# Adapter -> adapter imports that are allowed, within the OpenAI family only: the legacy completions API is
# the Chat Completions protocol with a prompt instead of messages (it reuses that adapter's decode, encode and
# stream pieces), and the Responses API answers errors in OpenAI's error shape (server.openai's PROTOCOL and
# error_body). Anything adapters of different protocols share lives in a neutral server module
# (server/request_parts.py, server/embeddings.py, server/protocol.py, server/handling.py).
SAME_FAMILY_IMPORTS = frozenset(
    {("server.openai_completions", "server.openai"), ("server.openai_responses", "server.openai")}
)


def module_files() -> dict[str, Path]:
    """Every module of the packages, by dotted name (a package by its own name, for its __init__.py)."""
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def imported_names(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Every dotted name the module imports, wherever the import stands: at the top, in a function, under
    TYPE_CHECKING (a cycle hides in the last two), as `from package import module` too."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def import_graph() -> dict[str, set[str]]:
    modules = module_files()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        wanted = imported_names(tree, module, path.name == "__init__.py")
        # `from core import types` names the module core.types; `from core.types import JSON` names core.types.
        graph[module] = {name for name in wanted if name in modules and name != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_graph_sees_every_kind_of_import() -> None:
    source = """
from typing import TYPE_CHECKING
import core.types
from core import config
from . import pool
if TYPE_CHECKING:
    from core.gateway import Gateway
def later():
    from core.media import Media
"""
    names = imported_names(ast.parse(source), "core.accounts", is_package=False)
    assert {"core.types", "core.config", "core.pool", "core.gateway", "core.media"} <= names


def test_a_cycle_is_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycles() -> None:
    graph = import_graph()
    assert len(graph) > 50  # the walk found the packages
    found = cycles(graph)
    assert found == [], "import cycles:\n" + "\n".join(" <-> ".join(cycle) for cycle in found)


def adapter_of(module: str) -> str | None:
    """The adapter package a server module belongs to (server.ollama for server.ollama.decode), or None for
    the neutral server modules and everything outside server/."""
    parts = module.split(".")
    if len(parts) < 2 or parts[0] != "server" or not (ROOT / "server" / parts[1] / "__init__.py").is_file():
        return None
    return f"server.{parts[1]}"


def cross_adapter_imports(graph: dict[str, set[str]]) -> list[str]:
    """Every import of one adapter package's module by another's, but the same-family exceptions."""
    found: list[str] = []
    for module, targets in sorted(graph.items()):
        source = adapter_of(module)
        if source is None:
            continue
        for target in sorted(targets):
            imported = adapter_of(target)
            if imported is not None and imported != source and (source, imported) not in SAME_FAMILY_IMPORTS:
                found.append(f"{module} imports {target}")
    return found


def test_a_cross_adapter_import_is_found() -> None:
    graph = {
        "server.ollama.decode": {"server.openai.decode", "server.request_parts", "server.ollama.encode"},
        "server.openai_completions.decode": {"server.openai.decode"},
        "server.handling": {"server.openai"},  # composition and neutral modules may
        "server.anthropic": {"server.gemini.translate"},
    }
    assert cross_adapter_imports(graph) == [
        "server.anthropic imports server.gemini.translate",
        "server.ollama.decode imports server.openai.decode",
    ]


def test_adapters_do_not_import_each_other() -> None:
    graph = import_graph()
    adapters = {adapter_of(module) for module in graph} - {None}
    assert {"server.anthropic", "server.gemini", "server.ollama", "server.openai"} <= adapters
    found = cross_adapter_imports(graph)
    assert found == [], "adapters importing other adapters:\n" + "\n".join(found)

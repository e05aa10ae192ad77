"""The engine's layout: folders that name its parts, no import cycles, no streamlit, no giant modules.

The import graph is read from the source (every `import`, lazy ones inside functions too), so a
cycle hidden behind a function-level import still fails here: lazy imports hide cycles from the
interpreter, not from the design.
"""
from __future__ import annotations

import ast
from pathlib import Path

GEN_CORE = Path(__file__).resolve().parents[1] / "gen_core"
PARTS = {"models", "objectives", "data", "training", "evaluation", "persistence", "classroom", "experiments",
         "figures", "cli", "config", "presets"}
TOP_LEVEL_MODULES = {"__init__.py", "__main__.py"}
MAX_LINES = 460   # "a module over ~400 lines is usually two"


def _modules() -> dict[str, Path]:
    out = {}
    for path in GEN_CORE.rglob("*.py"):
        parts = path.relative_to(GEN_CORE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The gen_core modules `name` imports (a `from pkg import sub` counts as importing pkg.sub)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            subs = {f"{source}.{a.name}" for a in node.names if f"{source}.{a.name}" in modules}
            out |= subs if subs and len(subs) == len(node.names) else {source} | subs
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return {m for m in out if m in modules and m != name}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_gen_core_has_no_import_cycles():
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_gen_core_module_imports_streamlit():
    for path in GEN_CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n == "streamlit" or n.startswith("streamlit.") for n in names), path


def test_folders_name_the_parts_and_modules_stay_short():
    top = {p.name for p in GEN_CORE.iterdir() if p.suffix == ".py"}
    folders = {p.name for p in GEN_CORE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert top <= TOP_LEVEL_MODULES, f"flat modules crept back: {sorted(top - TOP_LEVEL_MODULES)}"
    assert PARTS <= folders
    for path in GEN_CORE.rglob("*.py"):
        assert len(path.read_text().splitlines()) <= MAX_LINES, path
    for folder in folders:
        doc = ast.get_docstring(ast.parse((GEN_CORE / folder / "__init__.py").read_text()))
        assert doc, f"gen_core/{folder}/__init__.py says what the part is"

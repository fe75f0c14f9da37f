"""Layering: no kit module imports in a cycle, and `import kit` stays light (no torch until it is used).

The import graph is read from the source with `ast`: an edge for every `import kit...` / `from kit... import`
anywhere in a module (inside functions too, not under `if TYPE_CHECKING:`), plus one to each parent package
whose `__init__` the import runs (the importing module's own parent packages are already imported).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KIT = ROOT / "kit"

Graph = dict[str, dict[str, int]]  # module -> {imported module: line of the first such import}


def module_names() -> dict[str, Path]:
    """Every module of the kit package by dotted name (a package by its own name), with its source file."""
    names = {}
    for path in sorted(KIT.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found, todo = [], [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            todo.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return found


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def imported_modules(module: str, path: Path, known: set[str]) -> list[tuple[str, int]]:
    """(kit module, line) for each kit module an import statement in `path` names."""
    out = []
    for node in _import_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.extend((alias.name, node.lineno) for alias in node.names)
            continue
        base = node.module or ""
        if node.level:  # relative: resolved against the importing module's package
            package = _package_of(module, path).split(".")
            base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            out.append((submodule if submodule in known else base, node.lineno))
    return [(name, line) for name, line in out if name == "kit" or name.startswith("kit.")]


def import_graph() -> Graph:
    """module -> {module it imports, directly or by running a parent package's __init__: line}."""
    names = module_names()
    graph: Graph = {name: {} for name in names}
    for module, path in names.items():
        ancestors = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
        for target, line in imported_modules(module, path, set(names)):
            parts = target.split(".")
            for i in range(1, len(parts) + 1):
                step = ".".join(parts[:i])
                if step in names and step != module and step not in ancestors:
                    graph[module].setdefault(step, line)
    return graph


def find_cycle(graph: Graph) -> list[str] | None:
    """One cycle as [a, b, ..., a], or None (depth-first search, in sorted order for a stable answer)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, {})):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def describe_cycle(cycle: list[str], graph: Graph, files: dict[str, Path]) -> str:
    """'a -> b (kit/a.py:12) -> a (kit/b.py:40)' for the test's message."""
    steps = [cycle[0]]
    for source, target in zip(cycle, cycle[1:], strict=False):
        where = files[source].relative_to(ROOT).as_posix() if source in files else source
        steps.append(f"{target} ({where}:{graph[source][target]})")
    return " -> ".join(steps)


def layer_graph(graph: Graph) -> Graph:
    """The same graph between the kit's top-level parts (kit.train, kit.data, kit.distillation, ...)."""
    def layer(module: str) -> str:
        return ".".join(module.split(".")[:2])

    layers: Graph = {}
    for module, targets in graph.items():
        if module == "kit":
            continue
        for target, line in targets.items():
            if layer(target) != layer(module):
                layers.setdefault(layer(module), {}).setdefault(layer(target), line)
    return layers


def test_the_graph_sees_function_level_and_parent_package_imports():
    graph = import_graph()
    assert "kit.train.resume" in graph["kit.checkpoints"]
    assert "kit.data.corpus" in graph["kit.recipes"]  # imported inside a method
    assert "kit.train" in graph["kit.recipes"]  # importing kit.train.classify runs kit/train/__init__.py
    assert "kit.train" not in graph["kit.train.classify"]  # its own package is imported before it runs


def test_find_cycle_names_the_modules_and_lines():
    graph = {"kit.a": {"kit.b": 3}, "kit.b": {"kit.c": 5}, "kit.c": {"kit.a": 7}, "kit.d": {"kit.a": 1}}
    cycle = find_cycle(graph)
    assert cycle == ["kit.a", "kit.b", "kit.c", "kit.a"]
    files = {m: KIT / f"{m[4:]}.py" for m in graph}
    assert describe_cycle(cycle, graph, files) == (
        "kit.a -> kit.b (kit/a.py:3) -> kit.c (kit/b.py:5) -> kit.a (kit/c.py:7)")
    assert find_cycle({"kit.a": {"kit.b": 1}, "kit.b": {}}) is None


def test_no_kit_module_imports_in_a_cycle():
    graph = import_graph()
    cycle = find_cycle(graph)
    assert cycle is None, f"import cycle: {describe_cycle(cycle, graph, module_names())}"


def test_no_cycle_between_the_kits_parts():
    """A subpackage and a module beside it import in one direction only (kit.train uses kit.distillation, so
    kit.distillation uses nothing from kit.train)."""
    graph = import_graph()
    layers = layer_graph(graph)
    cycle = find_cycle(layers)
    assert cycle is None, "import cycle between parts of the kit: " + " -> ".join(cycle or [])


def modules_loaded_after(code: str) -> set[str]:
    """The names in sys.modules after running `code` in a fresh interpreter (the kit from this checkout).

    The checks below use it for the entry points that must stay light.
    """
    script = f"{code}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return set(run.stdout.split())


def test_import_kit_does_not_import_torch():
    assert "torch" not in modules_loaded_after("import kit")
    assert "torch" not in modules_loaded_after("import kit.parameters")
    assert "torch" not in modules_loaded_after("import kit\nkit.check_parameters\nkit.__all__\ndir(kit)")


def test_reading_the_chapters_does_not_import_torch():
    """The book reads every chapter's parameters, rules and declarations before it prepares anything."""
    code = "from kit.book import select\nfrom kit.chapters import read_chapter\n[read_chapter(c) for c in select(None)]"
    assert "torch" not in modules_loaded_after(code)
    assert "torch" not in modules_loaded_after("import kit.exercises")


def test_the_command_line_parses_its_arguments_without_torch():
    code = ("import contextlib, io\nfrom kit.__main__ import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n        main(['doctor', '--help'])\n    except SystemExit:\n        pass")
    assert "torch" not in modules_loaded_after(code)


def test_a_torch_using_name_still_resolves_from_the_package():
    assert "torch" in modules_loaded_after("import kit\nkit.setup_notebook")

"""The shape of the code, checked like behaviour: the import contract, no import circles, no room
holding more than a third of the lines, no function over 60 lines without a reason."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROOMS = ("core", "world", "prompt", "feedback", "judge", "models", "demo", "bench")
LONG = 60  # lines; a longer function is split, or says why in a docstring starting "Long because"


def project_files() -> list[Path]:
    files = [ROOT / "app.py"]
    for room in ROOMS:
        files += sorted((ROOT / room).rglob("*.py"))
    return files


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Project modules `path` imports (at any depth of the file: lazy imports count too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, out, counter = {}, {}, set(), [], [], [0]

    def visit(root: str) -> None:
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


def test_no_import_circles():
    files = {module_name(p): p for p in project_files()}
    modules = set(files)
    graph = {}
    for name, path in files.items():
        # a package's __init__ importing its own submodules is how a package exports; not a circle
        graph[name] = {m for m in imports_of(path, modules) if m != name and not m.startswith(name + ".")}
    assert cycles(graph) == []


def test_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_room_holds_more_than_a_third_of_the_lines():
    lines = {room: sum(len(p.read_text().splitlines()) for p in (ROOT / room).rglob("*.py")) for room in ROOMS}
    total = sum(lines.values()) + len((ROOT / "app.py").read_text().splitlines())
    biggest = max(lines, key=lines.get)
    assert lines[biggest] / total <= 1 / 3, f"{biggest} holds {lines[biggest]} of {total} lines"


def long_functions(path: Path, root: Path = ROOT) -> list[str]:
    """Functions over LONG lines whose docstring does not start a paragraph with 'Long because'."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            doc = ast.get_docstring(node) or ""
            if length > LONG and "Long because" not in doc:
                out.append(f"{path.relative_to(root)}:{node.lineno} {node.name} ({length} lines)")
    return out


def test_every_long_function_is_split_or_says_why():
    assert [f for p in project_files() for f in long_functions(p)] == []


def test_long_function_check_catches_one(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(LONG))
    (tmp_path / "m.py").write_text(f"def f():\n    '''Short.'''\n{body}\n")
    path = tmp_path / "m.py"
    path.write_text(f"def f():\n    \"\"\"Short.\"\"\"\n{body}\n")
    assert len(long_functions(path, tmp_path)) == 1
    path.write_text(f"def f():\n    \"\"\"Long because it is a test.\"\"\"\n{body}\n")
    assert long_functions(path, tmp_path) == []


def test_import_contract_is_kept():
    """The layered contract in pyproject.toml: bench > demo > judge | models > world > prompt > core.

    import-linter is in requirements-dev.txt, so a missing lint-imports is a failure, not a skip.
    """
    lint = shutil.which("lint-imports") or shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "lint-imports not found: pip install -r requirements-dev.txt"
    run = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": str(Path(sys.executable).parent)})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]


def readme_map() -> str:
    """The code block under README's '## Layout'."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Layout"):]
    start = section.index("```") + 3
    return section[start:section.index("```", start)]


def map_problems(block: str, root: Path) -> list[str]:
    """Files the map names that the tree lacks, and project files the map does not name.

    A line that starts with 'folder/' opens that folder (inside the folder of the nearest less-indented
    such line); the .py names on a line are in the folder it opens, or else the one it sits in."""
    named, problems, opened = set(), [], []  # opened: (indent, folder path)
    for line in block.splitlines():
        words = line.split()
        if not words:
            continue
        indent = len(line) - len(line.lstrip())
        opened = [(i, f) for i, f in opened if i < indent]
        folder = opened[-1][1] if opened else ""
        if words[0].endswith("/"):
            folder = f"{folder}{words[0]}"
            opened.append((indent, folder))
            named.add(folder.rstrip("/"))
            if not (root / folder).is_dir():
                problems.append(f"named but missing: {folder}")
        for word in (w.strip("():,;") for w in words):
            if word.endswith(".py") and "/" not in word:
                named.add(f"{folder}{word}")
                if not (root / folder / word).exists():
                    problems.append(f"named but missing: {folder}{word}")
    for room in ROOMS:
        for path in (root / room).rglob("*.py"):
            rel = path.relative_to(root).as_posix()
            if path.name != "__init__.py" and rel not in named:
                problems.append(f"not on the map: {rel}")
    return problems


def test_readme_map_matches_the_tree():
    assert map_problems(readme_map(), ROOT) == []


def test_map_check_catches_a_missing_and_an_unmapped_file(tmp_path):
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "a.py").write_text("")
    (tmp_path / "core" / "b.py").write_text("")
    problems = map_problems("core/   a.py c.py\n", tmp_path)
    assert "named but missing: core/c.py" in problems and "not on the map: core/b.py" in problems

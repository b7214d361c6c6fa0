"""The package's modules import each other without a cycle, and the command line stays light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import lungnet

PACKAGE = Path(lungnet.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """lungnet modules that ``path`` imports at module level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {name for name in names if name in modules}
    return found


def _import_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(files)
    return {name: _imports(path, modules) for name, path in files.items()}


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt == node or nxt.startswith(node + "."):
                continue  # a package importing its own submodules is not a cycle
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_no_module_of_the_package_takes_part_in_an_import_cycle():
    assert _find_cycle(_import_graph()) is None


def test_the_cycle_finder_finds_a_cycle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_building_the_command_line_loads_neither_torch_nor_lightning():
    code = (
        "import sys; import lungnet.cli as c; c.build_parser(); "
        "print(sorted(m for m in ('torch', 'lightning') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_a_command_starts_without_pydicom_or_package_metadata():
    code = (
        "import sys; from lungnet.cli import main\n"
        "try:\n    main(['preprocess', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('pydicom', 'importlib.metadata') if sys.modules.get(m)))"
    )
    assert _run(code).splitlines()[-1] == "[]"


def test_pydicom_stays_importable_after_the_command_line_loaded_nibabel():
    code = (
        "import sys; from lungnet.cli import _import_nibabel_without_pydicom\n"
        "_import_nibabel_without_pydicom()\n"
        "import nibabel.nifti1, pydicom\n"
        "print('nibabel' in sys.modules, nibabel.nifti1.have_dicom, pydicom.Dataset.__name__)"
    )
    assert _run(code) == "True False Dataset"


def test_a_process_that_imported_pydicom_first_keeps_nibabel_whole():
    code = (
        "import pydicom; from lungnet.cli import _import_nibabel_without_pydicom\n"
        "_import_nibabel_without_pydicom()\n"
        "import nibabel.nifti1; print(nibabel.nifti1.have_dicom)"
    )
    assert _run(code) == "True"

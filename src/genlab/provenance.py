"""Which source files a piece of code can run: the import closure of a module, read from the source.

Every ``import`` and ``from ... import`` statement counts, those inside functions too (they run when the function
does), and importing ``a.b.c`` runs the ``__init__`` of ``a`` and ``a.b`` first. The closure is what a DVC stage
must declare as its code dependencies (the test of ``dvc.yaml`` uses it), and its digest is what a checkpoint
must match to be resumed by the same code.
"""

from __future__ import annotations

import ast
from pathlib import Path

from genlab.io import sha256

GENLAB = Path(__file__).resolve().parent


def _file(module: str, roots: dict[str, Path]) -> Path | None:
    """The source file of ``module`` under one of ``roots`` (top-level package -> its folder), or None."""
    top, *rest = module.split(".")
    if top not in roots:
        return None
    base = roots[top].joinpath(*rest)
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _name(path: Path, roots: dict[str, Path]) -> str:
    for top, root in roots.items():
        if path.is_relative_to(root):
            parts = [top, *path.relative_to(root).with_suffix("").parts]
            return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    raise ValueError(f"{path} is under none of {list(roots.values())}")


def imported_modules(path: Path, roots: dict[str, Path]) -> set[str]:
    """The modules under ``roots`` that the statements of ``path`` import, anywhere in the file."""
    here = _name(path, roots)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from .x import y
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import submodule`
    return {m for m in out if _file(m, roots) is not None}


def closure(modules: list[str], roots: dict[str, Path] | None = None) -> set[Path]:
    """Every source file that importing ``modules`` (and calling anything in them) can run."""
    roots = roots or {"genlab": GENLAB}
    seen: set[Path] = set()
    todo = list(modules)
    while todo:
        module = todo.pop()
        parts = module.split(".")
        for i in range(1, len(parts) + 1):  # the packages above run first
            path = _file(".".join(parts[:i]), roots)
            if path is not None and path not in seen:
                seen.add(path)
                todo.extend(imported_modules(path, roots))
    return seen


def digest(files: set[Path], root: Path = GENLAB) -> str:
    """The hash of the files' paths (relative to ``root``) and contents."""
    return sha256({str(path.relative_to(root)): sha256(path) for path in files})

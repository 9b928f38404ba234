"""Which source files a piece of code can run: the import closure of a module, read from the source.

Every ``import`` and ``from ... import`` statement counts, those inside functions too (they run when the function
does), and importing ``a.b.c`` runs the ``__init__`` of ``a`` and ``a.b`` first. The closure is what a DVC stage
must declare as its code dependencies (the test of ``dvc.yaml`` uses it), and its digest is what a checkpoint
must match to be resumed by the same code.
"""

from __future__ import annotations

import ast
import functools
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


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def code_text(path: Path) -> str:
    """The code of a source file as ``ast.unparse`` writes it without docstrings: comments, docstrings, blank
    lines and line breaks do not count, every statement and literal does."""
    return _code_of(path.read_text())


@functools.lru_cache(maxsize=None)
def _code_of(source: str) -> str:
    return ast.unparse(_without_docstrings(ast.parse(source)))


def code_digest(files: set[Path], root: Path) -> str:
    """The hash of what the files compute: their paths (relative to ``root``) and :func:`code_text`; a reflowed
    docstring or a new comment leaves it as it was."""
    return sha256({path.relative_to(root).as_posix(): sha256(code_text(path).encode()) for path in sorted(files)})


def _stages_dir() -> Path:
    """The folder of the ``stages`` package (the CLI layer), beside ``src/`` in the repository."""
    for candidate in (GENLAB.parents[1] / "stages", GENLAB.parent / "stages"):
        if (candidate / "__init__.py").is_file():
            return candidate
    raise FileNotFoundError("the stages package is not beside genlab")


def roots() -> dict[str, Path]:
    """Top-level package -> folder, for the closures of the stage processes."""
    return {"genlab": GENLAB, "stages": _stages_dir()}


@functools.lru_cache(maxsize=None)
def stage_closure(command: str, *modules: str) -> frozenset[Path]:
    """The files the process ``python -m stages <command>`` can run, with ``modules`` it imports by name (a model's
    family: ``importlib`` imports are not statements the closure can read)."""
    return frozenset(closure(["stages.__main__", f"stages.{command}", *modules], roots()))


def describe_code(files: set[Path]) -> dict:
    """{digest, files}: :func:`code_digest` of ``files`` and their paths from the repository root."""
    root = _stages_dir().parent
    return {"digest": code_digest(files, root)[:16],
            "files": sorted(p.relative_to(root).as_posix() for p in files)}

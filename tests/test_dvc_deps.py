"""Declared = imported: every stage's code deps in dvc.yaml are exactly the source files its process can run
(the import closure of `python -m stages <command>`, imports inside functions included), and the library's layers
are one-way with no import cycle."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from genlab import provenance

ROOT = Path(__file__).resolve().parents[1]
ROOTS = {"genlab": ROOT / "src" / "genlab", "stages": ROOT / "stages"}
STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]

# One-way layers: a package may import its own modules and those of lower ranks only, and the packages of rank 3
# know nothing of each other (stages -> training | metrics | report | theory | gradients | claims -> models -> nn;
# the base modules, data and viz below everything).
RANK = {"config": 0, "errors": 0, "io": 0, "memory": 0, "device": 0, "progress": 0, "provenance": 0, "stats": 0, "runs": 0,
        "data": 0, "viz": 0,
        "nn": 1, "models": 2, "training": 3, "metrics": 3, "report": 3, "theory": 3, "gradients": 3, "claims": 3,
        "ablation": 3, "bench": 4, "export": 0, "sampling": 4, "experiments": 0,
        "compare": 3}


def _code_deps(stage: dict) -> tuple[str, list[str]]:
    body = stage.get("do", stage)
    command = body["cmd"].split()[3]  # python -m stages <command> ...
    return command, [d if isinstance(d, str) else next(iter(d)) for d in body.get("deps", [])
                     if (d if isinstance(d, str) else next(iter(d))).startswith(("src/", "stages/"))]


def _covered(path: str, deps: list[str]) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in deps)


@pytest.mark.parametrize("name", list(STAGES))
def test_each_stage_declares_exactly_the_code_it_runs(name):
    command, deps = _code_deps(STAGES[name])
    closure = {str(p.relative_to(ROOT)) for p in provenance.closure(["stages.__main__", f"stages.{command}"], ROOTS)}
    missing = sorted(f for f in closure if not _covered(f, deps))
    assert not missing, f"stage {name}: runs {missing} but dvc.yaml does not declare them"
    for dep in deps:
        assert (ROOT / dep).exists(), f"stage {name}: dep {dep} does not exist"
        files = [str(p.relative_to(ROOT)) for p in (ROOT / dep).rglob("*.py")] if (ROOT / dep).is_dir() else [dep]
        used = [f for f in files if f in closure]
        assert used, f"stage {name}: declares {dep}, which its code never imports"
        assert len(used) == len(files), (f"stage {name}: declares the folder {dep} but runs only {sorted(used)} of "
                                         "it; list those files instead")


def test_the_stage_process_imports_only_its_own_command():
    """`python -m stages X` imports stages/X.py alone (not every command's module and its imports)."""
    closure = {p.name for p in provenance.closure(["stages.__main__", "stages.prepare"], ROOTS)
               if p.parent == ROOTS["stages"]}
    assert closure == {"__init__.py", "__main__.py", "app.py", "common.py", "prepare.py"}


def _module_graph() -> dict[str, set[str]]:
    files = sorted(ROOTS["genlab"].rglob("*.py"))
    names = {f: provenance._name(f, {"genlab": ROOTS["genlab"]}) for f in files}
    return {names[f]: {m for m in provenance.imported_modules(f, {"genlab": ROOTS["genlab"]}) if m != names[f]}
            for f in files}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), i.e. import cycles."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_the_library_has_no_import_cycle():
    assert _cycles(_module_graph()) == []


def test_layers_are_one_way():
    bad = []
    for module, imports in _module_graph().items():
        here = _package(module)
        if here is None:
            continue
        assert here in RANK, f"{module}: package {here} has no layer in this test; give it one"
        for target in imports:
            there = _package(target)
            if there is None or there == here:
                continue
            if RANK[there] > RANK[here] or (RANK[there] == RANK[here] == 3):
                bad.append(f"{module} imports {target}")
    assert not bad, "imports against the layers: " + "; ".join(bad)


def test_models_know_nothing_of_the_loop_or_the_metrics():
    graph = _module_graph()
    offending = [f"{m} -> {t}" for m, ts in graph.items() if _package(m) == "models"
                 for t in ts if _package(t) in ("training", "metrics")]
    assert not offending, offending


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]

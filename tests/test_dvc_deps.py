"""Declared = imported: every stage depends on the digest of exactly the source files its process can run
(the import closure of `python -m stages <command>`, imports inside functions included), and the library's layers
are one-way with no import cycle."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml

from genlab import provenance
from genlab.models.registry import family_module, family_names

ROOT = Path(__file__).resolve().parents[1]
ROOTS = {"genlab": ROOT / "src" / "genlab", "stages": ROOT / "stages"}
STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
MODEL_STAGES = ["train", "evaluate"]
STAGES_OF_RESOLVE = importlib.import_module("stages.resolve").STAGES

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
    deps = [d if isinstance(d, str) else next(iter(d)) for d in body.get("deps", [])]
    return command, [d for d in deps if d.startswith(("src/", "stages/")) and _is_code(ROOT / d)]


def _is_code(path: Path) -> bool:
    """A source file or a folder holding some (not a folder of data such as the shipped judges)."""
    return path.suffix == ".py" or (path.is_dir() and any(path.rglob("*.py")))


def _covered(path: str, deps: list[str]) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in deps)


def _closure(command: str, *modules: str) -> set[str]:
    return {str(p.relative_to(ROOT)) for p in provenance.closure(["stages.__main__", f"stages.{command}", *modules],
                                                                   ROOTS)}


def _all_closures() -> set[str]:
    """Every file a stage's process can run, over all stages and, for train and evaluate, all families."""
    out = set().union(*(_closure(command) for command in STAGES_OF_RESOLVE))
    for family in family_names():
        out |= _closure("train", family_module(family)) | _closure("evaluate", family_module(family))
    return out


def test_resolve_declares_exactly_the_code_of_every_stage():
    """resolve writes each stage's code digest, so it reruns on any code change: it declares every file a stage can
    run (its own included) and nothing else."""
    command, deps = _code_deps(STAGES["resolve"])
    closure = _closure(command) | _all_closures()
    missing = sorted(f for f in closure if not _covered(f, deps))
    assert not missing, f"resolve: its specs digest {missing} but dvc.yaml does not declare them"
    for dep in deps:
        assert (ROOT / dep).exists(), f"resolve: dep {dep} does not exist"
        files = [str(p.relative_to(ROOT)) for p in (ROOT / dep).rglob("*.py")] if (ROOT / dep).is_dir() else [dep]
        used = [f for f in files if f in closure]
        assert used, f"resolve: declares {dep}, which no stage imports"
        assert len(used) == len(files), f"resolve: declares the folder {dep} but only {sorted(used)} are code of a stage"


@pytest.mark.parametrize("name", [n for n in STAGES if n != "resolve"])
def test_every_other_stage_depends_on_its_own_code_digest(name):
    """No other stage lists code: it depends on data/specs/stages/<name>.json (a model's stage on its model's
    spec), whose digest covers exactly its process's files (a model's: its own family's file among them)."""
    command, deps = _code_deps(STAGES[name])
    assert deps == [], f"stage {name}: declares code {deps}; its spec covers it"
    body = STAGES[name].get("do", STAGES[name])
    if name in MODEL_STAGES:
        assert f"data/specs/models/${{key}}/{name}.json" in body["deps"]
        for family in family_names():
            files = set(provenance.describe_code(provenance.stage_closure(name, family_module(family)))["files"])
            assert files == _closure(name, family_module(family))
            assert f"src/genlab/models/{family}.py" in files
    else:
        assert name in STAGES_OF_RESOLVE and f"data/specs/stages/{name}.json" in body["deps"]
        assert set(provenance.describe_code(provenance.stage_closure(command))["files"]) == _closure(command)


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

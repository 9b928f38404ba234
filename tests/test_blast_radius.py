"""The model family is the unit of change, measured with DVC itself on a throw-away copy of the repository: every
stage is committed as up to date (placeholder outputs, `dvc commit`), one file or param is edited, the resolve
stage writes the models' specs again, and `dvc status` lists the stages the edit reruns first (their downstream
stages follow once those have run). By default three edits; marked slow, the README's whole table."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import repo_copy, sh

ROOT = Path(__file__).resolve().parents[1]
GAN_FAMILY = {"gan", "gan-stacked", "gan-stacked-pack2"}
VAE_FAMILY = {"vae", "vae-4000", "vae-2000", "vae-2500-h512"}
PGGAN = {"pggan-4", "pggan-8", "pggan-16", "pggan"}
CVAE = {"cvae", "cvae-q1", "cvae-q3"}


def _models(*names) -> set[str]:
    return {f"{stage}@{n}" for n in names for stage in ("train", "evaluate")}


CODE = "\n_EDITED = True  # a statement: code, where a comment would not count\n"
#: edit -> the stages `dvc status` lists first (the stages that read what they write follow)
EXPECTED = {
    "src/genlab/models/gan.py": _models(*GAN_FAMILY, "vaegan") | {"modes"},
    "src/genlab/models/vae.py": _models(*VAE_FAMILY, "vaegan") | {"estimators"},
    "src/genlab/models/ae.py": _models("ae"),
    "src/genlab/models/aae.py": _models("aae"),
    "src/genlab/models/vaegan.py": _models("vaegan"),
    "src/genlab/models/pggan.py": _models(*PGGAN),
    "src/genlab/models/cvae.py": _models(*CVAE),
    "src/genlab/theory/run.py": {"theory"},
    "src/genlab/theory/modes.py": {"modes"},
    "src/genlab/gradients/study.py": {"estimators"},
    "src/genlab/report/sections.py": {"report"},
    "src/genlab/models/gan.py (a comment)": set(),
    # claims reads all of params.yaml (a collected run joins the group of what it changes): seconds, no training
    "train.log_every": {"claims"},
    "train.checkpoint_every": {"claims"},
    # a param of training changes the training specs; the evaluations follow once the models have changed
    "model.h": {f"train@{n}" for n in ("vae", "vae-4000", "vae-2000", "ae", "aae")} | {"claims"},
    "theory.d_steps": {"theory", "claims"},
    "vae.beta": {f"train@{n}" for n in VAE_FAMILY} | {"claims"},
}
FAST = ("src/genlab/models/gan.py", "src/genlab/models/gan.py (a comment)", "train.log_every")


def _placeholders(dest: Path, env: dict) -> None:
    """An empty stand-in for every output that the copy lacks, and the real specs."""
    listing = sh([sys.executable, "-c", "from dvc.repo import Repo; import json; r = Repo('.'); print(json.dumps("
                  "[str(o.def_path) for s in r.index.stages for o in s.outs]))"], dest, env)
    for out in json.loads(listing.strip().splitlines()[-1]):
        path = dest / out
        if path.exists():
            continue
        if Path(out).suffix:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("{}\n")
        else:
            path.mkdir(parents=True, exist_ok=True)
            (path / "placeholder").write_text("")


@pytest.fixture(scope="module")
def committed(tmp_path_factory):
    dest = tmp_path_factory.mktemp("radius")
    env = repo_copy(dest, lambda params: None)
    env["PYTHONPATH"] = f"{dest / 'src'}:{env['PYTHONPATH']}"  # the copy's genlab, which the edits change
    sh([sys.executable, "-m", "stages", "resolve"], dest, env)
    _placeholders(dest, env)
    sh([sys.executable, "-m", "dvc", "commit", "-f", "-q"], dest, env)
    assert _first_wave(dest, env) == set()
    return dest, env


def _first_wave(dest: Path, env: dict) -> set[str]:
    sh([sys.executable, "-m", "dvc", "repro", "--single-item", "resolve"], dest, env)
    status = json.loads(sh([sys.executable, "-m", "dvc", "status", "--json"], dest, env))
    return set(status) - {"resolve"}


def _edit(dest: Path, edit: str) -> str:
    """Apply ``edit`` (a file, a comment in a file or a param); return the original text of what changed."""
    if "." in edit and "/" not in edit:  # a param
        section, key = edit.split(".")
        path = dest / "params.yaml"
        text = path.read_text()
        new = re.sub(rf"(^{section}:.*?^  {key}: )([^\s#]+)", lambda m: m.group(1) + _other(m.group(2)), text,
                     count=1, flags=re.M | re.S)
        assert new != text, edit
    else:
        path = dest / edit.split(" ")[0]
        text = path.read_text()
        new = text + ("\n# an edited comment\n" if "comment" in edit else CODE)
    path.write_text(new)
    return text


def _other(value: str) -> str:
    return str(float(value) * 2) if "." in value else str(int(value) * 2)


def _measure(committed, edit: str) -> set[str]:
    dest, env = committed
    path = dest / ("params.yaml" if "/" not in edit else edit.split(" ")[0])
    original = _edit(dest, edit)
    try:
        return _first_wave(dest, env)
    finally:
        path.write_text(original)
        assert _first_wave(dest, env) == set(), f"undoing {edit} left stages to rerun"


@pytest.mark.parametrize("edit", FAST)
def test_an_edit_reruns_its_own_family_alone(committed, edit):
    assert _measure(committed, edit) == EXPECTED[edit]


@pytest.mark.slow
def test_the_blast_radius_table(committed):
    """Every edit of the README's table, with the downstream stages DVC's graph adds."""
    dest, env = committed
    graph = sh([sys.executable, "-c", "from dvc.repo import Repo; import json, networkx as nx; r = Repo('.'); "
                "g = r.index.graph; print(json.dumps({s.addressing: sorted(t.addressing for t in nx.ancestors(g, s)) "
                "for s in g}))"], dest, env)
    downstream = json.loads(graph.strip().splitlines()[-1])  # DVC's edges point from a stage to what it reads
    total = len(downstream)
    rows = []
    for edit, expected in EXPECTED.items():
        first = _measure(committed, edit)
        assert first == expected, (edit, sorted(first ^ expected))
        reruns = set(first).union(*(downstream[s] for s in first)) if first else set()
        rows.append(f"| {edit} | {len(reruns)} of {total} | {', '.join(sorted(first)) or 'none'} |")
    print("\n".join(rows))

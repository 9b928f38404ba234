"""File fuzzer: damaged files given to the stage that reads them are one line naming the file, never a traceback,
and change nothing already written.

A tiny pipeline (an image folder, its prepared data, a classifier, 2-step VAE and GAN, the VAE's evaluation with its
feature cache) is built once; every example damages one of its files (truncated, empty, random bytes, a pickle, a
file of another kind or format version, entries missing or of the wrong type, tensors of the wrong shape), runs the
stage in process (typer's CliRunner, as the params property test does) and compares the whole work folder with its
state before. Refused files (exit 2) must leave everything as it was; a damaged newest checkpoint must be skipped
with a warning naming it and training must end at the weights of the undamaged run; a damaged feature cache must be
recomputed (warning naming it), leaving every output, and the cache itself, as they were. Derandomized: the same
examples on every run (set derandomize=False locally to explore).
"""

from __future__ import annotations

import collections
import copy
import datetime
import io
import json
import logging
import os
import pickle
from pathlib import Path

import pytest
import torch
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from PIL import Image
from typer.testing import CliRunner

from genlab.io import FORMATS, load_torch

ROOT = Path(__file__).resolve().parents[1]
# examples per kind of file (their sum is the count the README states)
EXAMPLES = {"model": 120, "classifier": 70, "split": 80, "manifest": 70, "inception": 60, "image": 60,
            "checkpoint": 30, "features": 20}
# no shrinking: each example runs a stage, so a failure is reported as generated instead of after minutes of shrinking
SETTINGS = dict(deadline=None, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

MODEL = "data/models/vae/model.pt"
GAN_MODEL = "data/models/gan/model.pt"
CLASSIFIER = "data/models/classifier/classifier.pt"
SPLITS = ("data/prepared/train.pt", "data/prepared/test.pt")
MANIFEST = "data/prepared/manifest.json"
NEWEST = "data/checkpoints/vae/step_00000002.pt"
INCEPTION = "inception.pt"
REWRITTEN_BY_TRAIN = ("data/models/vae/", "data/checkpoints/vae/", "metrics/train/vae/")
COUNTS: collections.Counter = collections.Counter()


class Evil:
    """A class a pickle would have to import: weights-only loads refuse it."""


# ----------------------------------------------------------------------------- the tiny pipeline


def _params() -> dict:
    p = yaml.safe_load((ROOT / "params.yaml").read_text())
    p = {k: v for k, v in p.items() if k not in set(p["models"]) - {"vae", "gan"}}
    p.update(device="cpu", models={m: p["models"][m] for m in ("vae", "gan")})
    p["data"].update(name="folder", folder="images", resolution=8, test_fraction=0.25)
    p["model"].update(h=8, z=2)
    p["train"].update(steps=2, batch_size=4, log_every=1, checkpoint_every=1)
    p["classifier"].update(steps=3, batch_size=8, width=4, features=8)
    p["gan"].update(h=8, z=2, steps=0)
    p["eval"].update(n_samples=16, batch_size=16, kid_subset_size=4, grid=2, gap_samples=4, interp_pairs=2,
                     iw_samples=2, iw_images=4)
    p["estimators"].update(images=2, n=[1, 2], reps=2, pilot=2, reference=4)
    return p


def _images(folder: Path) -> None:
    g = torch.Generator().manual_seed(0)
    for i in range(48):
        path = folder / f"c{i % 2}" / f"{i:03d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(torch.randint(0, 256, (8, 8), generator=g, dtype=torch.uint8).numpy(), "L").save(path)


def _invoke(work: Path, args: list[str]):
    from stages.app import make_app

    cwd = os.getcwd()
    os.chdir(work)
    try:
        return CliRunner().invoke(make_app(), args)
    finally:
        os.chdir(cwd)


def _snapshot(work: Path) -> dict[str, bytes]:
    return {str(p.relative_to(work)): p.read_bytes() for p in sorted(work.rglob("*")) if p.is_file()}


class Pipeline(tuple):
    """(work folder, every file's bytes as built), shown by its folder alone."""

    def __repr__(self) -> str:
        return f"Pipeline({self[0]})"


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory) -> Pipeline:
    """The work folder of the tiny pipeline and its files' bytes."""
    work = tmp_path_factory.mktemp("fuzz") / "work"
    work.mkdir()
    _images(work / "images")
    p = _params()
    (work / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False))
    p["eval"].update(extractor="inception", inception_weights=INCEPTION)
    (work / "inception.yaml").write_text(yaml.safe_dump(p, sort_keys=False))
    torch.save({"Conv2d_1a_3x3.conv.weight": torch.ones(32, 3, 3, 3)}, work / INCEPTION)  # the wrong state dict
    old = os.environ.get("GENLAB_CACHE")
    os.environ["GENLAB_CACHE"] = str(work / "cache")
    try:
        for args in (["prepare"], ["classifier"], ["train", "vae"], ["train", "gan"], ["evaluate", "vae"]):
            result = _invoke(work, args)
            assert result.exit_code == 0, (args, result.output, result.exception)
    finally:
        os.environ.pop("GENLAB_CACHE") if old is None else os.environ.update(GENLAB_CACHE=old)
    assert len(list((work / "cache" / "features").glob("*.pt"))) == 1
    return Pipeline((work, _snapshot(work)))


@pytest.fixture()
def work(pipeline, monkeypatch) -> Pipeline:
    monkeypatch.setenv("GENLAB_CACHE", str(pipeline[0] / "cache"))
    return pipeline


class Records(logging.Handler):
    """Warnings of genlab's loggers during one stage run."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def _run(work: Path, args: list[str]):
    records = Records()
    logger = logging.getLogger("genlab")
    logger.addHandler(records)
    try:
        return _invoke(work, args), records.lines
    finally:
        logger.removeHandler(records)


def _reset(work: Path, pristine: dict[str, bytes]) -> None:
    """Put the work folder back as it was built (any file a case wrote or damaged)."""
    for path in [p for p in work.rglob("*") if p.is_file() and str(p.relative_to(work)) not in pristine]:
        path.unlink()
    for rel, data in pristine.items():
        path = work / rel
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)


def _changed(work: Path, pristine: dict[str, bytes], ignore=()) -> list[str]:
    now = _snapshot(work)
    return sorted(rel for rel in set(now) | set(pristine)
                  if now.get(rel) != pristine.get(rel) and not rel.startswith(tuple(ignore)))


# ----------------------------------------------------------------------------- damage


def _torch_bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


JSON_TYPES = [7, -1, 2.5, "text", "", None, True, [1, 2], {"a": 1}]
WRONG_TYPES = st.sampled_from(JSON_TYPES + [(), torch.zeros(2)])


def byte_damage(data, pristine: bytes, others: dict[str, bytes]) -> tuple[str, bytes]:
    """Damage a file's bytes: empty, truncated, random, text, another file's bytes, a pickle, a pickled object."""
    kind = data.draw(st.sampled_from(["empty", "truncated", "random", "zip", "text", "other", "pickle", "object"]))
    if kind == "empty":
        return kind, b""
    if kind == "truncated":
        return kind, pristine[:data.draw(st.integers(1, len(pristine) - 1))]
    if kind == "random":
        return kind, data.draw(st.binary(min_size=1, max_size=4096))
    if kind == "zip":
        return kind, b"PK\x03\x04" + data.draw(st.binary(max_size=2048))
    if kind == "text":
        return kind, data.draw(st.text(min_size=1, max_size=200)).encode()
    if kind == "other":
        name = data.draw(st.sampled_from(sorted(others)))
        return f"other:{name}", others[name]
    if kind == "pickle":  # a raw pickle stream, any protocol
        obj = data.draw(st.sampled_from([collections.Counter(a=1), {"weights": {}}, [1, 2], Evil(), {1, 2}]))
        return kind, pickle.dumps(obj, protocol=data.draw(st.integers(2, pickle.HIGHEST_PROTOCOL)))
    obj = data.draw(st.sampled_from([{"weights": {}, "x": Evil()}, {"x": collections.deque()}, {"x": frozenset()},
                                     {"x": datetime.date(2020, 1, 1)}, Evil()]))
    return kind, _torch_bytes(obj)


def tag_damage(data, obj: dict, pool=WRONG_TYPES) -> tuple[str, dict]:
    """The format tag removed, of another kind, or of another version (an integer, or a value from ``pool``)."""
    obj = dict(obj)
    kind = data.draw(st.sampled_from(["untagged", "kind", "version"]))
    if kind == "untagged":
        obj.pop("format")
    elif kind == "kind":
        other = data.draw(st.one_of(st.sampled_from(sorted(set(FORMATS) - {obj["format"]["kind"]})),
                                    st.text(max_size=60)))
        obj["format"] = {**obj["format"], "kind": other}
    else:
        obj["format"] = {**obj["format"], "version": data.draw(st.one_of(
            st.integers().filter(lambda v: v != obj["format"]["version"]), pool))}
    return f"tag:{kind}", obj


def entry_damage(data, obj: dict, entries: tuple[str, ...], pool=WRONG_TYPES) -> tuple[str, dict]:
    """A required entry deleted, or of the wrong type (from ``pool``)."""
    obj = dict(obj)
    key = data.draw(st.sampled_from(entries))
    if data.draw(st.booleans()):
        del obj[key]
        return f"missing:{key}", obj
    kept = type(obj[key])
    obj[key] = data.draw(pool.filter(lambda v: not isinstance(v, kept) and not (kept is float and isinstance(v, int))))
    return f"type:{key}", obj


def state_damage(data, state: dict) -> tuple[str, dict]:
    """A state dict of other keys or shapes: a tensor deleted, added, reshaped, or not a tensor."""
    state = dict(state)
    keys = sorted(k for k, v in state.items() if isinstance(v, torch.Tensor) and v.is_floating_point())
    key = data.draw(st.sampled_from(keys))
    kind = data.draw(st.sampled_from(["missing", "unexpected", "shape", "type"]))
    if kind == "missing":
        del state[key]
    elif kind == "unexpected":
        state[key + "_extra"] = torch.zeros(3)
    elif kind == "shape":
        state[key] = torch.zeros(*(s + data.draw(st.integers(1, 3)) for s in state[key].shape), 1)
    else:
        state[key] = data.draw(st.sampled_from([1.0, "w", [0.0], None]))
    return f"state:{kind}", state


def torch_damage(data, pristine: bytes, others, entries, states=(), extra=None) -> tuple[str, bytes]:
    """Damage of a genlab torch file: bytes, tag, entries, state dicts (entries in ``states``), ``extra``'s own."""
    choices = ["bytes", "tag", "entry"] + (["state"] if states else []) + (["extra"] if extra else [])
    how = data.draw(st.sampled_from(choices))
    if how == "bytes":
        return byte_damage(data, pristine, others)
    obj = torch.load(io.BytesIO(pristine), weights_only=True)
    if how == "tag":
        kind, obj = tag_damage(data, obj)
    elif how == "entry":
        kind, obj = entry_damage(data, obj, entries)
    elif how == "state":
        key = data.draw(st.sampled_from(states))
        kind, state = state_damage(data, _get(obj, key))
        obj = _set(obj, key, state)
    else:
        kind, obj = extra(data, obj)
    return kind, _torch_bytes(obj)


def _get(obj: dict, key: str):
    for part in key.split("/"):
        obj = obj[part]
    return obj


def _set(obj: dict, key: str, value) -> dict:
    obj = copy.copy(obj)
    head, _, rest = key.partition("/")
    obj[head] = _set(obj[head], rest, value) if rest else value
    return obj


def _others(pristine: dict[str, bytes], own: str) -> dict[str, bytes]:
    """Other files of the pipeline that a user could put in ``own``'s place (an image: no other image)."""
    names = [MODEL, GAN_MODEL, CLASSIFIER, *SPLITS, MANIFEST, NEWEST, "params.yaml", "images/c0/000.png",
             next(k for k in pristine if k.startswith("cache/"))]
    return {n: pristine[n] for n in names if n != own and not (own.startswith("images/") and n.startswith("images/"))}


# ----------------------------------------------------------------------------- the properties


def _refused(work: Path, pristine: dict, rel: str, damaged: bytes, args: list[str], kind: str) -> None:
    """Run ``args`` with ``rel`` damaged: one line naming it (a pickle "refused"), exit 2, nothing else changed."""
    COUNTS[rel.split("/")[0] if rel.startswith("images/") else rel] += 1
    (work / rel).write_bytes(damaged)
    try:
        result, _ = _run(work, args)
        detail = (kind, args, result.output[-2000:], result.exception)
        assert result.exit_code == 2 and isinstance(result.exception, SystemExit), detail
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and rel in lines[0], detail
        assert "Traceback" not in result.output, detail
        if kind in ("pickle", "object") and rel.endswith(".pt"):
            assert "refused" in lines[0], detail
        assert _changed(work, pristine, ignore=(rel,)) == [], detail
    finally:
        _reset(work, pristine)


def _read_by(data, *stages: tuple[str, ...]) -> list[str]:
    return list(data.draw(st.sampled_from(stages)))


EVALUATE = ("evaluate", "vae")


@settings(max_examples=EXAMPLES["model"], **SETTINGS)
@given(st.data())
def test_a_damaged_model_file_is_one_line(work, data):
    folder, pristine = work
    from genlab.models.file import ENTRIES

    def extra(data, obj):  # another family's model, sections that do not parse, a shape that is no image shape
        how = data.draw(st.sampled_from(["family", "cfg", "model", "shape"]))
        if how == "family":
            return "family", torch.load(io.BytesIO(pristine[GAN_MODEL]), weights_only=True)
        if how in ("cfg", "model"):
            return f"unknown:{how}", {**obj, how: {**obj[how], "nonsense": 1}}
        return "shape", {**obj, "shape": data.draw(st.sampled_from([[1, 8], [1, 8, 8, 1], [0, 8, 8], [1, "8", 8]]))}

    kind, damaged = torch_damage(data, pristine[MODEL], _others(pristine, MODEL), tuple(ENTRIES), ("weights",), extra)
    _refused(folder, pristine, MODEL, damaged, _read_by(data, EVALUATE, ("estimators",)), kind)


@settings(max_examples=EXAMPLES["classifier"], **SETTINGS)
@given(st.data())
def test_a_damaged_classifier_is_one_line(work, data):
    folder, pristine = work

    def extra(data, obj):  # layer sizes that do not fit the weights, or are no sizes
        key = data.draw(st.sampled_from(sorted(obj["hparams"])))
        value = data.draw(st.sampled_from([0, -3, 2 * obj["hparams"][key] + 1, "4", 2.0]))
        return f"hparams:{key}", {**obj, "hparams": {**obj["hparams"], key: value}}

    kind, damaged = torch_damage(data, pristine[CLASSIFIER], _others(pristine, CLASSIFIER), ("hparams", "weights"),
                                 ("weights",), extra)
    _refused(folder, pristine, CLASSIFIER, damaged, _read_by(data, EVALUATE, ("baseline",)), kind)


@settings(max_examples=EXAMPLES["split"], **SETTINGS)
@given(st.data())
def test_damaged_prepared_tensors_are_one_line(work, data):
    folder, pristine = work
    rel = data.draw(st.sampled_from(SPLITS))

    def extra(data, obj):  # tensors of another dtype or shape, or a changed pixel or label
        how = data.draw(st.sampled_from(["dtype", "shape", "pixel", "label"]))
        images, labels = obj["images"].clone(), obj["labels"].clone()
        if how == "dtype":
            images = images.float()
        elif how == "shape":
            images = images.reshape(len(images), 1, 4, 16)
        elif how == "pixel":
            images.view(-1)[data.draw(st.integers(0, images.numel() - 1))] += 1
        else:
            labels[data.draw(st.integers(0, len(labels) - 1))] += 1
        return how, {**obj, "images": images, "labels": labels}

    kind, damaged = torch_damage(data, pristine[rel], _others(pristine, rel), ("images", "labels"), (), extra)
    stages = (("classifier",), ("train", "vae"), ("baseline",)) if "train" in rel else (("classifier",), EVALUATE,
                                                                                          ("baseline",))
    _refused(folder, pristine, rel, damaged, _read_by(data, *stages), kind)


def _manifest_damage(data, pristine: bytes, others, split: str) -> tuple[str, bytes]:
    """Damage of the manifest: its bytes, its JSON, its tag, or an entry that the readers of ``split`` need."""
    how = data.draw(st.sampled_from(["bytes", "json", "tag", "entry", "value"]))
    if how == "bytes":
        return byte_damage(data, pristine, others)
    if how == "json":  # valid JSON, not a manifest
        return "json", json.dumps(data.draw(st.sampled_from([[], [1, 2], 3, "manifest", None, {}]))).encode()
    obj = json.loads(pristine)
    if how == "tag":
        kind, obj = tag_damage(data, obj, st.sampled_from(JSON_TYPES))
    else:
        entries = {"num_classes": obj, "splits": obj, split: obj["splits"]}
        entries.update({k: obj["splits"][split] for k in ("shape", "images_sha256", "labels_sha256")})
        key = data.draw(st.sampled_from(sorted(entries)))
        if how == "entry":
            kind, changed = entry_damage(data, entries[key], (key,), st.sampled_from(JSON_TYPES))
            entries[key].clear()
            entries[key].update(changed)
        else:  # a value of the right type that does not match the tensors
            values = {"num_classes": data.draw(st.integers(-3, 1)), "shape": [data.draw(st.integers(1, 99)), 1, 8, 8],
                      "images_sha256": "0" * 64, "labels_sha256": "f" * 64, "splits": {}, split: {}}
            entries[key][key] = values[key]
            kind = f"value:{key}"
    return kind, json.dumps(obj).encode()


@settings(max_examples=EXAMPLES["manifest"], **SETTINGS)
@given(st.data())
def test_a_damaged_manifest_is_one_line(work, data):
    folder, pristine = work
    split = data.draw(st.sampled_from(["train", "test"]))
    kind, damaged = _manifest_damage(data, pristine[MANIFEST], _others(pristine, MANIFEST), split)
    _refused(folder, pristine, MANIFEST, damaged,
             _read_by(data, ("classifier",), ("train", "vae") if split == "train" else EVALUATE, ("baseline",)), kind)


@settings(max_examples=EXAMPLES["inception"], **SETTINGS)
@given(st.data())
def test_damaged_inception_weights_are_one_line(work, data):
    """eval.inception_weights pointing at anything but torch-fidelity's weights (the pipeline's file is a state
    dict of the wrong keys; its damage, other files, nested or empty dicts)."""
    folder, pristine = work
    how = data.draw(st.sampled_from(["as built", "bytes", "nested", "empty", "values"]))
    if how == "bytes":
        how, damaged = byte_damage(data, pristine[INCEPTION], _others(pristine, INCEPTION))
    else:
        damaged = {"as built": pristine[INCEPTION], "nested": _torch_bytes({"a": {"b": torch.zeros(1)}}),
                   "empty": _torch_bytes({}), "values": _torch_bytes({"fc.weight": 1.0})}[how]
    _refused(folder, pristine, INCEPTION, damaged, ["evaluate", "vae", "--params", "inception.yaml"], how)


def _png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    data[16:24] = width.to_bytes(4, "big") + height.to_bytes(4, "big")  # the IHDR's size (its CRC left stale)
    return bytes(data)


@settings(max_examples=EXAMPLES["image"], **SETTINGS)
@given(st.data())
def test_a_damaged_folder_image_is_one_line(work, data):
    folder, pristine = work
    rel = data.draw(st.sampled_from(sorted(k for k in pristine if k.startswith("images/"))))
    how = data.draw(st.sampled_from(["bytes", "header", "bomb"]))
    if how == "bytes":
        how, damaged = byte_damage(data, pristine[rel], _others(pristine, rel))
        if how == "truncated":  # at least the last chunk (IEND) and the image data's checksum gone
            damaged = damaged[:len(pristine[rel]) - 16]
    elif how == "header":
        damaged = b"\x89PNG\r\n\x1a\n" + data.draw(st.binary(max_size=512))
    else:
        damaged = _png(50000, 50000)  # 2.5 G pixels declared: over Pillow's decompression-bomb limit
    if not damaged:
        damaged = b""
    _refused(folder, pristine, rel, damaged, ["prepare"], how)


def _weights(path: Path) -> dict:
    return load_torch(path)["weights"]


@settings(max_examples=EXAMPLES["checkpoint"], **SETTINGS)
@given(st.data())
def test_a_damaged_newest_checkpoint_resumes_from_the_one_before(work, data):
    """Skipped with a warning naming it; training ends at the undamaged run's weights; nothing else changes."""
    folder, pristine = work
    entries = ("step", "fingerprint", "state", "rng", "history", "elapsed", "sums", "count")
    kind, damaged = torch_damage(data, pristine[NEWEST], _others(pristine, NEWEST), entries, ("state/weights",))
    reference = torch.load(io.BytesIO(pristine[MODEL]), weights_only=True)["weights"]
    COUNTS[NEWEST] += 1
    (folder / NEWEST).write_bytes(damaged)
    try:
        result, warnings = _run(folder, ["train", "vae"])
        detail = (kind, result.output[-2000:], result.exception, warnings)
        assert result.exit_code == 0 and result.exception is None, detail
        assert "Traceback" not in result.output, detail
        assert any(w.startswith(NEWEST) or f"checkpoint {NEWEST}" in w for w in warnings), detail
        assert len([w for w in warnings if NEWEST in w]) == 1 and all("\n" not in w for w in warnings), detail
        stale = any(w.startswith(f"removing checkpoint {NEWEST}") for w in warnings)  # a fingerprint of other params
        assert stale or (folder / f"{NEWEST}.damaged").read_bytes() == damaged, detail  # kept aside, out of rotation
        weights = _weights(folder / MODEL)
        assert weights.keys() == reference.keys() and all(torch.equal(weights[k], reference[k]) for k in weights)
        assert _changed(folder, pristine, ignore=REWRITTEN_BY_TRAIN) == [], detail
    finally:
        _reset(folder, pristine)


@settings(max_examples=EXAMPLES["features"], **SETTINGS)
@given(st.data())
def test_a_damaged_feature_cache_is_recomputed(work, data):
    """A warning naming it, then every output as before, and the cache file rewritten as it was."""
    folder, pristine = work
    rel = next(k for k in pristine if k.startswith("cache/"))

    def extra(data, obj):  # features of other rows, width or dtype, or not finite
        layer = data.draw(st.sampled_from(sorted(k for k in obj if k != "format")))
        f = obj[layer]
        how = data.draw(st.sampled_from(["rows", "width", "dtype", "nan"]))
        f = {"rows": f[1:], "width": f[:, :-1], "dtype": f.double(), "nan": f.clone().fill_(float("nan"))}[how]
        return f"{how}:{layer}", {**obj, layer: f}

    kind, damaged = torch_damage(data, pristine[rel], _others(pristine, rel), ("features", "logits"), (), extra)
    COUNTS["feature cache"] += 1
    (folder / rel).write_bytes(damaged)
    try:
        result, warnings = _run(folder, list(EVALUATE))
        detail = (kind, result.output[-2000:], result.exception, warnings)
        assert result.exit_code == 0 and result.exception is None and "Traceback" not in result.output, detail
        assert len([w for w in warnings if w.startswith(str(folder / rel))]) == 1, detail
        assert _changed(folder, pristine) == [], detail
    finally:
        _reset(folder, pristine)


@pytest.fixture(scope="module", autouse=True)
def counts():
    """The damaged files run, per file (shown with -s): the README states these numbers."""
    yield
    print(f"\nfile fuzzer: {sum(COUNTS.values())} damaged files: {dict(COUNTS)}")

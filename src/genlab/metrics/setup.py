"""What an evaluation records besides its numbers, so that runs pool only when they are alike: the digest of its
model's code and its setup (the judge, devices, precision, torch). Not in :mod:`genlab.runs`, whose pooling rules
can then change without touching any evaluation's code digest."""

from __future__ import annotations

from pathlib import Path

from genlab import provenance
from genlab.io import sha256


def evaluation_code(family_module: str, stacked: bool = False) -> str:
    """The digest of the code an evaluation's numbers come from (:func:`genlab.provenance.code_digest`: comments and
    docstrings aside): the ``train`` and ``evaluate`` processes of its model's family (``family_module``), data
    preparation, and the stacking for a stacked-MNIST model. Another family's code is not in it, so a change to one
    family leaves every other family's collected runs valid. The judge is data, recorded in the setup."""
    files = (provenance.stage_closure("train", family_module) | provenance.stage_closure("evaluate", family_module)
             | provenance.stage_closure("prepare") | (provenance.stage_closure("stack") if stacked else set()))
    return provenance.describe_code(files)["digest"]


def evaluation_setup(meta: dict, judge: Path, cfg, device, n_test: int) -> dict:
    """What besides code and params decides an evaluation's numbers: the judge's file (sha256), where and in which
    precision the model trained (``meta`` of its model file) and is scored, the test images of nll_iw, torch's
    version. Runs pool only when their setups are equal."""
    import torch

    return {"judge": sha256(Path(judge))[:16], "device": device.type, "train_device": str(meta.get("device", "")),
            "precision": meta.get("precision", "fp32"), "tf32": bool(meta.get("tf32", False)) or (
                device.type == "cuda" and torch.backends.cuda.matmul.allow_tf32),
            "iw_images": cfg.iw_subset(device.type, n_test), "torch": torch.__version__.split("+")[0]}

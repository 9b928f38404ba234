"""The domain classifier: a small CNN trained on the prepared data, used as an offline feature extractor.

Its penultimate features replace Inception's pool features for FID, KID and precision/recall, and
its logits replace Inception's for the Inception Score (domain IS: ~10 for a classifier this
accurate on real MNIST). Registered with torch-fidelity as ``genlab-domain``.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from genlab.metrics.config import ClassifierConfig
from genlab.data.batches import InMemoryBatches
from genlab.data.tensors import to_unit
from genlab.io import checked, load_module, read_checked, require_types, save_torch
from genlab.progress import progress


class DomainClassifier(nn.Module):
    """conv3×3(w)-pool-conv3×3(2w)-pool-avgpool(4) -> features (ReLU) -> logits; any resolution, any channels."""

    def __init__(self, channels: int, num_classes: int, width: int = 32, features: int = 128):
        super().__init__()
        self.hparams = {"channels": channels, "num_classes": num_classes, "width": width, "features": features}
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(4), nn.Flatten(),
            nn.Linear(2 * width * 16, features), nn.ReLU(),
        )
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(features, num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x in [0, 1] -> (penultimate features, logits)."""
        f = self.body(x)
        return f, self.head(self.dropout(f))


def random_shift(x: torch.Tensor, shift: int, generator: torch.Generator) -> torch.Tensor:
    """Each image translated by its own offset in [-shift, shift]² pixels, the uncovered border zero (the
    translation augmentation of LeCun et al. 1998's distortions, on whole pixels)."""
    if shift == 0:
        return x
    n, _, h, w = x.shape
    offsets = torch.randint(0, 2 * shift + 1, (2, n), generator=generator).to(x.device)
    padded = F.pad(x, (shift, shift, shift, shift))
    rows = offsets[0][:, None] + torch.arange(h, device=x.device)  # (n, h)
    cols = offsets[1][:, None] + torch.arange(w, device=x.device)  # (n, w)
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def train_classifier(images: torch.Tensor, labels: torch.Tensor, num_classes: int, cfg: ClassifierConfig,
                     seed: int, device: torch.device) -> DomainClassifier:
    """Cross-entropy training with Adam (a one-cycle lr) for ``cfg.steps`` steps on uint8 ``images``, each batch
    shifted by up to ``cfg.shift`` pixels."""
    torch.manual_seed(seed)
    shifts = torch.Generator().manual_seed(seed + 1)
    net = DomainClassifier(images.shape[1], num_classes, cfg.width, cfg.features).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.steps)
    batches = InMemoryBatches(images, labels, min(cfg.batch_size, len(images)), seed, device)
    net.train()
    bar = progress(cfg.steps, "train classifier")
    for step in range(cfg.steps):
        x, y = batches.batch(step)
        loss = F.cross_entropy(net(random_shift(x, cfg.shift, shifts))[1], y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        bar.update(1)
    bar.close()
    return net.eval()


@torch.no_grad()
def predict(net: DomainClassifier, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Class probabilities for uint8 ``images`` (on the classifier's device)."""
    device = next(net.parameters()).device
    probs = [F.softmax(net(to_unit(b.to(device)))[1], dim=1).cpu() for b in images.split(batch_size)]
    return torch.cat(probs)


def save_classifier(net: DomainClassifier, path: Path, extra: dict) -> None:
    save_torch(path, {"hparams": net.hparams, "weights": net.state_dict(), **extra}, kind="classifier")


def load_classifier(path: Path, device: torch.device | str = "cpu") -> DomainClassifier:
    """The trained classifier from its file (checked: a damaged one is one DataError line naming it)."""
    fix = f"restore it with dvc checkout {Path(path).parent}, or retrain it (dvc repro classifier)"
    ck = read_checked(path, "classifier", fix)
    with checked(path, fix):
        require_types(ck, {"hparams": dict, "weights": dict})
        if not all(type(v) is int and v > 0 for v in ck["hparams"].values()):
            raise ValueError("its hparams are not layer sizes")
        net = load_module(lambda: DomainClassifier(**ck["hparams"]), ck["weights"])
    return net.to(device).eval().requires_grad_(False)

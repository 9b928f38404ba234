"""Mode coverage from the domain classifier's predicted classes (mode-collapse numbers)."""

from __future__ import annotations

import math

import torch


def class_coverage(probs: torch.Tensor, num_classes: int, threshold: float = 0.01) -> dict[str, float]:
    """``classes_covered``: classes holding >= ``threshold`` of the samples (argmax labels);
    ``class_kl``: KL(histogram of predicted classes || uniform) = Σ p_k log(K p_k) in nats (0 = perfectly even)."""
    counts = torch.bincount(probs.argmax(1), minlength=num_classes).double()
    p = counts / counts.sum()
    kl = float(sum(pk * math.log(pk * num_classes) for pk in p.tolist() if pk > 0))
    return {"classes_covered": int((p >= threshold).sum()), "class_kl": kl}

"""MLP and conv stacks mapping images <-> vectors; every model builds its networks from these.

``image_to_vector`` is an encoder / discriminator body, ``vector_to_image`` a decoder / generator.
For ``arch: mlp`` the hidden width is ``h`` units (two hidden layers); for ``arch: conv`` it is the
base channel count, doubled at each stride-2 stage (DCGAN-style: 4×4 kernels, stride 2).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

Shape = tuple[int, int, int]  # C, H, W
Activation = Callable[[], nn.Module]


class Dropout(nn.Module):
    """Inverted dropout (Srivastava et al. 2014): zero each unit with probability p, scale the rest by 1/(1-p).

    Same maths as ``nn.Dropout``; the mask comes from ``torch.rand``, which on CPU is ~2.5x faster
    than the Bernoulli kernel behind ``nn.Dropout`` (measured: 0.29 vs 0.73 ms for 128×512).
    """

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        return x * (torch.rand_like(x) >= self.p) / (1.0 - self.p)


def mlp(sizes: list[int], act: Activation = nn.ReLU, dropout: float = 0.0) -> nn.Sequential:
    """Linear layers ``sizes[0] -> ... -> sizes[-1]`` with ``act`` (and dropout) between them."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(act())
            if dropout:
                layers.append(Dropout(dropout))
    return nn.Sequential(*layers)


def conv_sides(resolution: int) -> list[int]:
    """Feature-map sides of the conv stack: halve while even and above 7 (28 -> 14 -> 7, 32 -> 16 -> 8 -> 4)."""
    sides = [resolution]
    while sides[-1] % 2 == 0 and sides[-1] > 7:
        sides.append(sides[-1] // 2)
    return sides


def _channels(h: int, stages: int) -> list[int]:
    return [h * 2 ** min(i, 3) for i in range(stages)]


class ImageToVector(nn.Module):
    """Encoder body: image N×C×H×W -> N×out (MLP on flattened pixels, or stride-2 convs + linear)."""

    def __init__(self, arch: str, shape: Shape, h: int, out: int, act: Activation = nn.ReLU,
                 dropout: float = 0.0):
        super().__init__()
        c, res, _ = shape
        if arch == "mlp":
            self.net = nn.Sequential(nn.Flatten(), mlp([c * res * res, h, h, out], act, dropout))
            return
        sides = conv_sides(res)
        chans = _channels(h, len(sides) - 1)
        layers: list[nn.Module] = []
        for cin, cout in zip([c, *chans[:-1]], chans):
            layers += [nn.Conv2d(cin, cout, 4, 2, 1), act()]
        if dropout:
            layers.append(Dropout(dropout))
        layers += [nn.Flatten(), nn.Linear(chans[-1] * sides[-1] ** 2, out)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class VectorToImage(nn.Module):
    """Decoder / generator body: N×inp -> N×C×H×W pre-activations (logits or values before squashing)."""

    def __init__(self, arch: str, shape: Shape, h: int, inp: int, act: Activation = nn.ReLU):
        super().__init__()
        self.shape = shape
        c, res, _ = shape
        if arch == "mlp":
            self.net = nn.Sequential(mlp([inp, h, h, c * res * res], act), nn.Unflatten(1, shape))
            return
        sides = conv_sides(res)
        chans = _channels(h, len(sides) - 1)[::-1]
        layers: list[nn.Module] = [nn.Linear(inp, chans[0] * sides[-1] ** 2), act(),
                                   nn.Unflatten(1, (chans[0], sides[-1], sides[-1]))]
        for i, cin in enumerate(chans):
            cout = chans[i + 1] if i + 1 < len(chans) else c
            layers.append(nn.ConvTranspose2d(cin, cout, 4, 2, 1))
            if i + 1 < len(chans):
                layers.append(act())
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())

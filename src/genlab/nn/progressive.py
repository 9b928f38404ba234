"""Generator and discriminator that grow from 4×4 to the full resolution (Karras et al. 2018, section 2).

Both networks are built whole at the start (one block per resolution level, level 0 = 4×4) and run
up to the current ``level``. When a level is added its block fades in (figure 2): with α rising
from 0 to 1,

    G: img = (1 - α) · upsample(toRGB_{level-1}(h_{level-1})) + α · toRGB_level(block_level(up(h_{level-1})))
    D: h   = (1 - α) · fromRGB_{level-1}(downsample(x))        + α · block_level(fromRGB_level(x))

so at α = 0 each network equals the previous level's (the skip path through the neighbouring
resolution) and at α = 1 the new block alone. Upsampling is nearest-neighbour, downsampling 2×2
average pooling, as in the paper. G ends in a linear toRGB (no tanh); D in a linear critic.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from genlab.nn.equalized import EqualizedConv2d, EqualizedLinear
from genlab.nn.minibatch_stddev import MinibatchStddev
from genlab.nn.pixel_norm import PixelNorm


def num_levels(resolution: int) -> int:
    """Levels from 4×4 to ``resolution`` (a power of two >= 4): 32 -> 4 (4, 8, 16, 32)."""
    if resolution < 4 or resolution & (resolution - 1):
        raise ValueError(f"progressive growing needs a power-of-two resolution >= 4, got {resolution}")
    return resolution.bit_length() - 2


def level_resolution(level: int) -> int:
    return 4 * 2 ** level


def channels(level: int, fmap_base: int, fmap_max: int) -> int:
    """Feature maps at a level: min(fmap_base / resolution, fmap_max), as in the paper's code (8192, 512)."""
    return max(1, min(fmap_base // level_resolution(level), fmap_max))


def upsample(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="nearest")


def downsample(x: torch.Tensor, factor: int = 2) -> torch.Tensor:
    return F.avg_pool2d(x, factor) if factor > 1 else x


def fade(low: torch.Tensor, high: torch.Tensor, alpha: float) -> torch.Tensor:
    """(1 - α) · low + α · high."""
    return high if alpha >= 1.0 else torch.lerp(low, high, alpha)


class _Blocks(nn.Module):
    def __init__(self, equalized: bool):
        super().__init__()
        self.equalized = equalized

    def conv(self, cin: int, cout: int, k: int = 3, gain: float | None = None) -> EqualizedConv2d:
        kw = {} if gain is None else {"gain": gain}
        return EqualizedConv2d(cin, cout, k, equalized=self.equalized, **kw)

    def linear(self, cin: int, cout: int, gain: float | None = None) -> EqualizedLinear:
        kw = {} if gain is None else {"gain": gain}
        return EqualizedLinear(cin, cout, equalized=self.equalized, **kw)


class ProgressiveGenerator(_Blocks):
    """G(z, level, α): latent -> 4×4 (dense + conv) -> [upsample, conv, conv] per level -> toRGB.

    With ``pixel_norm`` the latent and every conv output are pixel-normalized (section 4.2).
    """

    def __init__(self, z: int, out_channels: int, levels: int, fmap_base: int, fmap_max: int,
                 equalized: bool = True, pixel_norm: bool = True):
        super().__init__(equalized)
        self.z, self.levels = z, levels
        act = lambda: nn.LeakyReLU(0.2)  # noqa: E731
        norm = PixelNorm if pixel_norm else nn.Identity
        self.latent_norm = norm()
        c0 = channels(0, fmap_base, fmap_max)
        # The dense layer maps z to a 4×4 map: gain sqrt(2)/4 as in the paper's code (16 outputs per unit).
        self.blocks = nn.ModuleList([nn.Sequential(
            self.linear(z, c0 * 16, gain=2 ** 0.5 / 4), nn.Unflatten(1, (c0, 4, 4)), act(), norm(),
            self.conv(c0, c0), act(), norm())])
        for level in range(1, levels):
            cin, cout = channels(level - 1, fmap_base, fmap_max), channels(level, fmap_base, fmap_max)
            self.blocks.append(nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                             self.conv(cin, cout), act(), norm(), self.conv(cout, cout), act(), norm()))
        self.to_rgb = nn.ModuleList([self.conv(channels(level, fmap_base, fmap_max), out_channels, 1, gain=1.0)
                                     for level in range(levels)])

    def forward(self, z: torch.Tensor, level: int | None = None, alpha: float = 1.0) -> torch.Tensor:
        level = self.levels - 1 if level is None else level
        h = self.blocks[0](self.latent_norm(z))
        for k in range(1, level):
            h = self.blocks[k](h)
        if level == 0:
            return self.to_rgb[0](h)
        new = self.to_rgb[level](self.blocks[level](h))
        if alpha >= 1.0:
            return new
        return fade(upsample(self.to_rgb[level - 1](h)), new, alpha)


class ProgressiveDiscriminator(_Blocks):
    """D(x, level, α): fromRGB -> [conv, conv, avg-pool] per level -> 4×4 block -> critic value.

    The 4×4 block starts with the minibatch standard deviation map (``mbstd``; section 3).
    """

    def __init__(self, in_channels: int, levels: int, fmap_base: int, fmap_max: int, equalized: bool = True,
                 mbstd: bool = True, mbstd_group: int = 4):
        super().__init__(equalized)
        self.levels = levels
        act = lambda: nn.LeakyReLU(0.2)  # noqa: E731
        self.from_rgb = nn.ModuleList([nn.Sequential(self.conv(in_channels, channels(level, fmap_base, fmap_max), 1),
                                                     act()) for level in range(levels)])
        c0 = channels(0, fmap_base, fmap_max)
        self.blocks = nn.ModuleList([nn.Sequential(
            MinibatchStddev(mbstd_group) if mbstd else nn.Identity(),
            self.conv(c0 + int(mbstd), c0), act(), nn.Flatten(),
            self.linear(c0 * 16, c0), act(), self.linear(c0, 1, gain=1.0))])
        for level in range(1, levels):
            cin, cout = channels(level, fmap_base, fmap_max), channels(level - 1, fmap_base, fmap_max)
            self.blocks.append(nn.Sequential(self.conv(cin, cin), act(), self.conv(cin, cout), act(),
                                             nn.AvgPool2d(2)))

    def forward(self, x: torch.Tensor, level: int | None = None, alpha: float = 1.0) -> torch.Tensor:
        level = self.levels - 1 if level is None else level
        h = self.from_rgb[level](x)
        if level > 0:
            h = self.blocks[level](h)
            if alpha < 1.0:
                h = fade(self.from_rgb[level - 1](downsample(x)), h, alpha)
            for k in range(level - 1, 0, -1):
                h = self.blocks[k](h)
        return self.blocks[0](h).squeeze(1)

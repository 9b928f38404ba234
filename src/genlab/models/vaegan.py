"""VAE-GAN (Larsen et al. 2016, "Autoencoding beyond pixels using a learned similarity metric").

A VAE whose decoder is also a GAN generator, and whose reconstruction error is measured in the
feature space of the GAN's discriminator instead of pixel space. With Dis_l(x) the activation of
hidden layer l (``vaegan.feature_layer``) and a Gaussian observation model on it (their eq. 6):

    L_prior = KL(q(z|x) || p(z))
    L_llike = -E_q(z|x)[log p(Dis_l(x) | z)] = ½ ||Dis_l(x) - Dis_l(x̃)||² + const,  x̃ = Dec(z)
    L_GAN   = log Dis(x) + log(1 - Dis(x̃)) + log(1 - Dis(Dec(z_p))),               z_p ~ p(z)

One forward pass per step, then each network gets its own gradient (their Algorithm 1):
Enc on L_prior + L_llike; Dec on γ·L_llike - L_GAN (``vaegan.gamma``); Dis on L_GAN. It is one phase
whose loss is one scalar per network; all three gradients are taken before any update.
The algorithm's signs read "Dis ascends L_GAN, Dec descends it"; we implement it with the
discriminator and generator losses of :mod:`genlab.nn.adversarial` (``vaegan.loss``, default the
non-saturating form that the paper's code uses for the decoder): Dis minimises the cross-entropy of
x against x̃ and x_p, Dec minimises γ·L_llike + the generator loss on x̃ and x_p. L_llike does not
train Dis (it would collapse the features), and L_GAN does not train Enc, as in the paper.

Two choices the paper leaves open, both params, measured here on MNIST with MLPs (FID on 2000
samples after 1000-2500 steps): the paper's unit-variance Gaussian on Dis_l makes L_llike so flat
for MLP features (~15 nats) that the KL wins and q(z|x) collapses onto the prior (KL 0.5-2 nats,
FID ~180-230); ``vaegan.feature_sigma`` = 0.1 scales it by 100 (KL ~30 nats). Layer 1 of the
discriminator, with dropout 0.3 in D as in our GAN, gave FID 47 where layer 2 gave 165 and layer 3
278. No other stabilizer is added: the equilibrium gating of some public implementations needs a
host sync every step and was not needed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from genlab.config import ConfigError, param
from genlab.models.base import Loss, Phase
from genlab.models.gan import Discriminator
from genlab.models.vae import VAE
from genlab.nn.adversarial import discriminator_loss, generator_loss
from genlab.nn.gaussian import gaussian_kl, reparameterize


@dataclass(frozen=True)
class VAEGANConfig:
    h: int = param(512, "width of encoder, decoder and discriminator (0 = model.h)", min=0)
    feature_layer: int = param(1, "hidden layer l of the discriminator whose activations measure reconstruction "
                                  "(mlp: 1..3, conv: 1..stages+1)", positive=True)
    feature_sigma: float = param(0.1, "std σ of the Gaussian p(Dis_l(x) | z): L_llike = ||Dis_l(x) - Dis_l(x̃)||² / 2σ²",
                                 positive=True)
    gamma: float = param(1.0e-2, "weight γ of L_llike against L_GAN in the decoder's loss", min=0.0)
    loss: Literal["non-saturating", "saturating", "hinge", "least-squares"] = param(
        "non-saturating", "adversarial loss pair (see genlab.nn.adversarial)")
    lr: float = param(5.0e-4, "Adam lr of the three networks", positive=True)
    beta1: float = param(0.5, "Adam beta1 of the three networks", min=0.0, max=1.0)
    dropout: float = param(0.3, "dropout in the discriminator's hidden layers (after the activations)", min=0.0,
                           max=0.9)
    steps: int = param(2500, "training steps (0 = train.steps); train.steps still caps it", min=0)


class VAEGAN(VAE):
    """The VAE's encoder/decoder (one source) plus the GAN's discriminator, one Adam over the three."""

    # p(x|z) is a Gaussian on D's features, not a density on pixels: no pixel ELBO, no log p(x)
    elbo_terms = proposal = log_px_given_z = None

    def __init__(self, cfg: VAEGANConfig, model, shape, num_classes, steps):
        super().__init__(cfg, model, shape, num_classes, steps, h=cfg.h)
        self.discriminator = Discriminator(model.arch, shape, self.h, cfg.dropout)
        if cfg.feature_layer > self.discriminator.num_layers:
            raise ConfigError(f"vaegan.feature_layer: {cfg.feature_layer} is beyond the discriminator's "
                              f"{self.discriminator.num_layers} hidden layers; choose 1..{self.discriminator.num_layers}")
        self.phases = (Phase("vaegan", ("encoder", "decoder", "discriminator"), cfg.lr, (cfg.beta1, 0.999)),)

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The three losses of Algorithm 1 from one forward pass (x in [0, 1]; Dis sees [-1, 1])."""
        n = len(x)
        mu, logvar = self.encode(x)
        x_tilde = self.decode_mean(reparameterize(mu, logvar))
        x_p = self.decode_mean(self.prior(n))
        feats, logits = self.discriminator.features_and_logit(torch.cat([x, x_tilde, x_p]) * 2 - 1,
                                                              self.cfg.feature_layer)
        real, rec, fake = logits.split(n)
        f_real, f_rec = feats[:n], feats[n:2 * n]
        gan_d = discriminator_loss(real, torch.cat([rec, fake]), self.cfg.loss)
        gan_g = generator_loss(torch.cat([rec, fake]), self.cfg.loss)
        return {"prior": gaussian_kl(mu, logvar).mean(),
                "llike": (f_rec - f_real.detach()).pow(2).sum(1).mean() / (2 * self.cfg.feature_sigma ** 2),
                "gan_d": gan_d, "gan_g": gan_g}

    def loss(self, phase, x, y):
        terms = self.losses(x)
        per_network = {"encoder": terms["prior"] + terms["llike"],
                       "decoder": self.cfg.gamma * terms["llike"] + terms["gan_g"],
                       "discriminator": terms["gan_d"]}
        return Loss(per_network, {k: v.detach() for k, v in terms.items()})


# what genlab.models.registry looks up by the family name
Config, Model = VAEGANConfig, VAEGAN

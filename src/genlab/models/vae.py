"""Variational autoencoder (Kingma & Welling 2014), with the beta weight of Higgins et al. 2017.

Encoder q(z|x) = N(mu(x), diag sigma²(x)), prior p(z) = N(0, I), decoder p(x|z) Bernoulli (logits)
or Gaussian with fixed std. Trained by maximising the ELBO

    ELBO(x) = E_q(z|x)[log p(x|z)] - KL(q(z|x) || p(z))        (Kingma & Welling 2014, eq. 3)

with one reparameterized sample of z per image and the KL in closed form (their Appendix B).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from genlab.config import param
from genlab.models.autoencoder import Autoencoder
from genlab.nn.observation import log_likelihood  # noqa: F401 - re-exported: models import it from here


@dataclass(frozen=True)
class VAEConfig:
    beta: float = param(1.0, "weight of the KL term (1 = the ELBO; beta-VAE otherwise)", min=0.0)
    likelihood: Literal["bernoulli", "gaussian"] = param(
        "bernoulli", "decoder p(x|z): bernoulli on pixel intensities, or gaussian with std vae.sigma")
    sigma: float = param(0.1, "std of the gaussian likelihood (pixels in [0, 1])", positive=True)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """z = mu + sigma * eps, eps ~ N(0, I) (Kingma & Welling 2014, eq. 4 / section 2.4).

    Drawing z ~ q(z|x) directly is not differentiable in the parameters of q: the sample is a
    random function of them with no path for the gradient. Writing it as a deterministic,
    differentiable transform of parameter-free noise eps moves the randomness out of the graph,
    so d z / d mu = 1 and d z / d sigma = eps, and E_q[f(z)] = E_eps[f(mu + sigma * eps)] can be
    differentiated under the expectation with low variance.
    """
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma²) || N(0, I)) per row = ½ Σ_j (mu_j² + sigma_j² - 1 - log sigma_j²) (K&W 2014, App. B)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)


class VAE(Autoencoder):
    """Gaussian-encoder VAE on the shared MLP / conv stacks (``model.arch``, ``model.h``, ``model.z``)."""

    def __init__(self, cfg: VAEConfig, model, train, shape, num_classes, z: int = 0, h: int = 0):
        super().__init__(cfg, model, train, shape, num_classes, z=z, h=h, stats=2)
        self.optimizers = {"vae": self.adam(self.parameters())}

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(z|x)."""
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def code(self, x):
        return self.encode(x)[0]

    def proposal(self, x):
        """q(z|x) itself: nll_iw is the IWAE bound (Burda et al. 2016)."""
        return self.encode(x)

    def elbo_terms(self, x: torch.Tensor, generator: torch.Generator | None = None):
        """(log p(x|z), KL(q(z|x) || p(z))) per image, with one reparameterized z each."""
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar, generator)
        rec = log_likelihood(x, self.decoder(z), self.cfg.likelihood, self.cfg.sigma)
        return rec, gaussian_kl(mu, logvar)

    def train_step(self, x, y):
        rec, kl = self.elbo_terms(x)
        loss = -(rec - self.cfg.beta * kl).mean()
        self.step("vae", loss)
        return {"loss": loss.detach(), "rec": -rec.detach().mean(), "kl": kl.detach().mean()}

    @torch.no_grad()
    def evaluate(self, images, labels, generator, cfg):
        """Test ELBO (nats per image, beta = 1, one z sample) and pixel MSE of reconstructions from mu."""
        elbo = sum(float((rec - kl).sum()) for rec, kl in (self.elbo_terms(x, generator) for x in images.split(500)))
        return {"elbo": elbo / len(images), **super().evaluate(images, labels, generator, cfg)}

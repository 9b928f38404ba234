"""The claims, written down before they are measured: each is the statement of a paper (or of the course notes the
lab follows), what is measured on which runs, the comparison, and the budget rule. Their verdicts come from
:mod:`genlab.claims.verdicts`; nothing here is tuned to the numbers.

A number is a :class:`Metric`: a key of one of the pipeline's result files, one value per seed. ``eval:<model>``
is that model's evaluation (``metrics/eval/<model>.json`` of each seed's run of the group); ``theory``, ``modes``
and ``estimators`` hold per-seed lists of their own (their stages run the seeds inside).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Metric:
    source: str  # eval:<model> | theory | modes | estimators
    key: str  # dotted path in the result file, e.g. "fid" or "fitted_gaussian.fid"
    group: str = "default"  # the run group (params) of eval metrics: "default" is params.yaml

    def label(self) -> str:
        where = self.source.removeprefix("eval:")
        return f"{where} {self.key}" + ("" if self.group == "default" else f" [{self.group}]")


@dataclass(frozen=True)
class Part:
    """``measured`` (minus ``against``, when given) is claimed to be ``direction`` ``bound``."""

    measured: Metric
    direction: Literal["below", "above"]
    bound: float = 0.0
    against: Metric | None = None

    def expected(self) -> str:
        sign = "<" if self.direction == "below" else ">"
        if self.against is not None:
            return f"{self.measured.label()} {sign} {self.against.label()}"
        return f"{self.measured.label()} {sign} {self.bound:g}"


@dataclass(frozen=True)
class Claim:
    id: str
    statement: str
    source: str
    parts: tuple[Part, ...]
    budget: Literal["equal", "toy", "study", "sweep"]  # equal: the runs compared share steps, images seen, width, latent size
    larger: str = ""  # one command that measures the claim at a larger budget than the default run's


def _eval(model: str, key: str) -> Metric:
    return Metric(f"eval:{model}", key)


def _swept(model: str, key: str, group: str) -> Metric:
    return Metric(f"eval:{model}", key, group)


#: the width sweep of the course notes: the VAE and the GAN at model.h (the GAN's own h set to 0) and at the VAE's
#: steps (the GAN's own budget set to 0 = train.steps), run as dvc exp run -S model.h=16 -S gan.h=0 -S gan.steps=0
#: (and 64, 128; `make seeds` queues them)
WIDTHS = {h: f"gan.h=0,gan.steps=0,model.h={h}" for h in (16, 64, 128)}
#: the Progressive GAN's techniques, each switched off alone (dvc exp run -S pggan.mbstd=false ...)
TECHNIQUES = ("mbstd", "equalized_lr", "pixel_norm", "fade_in")


def seed_plan(models: list[str]) -> list[tuple[dict, tuple[str, ...]]]:
    """The experiments the claims read at every seed: (the params each sets with -S, the models it evaluates):
    params.yaml itself, the width sweep and the Progressive GAN with each technique off (`genlab seeds`)."""
    return [({}, tuple(models)),
            *(({"model.h": h, "gan.h": 0, "gan.steps": 0}, ("vae", "gan")) for h in WIDTHS),
            *(({f"pggan.{t}": False}, ("pggan",)) for t in TECHNIQUES)]


def _widths() -> tuple[Part, ...]:
    """Sample quality rises with h for the VAE and the GAN, and the GAN beats the VAE at every h."""
    narrow, medium, wide = WIDTHS.values()
    parts = []
    for model in ("vae", "gan"):
        parts += [Part(_swept(model, "fid", medium), "below", against=_swept(model, "fid", narrow)),
                  Part(_swept(model, "fid", wide), "below", against=_swept(model, "fid", medium))]
    parts += [Part(_swept("gan", "fid", g), "below", against=_swept("vae", "fid", g)) for g in WIDTHS.values()]
    return tuple(parts)


#: the VAE each autoencoder is compared with: the entry of params.yaml's models trained at that model's budget
#: (steps, images, width, latent size), since the default VAE trains longer and wider than the AE, AAE, VAE-GAN
PEERS = {"ae": "vae-4000", "aae": "vae-2000", "vaegan": "vae-2500-h512"}
#: the conditional VAEs of 1, 2 and 3 observed quadrants (params.yaml's models)
QUADRANTS = {1: "cvae-q1", 2: "cvae", 3: "cvae-q3"}


def _toy(variant: str, mixture: str, key: str) -> Metric:
    return Metric("modes", f"variants.{variant}.{mixture}.{key}")


def _recovers(remedy: str) -> tuple[Part, ...]:
    """The remedy covers more modes of the grid and spreads them more evenly than the vanilla GAN (ring and grid)."""
    return (Part(_toy(remedy, "grid", "modes"), "above", against=_toy("gan", "grid", "modes")),
            Part(_toy(remedy, "ring", "reverse_kl"), "below", against=_toy("gan", "ring", "reverse_kl")),
            Part(_toy(remedy, "grid", "reverse_kl"), "below", against=_toy("gan", "grid", "reverse_kl")))


BUDGETS = {
    "equal": "the compared runs train for the same optimizer steps and images, at the same width and latent size",
    "toy": "the fixed toy settings of the theory and modes stages (params: theory, modes); stacked MNIST: equal "
           "steps and batch for both GANs",
    "study": "the estimator study's fixed draws on the trained VAE (params: estimators); intervals over the 10 "
             "chunks of its draws",
    "sweep": "the default params but the swept ones, the same steps and images for every width",
}

CLAIMS: tuple[Claim, ...] = (
    Claim("saturation",
          "log(1 - D(G(z))) saturates: when D rejects samples with high confidence its gradient vanishes, while "
          "-log D(G(z)) gives strong gradients early in learning",
          "Goodfellow et al. 2014, section 3",
          (Part(Metric("theory", "saturation.grad_ratio_saturating_over_nonsaturating"), "below", 0.01),),
          "toy"),
    Claim("optimal-discriminator",
          "for G fixed, the optimal discriminator is D*(x) = p_data(x) / (p_data(x) + p_g(x)); D* = 1/2 everywhere "
          "when p_g = p_data",
          "Goodfellow et al. 2014, Proposition 1",
          (Part(Metric("theory", "dstar_max_abs_err"), "below", 0.02),
           Part(Metric("theory", "dstar_equal_max_dev"), "below", 0.02)),
          "toy", "dvc exp run -S theory.d_steps=8000 theory claims  # D trained 4x longer, the same 5 seeds"),
    Claim("jsd-identity",
          "at D*, V(D*, G) = -log 4 + 2 JSD(p_data || p_g), whose minimum -log 4 is reached only at p_g = p_data",
          "Goodfellow et al. 2014, Theorem 1",
          (Part(Metric("theory", "jsd_identity_max_err"), "below", 1e-3),
           Part(Metric("theory", "equal_value_minus_log4"), "below", 1e-3)),
          "toy"),
    Claim("gan-loses-modes",
          "a GAN's generator finds a few outputs its discriminator cannot reject and keeps producing them: it "
          "misses modes of the data",
          "Goodfellow et al. 2014, section 6; the benchmarks of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et "
          "al. 2018, Table 1)",
          (Part(_toy("gan", "ring", "modes"), "below", 8.0), Part(_toy("gan", "grid", "modes"), "below", 25.0),
           Part(_eval("gan-stacked", "stacked_modes"), "below", 1000.0)),
          "toy"),
    Claim("packing-recovers-modes",
          "packing (a discriminator that judges m samples jointly) penalises the lack of diversity and recovers "
          "the lost modes",
          "Lin et al. 2018, sections 3 and 5",
          _recovers("pacgan2") + (Part(_eval("gan-stacked-pack2", "stacked_modes"), "above",
                                       against=_eval("gan-stacked", "stacked_modes")),),
          "toy", "dvc exp run -S ++models.gan-stacked.steps=50000 -S ++models.gan-stacked-pack2.steps=50000 "
                 "evaluate@gan-stacked evaluate@gan-stacked-pack2  # stacked MNIST at the papers' budget"),
    Claim("wgan-gp-recovers-modes",
          "a Wasserstein critic with a gradient penalty gives the generator useful gradients everywhere and "
          "covers the modes",
          "Gulrajani et al. 2017, section 5; Arjovsky et al. 2017",
          _recovers("wgan-gp"), "toy"),
    Claim("ae-cannot-generate",
          "a plain autoencoder has no prior to sample from: decoding z ~ N(0, I) gives poor images where a VAE's "
          "are good; a Gaussian fitted to the AE's codes lies in between",
          "Kingma & Welling 2014; the course notes",
          (Part(_eval("ae", "fid"), "above", against=_eval(PEERS["ae"], "fid")),
           Part(_eval("ae", "fitted_gaussian.fid"), "below", against=_eval("ae", "fid")),
           Part(_eval("ae", "fitted_gaussian.fid"), "above", against=_eval(PEERS["ae"], "fid"))),
          "equal"),
    Claim("vae-latent-continuous",
          "the VAE's KL term makes its latent space continuous: decoded straight paths between codes stay on "
          "digits more often than the plain AE's",
          "the course notes",
          (Part(_eval(PEERS["ae"], "interp_confident"), "above", against=_eval("ae", "interp_confident")),),
          "equal", "dvc exp run -S ae.steps=0 -S models.vae-4000.steps=0 evaluate@ae evaluate@vae-4000  # both at "
                   "train.steps (8,000); compare interp_confident in metrics/eval/{ae,vae-4000}.json"),
    Claim("ae-reconstructs",
          "without the KL term the plain AE reconstructs at least as well as the VAE",
          "the course notes",
          (Part(_eval("ae", "recon_mse"), "below", against=_eval(PEERS["ae"], "recon_mse")),),
          "equal"),
    Claim("reparam-lower-variance",
          "the reparameterization gradient has far lower variance than the score function (REINFORCE); the "
          "optimal control variate a* = cov(f, g)/var(g) leaves 1 - corr(f, g)^2 of the score function's variance",
          "Kingma & Welling 2014; Williams 1992; the course notes on control variates",
          (Part(Metric("estimators", "trained.chunks.var_ratio_reparam_over_score"), "below", 1.0),
           Part(Metric("estimators", "trained.chunks.cv_ratio_rel_err"), "below", 0.1)),
          "study"),
    Claim("width-sweep",
          "sample quality rises with the width h (16, 64, 128) for the VAE and the GAN, and the GAN's samples "
          "beat the VAE's at every h",
          "the course notes",
          _widths(), "sweep", "dvc exp run -S model.h=H -S gan.h=0 -S gan.steps=0 -S train.steps=16000 evaluate@vae "
                              "evaluate@gan  # for H in 16, 64, 128 and each seed: both models twice as long"),
    Claim("cvae-beats-regression",
          "a conditional VAE predicts the missing quadrants of a digit with a lower negative conditional "
          "log-likelihood -log p(x2 | x1) than a deterministic regression, with 1, 2 and 3 quadrants observed",
          "Sohn et al. 2015, Table 1 (as Pyro's CVAE tutorial runs it)",
          tuple(Part(_eval(m, "ncll"), "below", against=_eval(m, "ncll_regression")) for m in QUADRANTS.values()),
          "equal"),
    Claim("vaegan-sharper",
          "feature-wise reconstruction in D's hidden layer gives sharper samples than the VAE's element-wise one",
          "Larsen et al. 2016, section 4",
          (Part(_eval("vaegan", "sharpness"), "above", against=_eval(PEERS["vaegan"], "sharpness")),
           Part(_eval("vaegan", "fid"), "below", against=_eval(PEERS["vaegan"], "fid"))),
          "equal"),
    Claim("aae-matches-prior",
          "the adversarial autoencoder matches the aggregated posterior q(z) to the prior, where the VAE's KL "
          "pulls each q(z|x) towards it: its codes are closer to the prior",
          "Makhzani et al. 2015, sections 2 and 5",
          (Part(_eval("aae", "latent_prior_gap"), "below", against=_eval(PEERS["aae"], "latent_prior_gap")),),
          "equal"),
    Claim("pggan-techniques",
          "each of minibatch stddev, equalized lr, pixelwise feature normalization and fade-in improves the "
          "Progressive GAN's FID",
          "Karras et al. 2018, Table 1",
          tuple(Part(_eval("pggan", "fid"), "below", against=_swept("pggan", "fid", f"pggan.{t}=False"))
                for t in TECHNIQUES), "equal"),
)

"""The gradient-estimator study: reparameterization vs score function (with and without a control variate)
on the VAE's ELBO, with respect to every encoder weight, at initialization and at the trained checkpoint.

The estimated quantity is ∇_φ (1/B) Σ_b E_q(z|x_b)[log p(x_b|z)] for a fixed minibatch of B test images;
the KL term of the ELBO has a closed form (identical and exact for all three), so it is left out. Each
image's per-sample terms live in the 2z numbers (mu, logvar) of q(z|x_b); in weight space they are
J_b^T u with J_b the encoder's Jacobian at x_b, so every weight-space total variance is computed
exactly as tr(M_b cov(u)) with M_b = J_b J_b^T (images draw independent z, so variances add), and
every weight-space distance (bias) by one backward pass through the encoder.

A pool of ``reps × max(n)`` draws per image gives the n-sample estimates (disjoint groups of n draws),
so var ∝ 1/n is measured, not assumed; a* comes from separate ``pilot`` draws; the reference gradient
from ``reference`` further reparameterized draws.
"""

from __future__ import annotations

import math

import torch

from genlab.gradients.estimators import optimal_a, reparam_terms, score, score_terms, total_variance, variance_ratio_predicted
from genlab.models.vae import VAE
from genlab.nn.observation import log_likelihood

ESTIMATORS = ("reparam", "score", "score_cv")
CHUNKS = 10  # pool splits giving the standard error of the measured control-variate reduction


def jacobian_grams(vae: VAE, images: torch.Tensor) -> torch.Tensor:
    """M_b = J_b J_b^T (B×2z×2z): inner products in weight space of the encoder's output directions at each image."""
    params = [p for p in vae.encoder.parameters()]
    grams = []
    for x in images.split(1):
        out = vae.encoder(x)[0]
        rows = [torch.cat([g.flatten() for g in torch.autograd.grad(out[j], params, retain_graph=True)])
                for j in range(len(out))]
        jac = torch.stack(rows)
        grams.append(jac @ jac.T)
    return torch.stack(grams).detach()


def weight_space_norm(vae: VAE, images: torch.Tensor, u: torch.Tensor) -> float:
    """‖Σ_b J_b^T u_b‖ over all encoder weights (u: B×2z), by one backward pass."""
    params = list(vae.encoder.parameters())
    grads = torch.autograd.grad(vae.encoder(images), params, grad_outputs=u)
    return math.sqrt(sum(float(g.pow(2).sum()) for g in grads))


def draw(vae: VAE, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, n: int, generator: torch.Generator,
         chunk: int = 4096) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """n draws eps ~ N(0, I) for one image: (eps, f = log p(x|z), df/dz) at z = mu + sigma·eps."""
    eps_all, f_all, df_all = [], [], []
    for k in range(0, n, chunk):
        eps = torch.randn(min(chunk, n - k), len(mu), generator=generator, device=mu.device)
        z = (mu + (0.5 * logvar).exp() * eps).requires_grad_(True)
        f = log_likelihood(x, vae.decoder(z), vae.cfg.likelihood, vae.cfg.sigma)
        (df,) = torch.autograd.grad(f.sum(), z)
        eps_all.append(eps)
        f_all.append(f.detach())
        df_all.append(df)
    return torch.cat(eps_all), torch.cat(f_all), torch.cat(df_all)


def group_means(terms: torch.Tensor, n: int) -> torch.Tensor:
    """Means of disjoint groups of n consecutive draws: the n-sample estimates (R×2z)."""
    r = len(terms) // n
    return terms[: r * n].view(r, n, -1).mean(1)


def study(vae: VAE, images: torch.Tensor, ns: tuple[int, ...], reps: int, pilot: int, reference: int,
          generator: torch.Generator) -> dict:
    """Variances (per n), biases and the control variate's measured vs predicted reduction; see the module doc.
    Freezes the decoder's weights (only df/dz is needed from it)."""
    for p in vae.decoder.parameters():
        p.requires_grad_(False)
    b = len(images)
    mu, logvar = (t.detach() for t in vae.encoder(images).chunk(2, dim=1))
    grams = jacobian_grams(vae, images)
    pool = reps * max(ns)
    var = {e: {n: 0.0 for n in ns} for e in ESTIMATORS}
    chunk_var = {e: torch.zeros(CHUNKS) for e in ESTIMATORS}
    pred_num, pred_den = 0.0, 0.0
    means = {e: torch.zeros_like(torch.cat([mu, logvar], 1)) for e in (*ESTIMATORS, "reference")}
    for i in range(b):
        x, m, lv, gram = images[i:i + 1], mu[i], logvar[i], grams[i]
        eps, f, df = draw(vae, x, m, lv, pool, generator)
        eps_p, f_p, _ = draw(vae, x, m, lv, pilot, generator)
        eps_r, _, df_r = draw(vae, x, m, lv, reference, generator)
        a = optimal_a(score_terms(f_p, eps_p, lv), score(eps_p, lv), gram)
        terms = {"reparam": reparam_terms(df, eps, lv), "score": score_terms(f, eps, lv),
                 "score_cv": score_terms(f, eps, lv, a)}
        for e, t in terms.items():
            means[e][i] = t.mean(0)
            for n in ns:
                var[e][n] += float(total_variance(group_means(t, n), gram)) / b**2
        for e in chunk_var:
            chunk_var[e] += torch.stack([total_variance(c, gram) for c in terms[e].chunk(CHUNKS)])
        w = float(total_variance(terms["score"], gram))
        pred_num += w * float(variance_ratio_predicted(terms["score"], score(eps, lv), gram))
        pred_den += w
        means["reference"][i] = reparam_terms(df_r, eps_r, lv).mean(0)
    n0 = min(ns)  # the ratio is the same at every n; the smallest has the most groups
    ratio = var["score_cv"][n0] / var["score"][n0]
    chunk_ratios = chunk_var["score_cv"] / chunk_var["score"]
    out = {
        "grad_norm": weight_space_norm(vae, images, means["reference"] / b),
        "cv_variance_ratio": ratio, "cv_variance_ratio_predicted": pred_num / pred_den,
        "cv_reduction": 1 - ratio, "cv_reduction_predicted": 1 - pred_num / pred_den,
        "cv_reduction_stderr": float(chunk_ratios.std() / math.sqrt(CHUNKS)),
        # per chunk of the draws, the samples the claims' intervals are taken over
        "chunks": {"var_ratio_reparam_over_score": (chunk_var["reparam"] / chunk_var["score"]).tolist(),
                   "cv_ratio_rel_err": (chunk_ratios / (pred_num / pred_den) - 1).abs().tolist()},
    }
    for e in ESTIMATORS:
        out[f"var_{e}"] = {f"n{n}": var[e][n] for n in ns}
        logs = torch.tensor([[math.log(n), math.log(var[e][n])] for n in ns])
        out[f"var_slope_{e}"] = float(torch.linalg.lstsq(
            torch.stack([logs[:, 0], torch.ones(len(ns))], 1), logs[:, 1:]).solution[0, 0]) if len(ns) > 1 else None
        # Distance of the all-draws mean from the reference, and the distance expected from noise alone.
        out[f"bias_{e}"] = weight_space_norm(vae, images, (means[e] - means["reference"]) / b)
        out[f"bias_{e}_noise"] = math.sqrt(var[e][n0] * n0 / pool + var["reparam"][n0] * n0 / reference)
    return out

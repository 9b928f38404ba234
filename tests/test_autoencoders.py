"""AE, AAE and VAE-GAN with numbers: shared networks, loss limits, gradient paths, priors, latent metrics."""

from __future__ import annotations

import pytest
import torch

from genlab.config import ConfigError, ModelConfig, TrainConfig
from genlab.metrics.latent import Encoder, confident_share, interpolate, mmd2, reconstruct
from genlab.metrics.likelihood import ELBO, PixelLikelihood
from genlab.models.aae import AAE, AAEConfig
from genlab.models.ae import AE, AEConfig
from genlab.models.autoencoder import Autoencoder
from genlab.models.vae import VAE, VAEConfig
from genlab.models.vaegan import VAEGAN, VAEGANConfig
from genlab.nn.priors import sample_prior
from genlab.nn.stacks import ImageToVector, VectorToImage
from genlab.training.optimization import Optimization

SHAPE = (1, 8, 8)
TINY = ModelConfig(arch="mlp", h=32, z=3)
TRAIN = TrainConfig(lr=1e-2)


def batch(n=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, *SHAPE, generator=g).round(), torch.randint(0, 10, (n,), generator=g)


def build(cls, cfg, model=TINY):
    return cls(cfg, model, SHAPE, 10, 100)


def names_with_grad(model: torch.nn.Module) -> set[str]:
    return {n.split(".")[0] for n, p in model.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}


# ---------------------------------------------------------------- AE (issue 10)
def test_ae_and_vae_share_their_networks():
    torch.manual_seed(0)
    ae, vae = build(AE, AEConfig()), build(VAE, VAEConfig())
    assert isinstance(ae, Autoencoder) and isinstance(vae, Autoencoder)
    for m in (ae, vae):
        assert type(m.encoder) is ImageToVector and type(m.decoder) is VectorToImage
    assert {k: v.shape for k, v in ae.decoder.state_dict().items()} == \
        {k: v.shape for k, v in vae.decoder.state_dict().items()}
    enc_ae, enc_vae = ae.encoder.state_dict(), vae.encoder.state_dict()
    last = list(enc_ae)[-1]  # only the output layer differs: z outputs vs (mu, logvar)
    assert all(enc_ae[k].shape == enc_vae[k].shape for k in enc_ae if k.split(".")[-2] != last.split(".")[-2])
    assert enc_vae[last].shape[0] == 2 * enc_ae[last].shape[0]


def test_vae_loss_reduces_to_ae_loss_at_beta_0_and_sigma_to_0():
    torch.manual_seed(0)
    ae = build(AE, AEConfig())
    vae = build(VAE, VAEConfig(beta=0.0))
    vae.decoder.load_state_dict(ae.decoder.state_dict())
    weights = {k: v.clone() for k, v in ae.encoder.state_dict().items()}
    w, b = list(weights)[-2:]  # copy the AE's code layer into mu; logvar = -60 (sigma = 1e-13)
    weights[w] = torch.cat([weights[w], torch.zeros_like(weights[w])])
    weights[b] = torch.cat([weights[b], torch.full_like(weights[b], -60.0)])
    vae.encoder.load_state_dict(weights)
    x, _ = batch()
    rec, kl = vae.elbo_terms(x)
    vae_loss = -(rec - 0.0 * kl).mean()
    torch.testing.assert_close(vae_loss, ae.reconstruction_nll(x).mean(), rtol=1e-5, atol=1e-4)
    assert kl.mean() > 10  # the KL term is large there: only beta = 0 removes it


def test_ae_loss_falls_on_a_fixed_batch():
    torch.manual_seed(0)
    ae = build(AE, AEConfig())
    x, y = batch()
    opt = Optimization(ae, TRAIN)
    first = float(opt.step(x, y)["loss"])
    for _ in range(60):
        last = float(opt.step(x, y)["loss"])
    assert last < 0.7 * first


def test_fitted_gaussian_matches_the_codes():
    torch.manual_seed(0)
    ae = build(AE, AEConfig())
    images = (torch.rand(3000, *SHAPE) * 255).to(torch.uint8)
    ae.after_training(images)
    codes = ae.code(images.float() / 255).detach()
    torch.testing.assert_close(ae.code_mean, codes.mean(0), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(ae.code_chol @ ae.code_chol.T, torch.cov(codes.T), rtol=1e-3, atol=1e-5)
    draws = ae.fitted_codes(200_000, torch.Generator().manual_seed(1))
    torch.testing.assert_close(draws.mean(0), codes.mean(0), rtol=0, atol=0.02 * codes.std(0).max().item())
    torch.testing.assert_close(torch.cov(draws.T), torch.cov(codes.T), rtol=0.05, atol=1e-3)
    assert list(ae.samplers()) == ["prior", "fitted_gaussian"]


@pytest.mark.parametrize("cls,cfg", [(AE, AEConfig()), (VAE, VAEConfig()), (AAE, AAEConfig())])
def test_interpolation_endpoints_are_reconstructions(cls, cfg):
    torch.manual_seed(0)
    model = build(cls, cfg).eval()
    a, _ = batch(4, seed=1)
    b, _ = batch(4, seed=2)
    path = interpolate(model, a, b, 5).view(4, 5, *SHAPE)
    torch.testing.assert_close(path[:, 0], reconstruct(model, a))
    torch.testing.assert_close(path[:, -1], reconstruct(model, b))


def test_capabilities_follow_what_each_model_can_do():
    """Evaluation asks capabilities: every autoencoder has an encoder; only the VAE has an ELBO; a pixel likelihood
    with a prior density (nll_iw) belongs to the VAE and the AAE, not to the AE (no prior) nor to VAE-GAN (its
    p(x|z) lives on D's features)."""
    models = {"ae": build(AE, AEConfig()), "vae": build(VAE, VAEConfig()), "aae": build(AAE, AAEConfig()),
              "vaegan": build(VAEGAN, VAEGANConfig(h=0))}
    assert all(isinstance(m, Encoder) for m in models.values())
    assert {n for n, m in models.items() if isinstance(m, ELBO)} == {"vae"}
    assert {n for n, m in models.items() if isinstance(m, PixelLikelihood)} == {"vae", "aae"}


# ---------------------------------------------------------------- latent metrics
def test_mmd_is_zero_for_one_distribution_and_large_for_shifted_ones():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(1000, 8, generator=g), torch.randn(1000, 8, generator=g)
    same = mmd2(x, y)
    shifted = mmd2(x + 1.0, y)
    assert abs(same) < 0.005 and shifted > 50 * abs(same) and shifted > 0.1
    assert mmd2(x * 0.5, y) > 0.05  # too narrow (posterior means) is a gap too


def test_confident_share():
    probs = torch.tensor([[0.95, 0.05], [0.5, 0.5], [0.1, 0.9], [0.2, 0.8]])
    assert confident_share(probs) == 0.5


# ---------------------------------------------------------------- AAE (issue 4)
def test_aae_phases_reach_only_their_networks(monkeypatch):
    torch.manual_seed(0)
    model = build(AAE, AAEConfig())
    opt = Optimization(model, TRAIN)
    owners = {k: {n.split(".")[0] for n, p in model.named_parameters()
                  if any(p is q for g in o.param_groups for q in g["params"])} for k, o in opt.optimizers.items()}
    assert owners == {"ae": {"encoder", "decoder"}, "d": {"latent_discriminator"}, "g": {"encoder"}}
    reached = []
    apply = opt.updater.apply

    def recording_apply(optimizer, loss, term):
        reached.append((term, names_with_grad(model)))
        model.zero_grad(set_to_none=True)  # the next phase's gradients alone
        apply(optimizer, loss, term)

    monkeypatch.setattr(opt.updater, "apply", recording_apply)
    opt.step(*batch())
    assert reached == [("ae loss", {"encoder", "decoder"}), ("d loss", {"latent_discriminator"}),
                       ("g loss", {"encoder"})]


def test_aae_discriminator_separates_shifted_codes_from_the_prior():
    torch.manual_seed(0)
    model = build(AAE, AAEConfig(lr_reg=1e-3))
    from genlab.nn.adversarial import discriminator_loss

    d_opt = Optimization(model, TRAIN).optimizers["d"]
    for _ in range(100):
        prior, codes = model.prior(128), model.prior(128) + 2.0
        loss = discriminator_loss(model.discriminate(prior, None), model.discriminate(codes, None), "non-saturating")
        d_opt.zero_grad()
        loss.backward()
        d_opt.step()
    with torch.no_grad():
        prior, codes = model.prior(1000), model.prior(1000) + 2.0
        acc = ((model.discriminate(prior, None) > 0).float().mean() + (model.discriminate(codes, None) < 0).float().mean()) / 2
    assert acc > 0.9


def test_aae_regularization_pulls_codes_towards_the_prior():
    torch.manual_seed(0)
    model = build(AAE, AAEConfig(lr_reg=2e-3))
    x, y = batch(256)
    gap0 = mmd2(model.code(x).detach(), model.prior(256))
    opt = Optimization(model, TRAIN)
    for _ in range(150):
        opt.step(x, y)
    assert mmd2(model.code(x).detach(), model.prior(256)) < 0.5 * gap0


@pytest.mark.parametrize("kind", ["mixture", "swiss_roll"])
def test_priors_put_each_label_on_its_own_component(kind):
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(10).repeat_interleave(500)
    z = sample_prior(kind, 5000, 4, g, labels=labels)
    centres = torch.stack([z[labels == k, :2].mean(0) for k in range(10)])
    spread = torch.stack([z[labels == k, :2].std(0).norm() for k in range(10)]).max()
    assert torch.cdist(centres, centres).add(torch.eye(10) * 1e9).min() > 0.5 * spread
    assert z[:, 2:].std().sub(1).abs() < 0.05  # extra dimensions stay N(0, 1)


def test_aae_bad_combinations_are_config_errors():
    with pytest.raises(ConfigError, match="aae.supervised"):
        from genlab.config import parse_section
        parse_section(AAEConfig, {"supervised": True}, "aae")
    with pytest.raises(ConfigError, match="aae.prior"):
        build(AAE, AAEConfig(prior="mixture"), ModelConfig(arch="mlp", h=16, z=1))


def test_supervised_aae_trains_and_samples():
    torch.manual_seed(0)
    model = build(AAE, AAEConfig(prior="mixture", supervised=True, z=2))
    out = Optimization(model, TRAIN).step(*batch())
    assert all(torch.isfinite(v) for v in out.values())
    assert model.sample(5).shape == (5, *SHAPE)


# ---------------------------------------------------------------- VAE-GAN (issue 4)
def test_feature_layer_is_the_chosen_hidden_activation():
    torch.manual_seed(0)
    model = build(VAEGAN, VAEGANConfig(h=0, dropout=0.0))
    d = model.discriminator
    x, _ = batch(4)
    linears = [m for m in d.body.modules() if isinstance(m, torch.nn.Linear)]
    h1 = torch.nn.functional.leaky_relu(linears[0](x.flatten(1)), 0.2)
    h2 = torch.nn.functional.leaky_relu(linears[1](h1), 0.2)
    for layer, expected in ((1, h1), (2, h2)):
        feat, logit = d.features_and_logit(x, layer)
        torch.testing.assert_close(feat, expected)
        torch.testing.assert_close(logit, d(x))
    with pytest.raises(ConfigError, match="feature_layer"):
        build(VAEGAN, VAEGANConfig(h=0, feature_layer=9))


@pytest.mark.filterwarnings("ignore:Seems like `optimizer.step\\(\\)` has been overridden")
def test_vaegan_each_network_gets_the_gradient_of_its_own_loss():
    """Enc <- L_prior + L_llike, Dec <- gamma L_llike + L_GAN(gen), Dis <- L_GAN(dis) (Larsen et al. Alg. 1)."""
    cfg = VAEGANConfig(h=0, gamma=0.3)
    torch.manual_seed(0)
    model = build(VAEGAN, cfg)
    x, y = batch()
    torch.manual_seed(1)
    loss = model.losses(x)
    expected = {
        "encoder": torch.autograd.grad(loss["prior"] + loss["llike"], list(model.encoder.parameters()), retain_graph=True),
        "decoder": torch.autograd.grad(cfg.gamma * loss["llike"] + loss["gan_g"], list(model.decoder.parameters()),
                                       retain_graph=True),
        "discriminator": torch.autograd.grad(loss["gan_d"], list(model.discriminator.parameters())),
    }
    opt = Optimization(model, TRAIN)
    for o in opt.optimizers.values():
        o.step = lambda *a, **k: None  # keep the weights: compare the gradients the step would apply
    torch.manual_seed(1)
    opt.step(x, y)
    for net, grads in expected.items():
        for p, g in zip(getattr(model, net).parameters(), grads):
            torch.testing.assert_close(p.grad, g)
    # the exclusions are real: L_GAN has a path to the encoder and L_llike to D, yet neither is applied there
    torch.manual_seed(1)
    loss = model.losses(x)
    assert torch.autograd.grad(loss["gan_g"], list(model.encoder.parameters()), retain_graph=True)[0].abs().sum() > 0
    assert torch.autograd.grad(loss["llike"], list(model.discriminator.parameters()), allow_unused=True)[0].abs().sum() > 0


def test_vaegan_loss_signs():
    torch.manual_seed(0)
    model = build(VAEGAN, VAEGANConfig(h=0, lr=1e-3))
    x, y = batch(64)
    first = {k: float(v.detach()) for k, v in model.losses(x).items()}
    assert first["prior"] >= 0 and first["llike"] >= 0
    feats, _ = model.discriminator.features_and_logit(x * 2 - 1, 2)
    assert float(0.5 * (feats - feats).detach().pow(2).sum(1).mean()) == 0.0
    # D's step lowers D's loss on a fixed batch; the decoder's step lowers its adversarial loss
    for net_name, key in (("discriminator", "gan_d"), ("decoder", "gan_g")):
        torch.manual_seed(2)
        before = model.losses(x)[key]
        net = getattr(model, net_name)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.5, 0.999))
        for p, g in zip(net.parameters(), torch.autograd.grad(before, list(net.parameters()))):
            p.grad = g
        opt.step()
        torch.manual_seed(2)
        assert float(model.losses(x)[key].detach()) < float(before.detach())

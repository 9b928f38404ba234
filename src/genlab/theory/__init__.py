"""The classic GAN results of Goodfellow et al. (2014), measured: D*, the JSD identity, saturation, mode collapse."""

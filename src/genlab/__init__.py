"""genlab: a reproducible lab for deep generative models."""

__version__ = "0.1.0"

"""genlab: a reproducible lab for deep generative models.

``genlab.load("data/models/gan")`` returns a trained model to sample from (:mod:`genlab.sampling`); it is imported
on first use, so that ``import genlab`` stays light for the pipeline's stages."""

__version__ = "0.1.0"


def __getattr__(name: str):
    if name == "load":  # PEP 562: the sampling API (models, metrics) loads only when asked for
        import importlib

        return importlib.import_module("genlab.sampling").load
    raise AttributeError(f"module 'genlab' has no attribute {name!r}")

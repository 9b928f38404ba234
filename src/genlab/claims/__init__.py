"""The lab's claims: each written down before it is measured (:mod:`.registry`), measured over seeds and decided by
a fixed rule (:mod:`genlab.stats`, :mod:`.verdicts`)."""

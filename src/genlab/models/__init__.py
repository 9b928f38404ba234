"""Model families, one file each (config dataclass, networks, phases and losses, sampling); the list is
:mod:`genlab.models.registry`."""

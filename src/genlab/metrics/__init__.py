"""Fidelity metrics through torch-fidelity, the domain classifier, class coverage."""

"""Shared building blocks: MLP and conv stacks used by every model family."""

"""The CLI layer: one small Typer module per pipeline stage, gathered by :mod:`stages.app`."""

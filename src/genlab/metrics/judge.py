"""The fixed judges genlab ships: domain classifiers trained once, stored in ``judges/`` beside this file as
``<name>.pt`` with ``<name>.json`` (its sha256, the sha256 of the test split it judges, its recipe, its test accuracy
and the command that retrains it). Like Inception's fixed weights behind FID, a shipped judge makes every domain
number comparable across machines, sessions and users; a new judge starts new numbers (docs/judge-and-specs.md)."""

from __future__ import annotations

import json
from pathlib import Path

from genlab.errors import DataError
from genlab.io import atomic_path, sha256

JUDGES = Path(__file__).resolve().parent / "judges"


def shipped(test_images_sha256: str) -> dict | None:
    """The description (its JSON, plus ``path``) of the shipped judge of the test split whose images hash to
    ``test_images_sha256`` (the prepared manifest's), or None when genlab ships none for it."""
    for meta_path in sorted(JUDGES.glob("*.json")):
        meta = json.loads(meta_path.read_text())
        if meta["test_images_sha256"] == test_images_sha256:
            return {**meta, "path": str(meta_path.with_suffix(".pt"))}
    return None


def install(judge: dict, dest: Path) -> None:
    """Copy the shipped ``judge``'s file to ``dest`` byte for byte, after checking its sha256: a damaged or replaced
    file is one DataError line."""
    src = Path(judge["path"])
    if not src.is_file() or sha256(src) != judge["sha256"]:
        raise DataError(f"{src}: the shipped judge is missing or its sha256 is not {judge['sha256'][:16]}...; "
                        f"restore it with git checkout -- {src}")
    with atomic_path(dest) as tmp:
        tmp.write_bytes(src.read_bytes())

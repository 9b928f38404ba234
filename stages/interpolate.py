"""``interpolate MODEL``: decoded latent paths between test images, for models with an encoder (not a stage)."""

from pathlib import Path

import typer

from stages.common import PREPARED, log, stage
from stages.sample import DeviceOption, FolderOption, NpzOption, OutOption, one_output

HELP = f"""For a trained MODEL with an encoder (vae, ae, aae, vaegan): encode --pairs random test images
(from {PREPARED}, drawn from --seed) and their partners, and decode the straight line between each
pair's codes in --steps points (the ends are the reconstructions). Writes one row per pair as a PNG
grid (--out, the default), a folder of PNG files (--folder) or an .npz (--npz), path after path. Not a
pipeline stage. The same from Python: genlab.load("data/models/vae").interpolate(a, b, steps=10)."""


@stage
def run(model: str = typer.Argument(..., help="model name (data/models/MODEL) or model folder"),
        pairs: int = typer.Option(8, min=1, help="test-image pairs"),
        steps: int = typer.Option(10, min=2, help="points per path, ends included"),
        seed: int = typer.Option(0, "--seed", min=0, help="seed that draws the pairs"),
        out: Path = OutOption, folder: Path = FolderOption, npz: Path = NpzOption,
        device: str = DeviceOption) -> None:
    import genlab
    from genlab.data.prepare import load_split
    from genlab.data.tensors import to_uint8
    from genlab.export import export
    from genlab.metrics.scoring import interp_pairs

    trained = genlab.load(model, device, PREPARED)
    out, folder, npz = one_output(out, folder, npz, Path(f"{trained.name}_interp.png"))
    images, _ = load_split(PREPARED, "test")
    a, b = interp_pairs(len(images), pairs, seed)
    paths = trained.interpolate(images[a], images[b], steps)
    written = export(to_uint8(paths), out, folder, npz, nrow=steps)
    log.info("%s: %d paths of %d points -> %s", trained.name, pairs, steps, written)

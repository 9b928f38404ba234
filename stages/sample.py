"""``sample MODEL``: draw samples of a trained model into a grid, a folder of PNGs or an .npz (not a stage)."""

from pathlib import Path

import typer

from stages.common import log, stage

HELP = """Draw N samples of the trained MODEL (a name: data/models/MODEL, or a model folder) from --seed and
write them as a PNG grid (--out, the default), a folder of PNG files (--folder: what torch-fidelity's,
clean-fid's and pytorch-fid's command lines read) or an .npz (--npz: arr_0, N x H x W x C uint8). A
model with several samplers takes --sampler; a conditional model completes random test images
(from data/prepared). Not a pipeline stage: it reads a trained model and writes only what you ask for.
The same from Python: genlab.load("data/models/gan").sample(64, seed=0) (see README)."""

OutOption = typer.Option(None, "--out", help="grid PNG to write (default: MODEL_samples.png)")
FolderOption = typer.Option(None, "--folder", help="folder of PNG files to write (replaced whole)")
NpzOption = typer.Option(None, "--npz", help=".npz file to write (arr_0: N x H x W x C uint8)")
DeviceOption = typer.Option("auto", help="auto (CUDA when present) | cpu | cuda | cuda:N")


def one_output(out: Path | None, folder: Path | None, npz: Path | None, default: Path) -> tuple:
    """The one destination asked for (a grid at ``default`` when none is); more than one is an error."""
    from genlab.config import ConfigError

    if sum(x is not None for x in (out, folder, npz)) > 1:
        raise ConfigError("--out, --folder, --npz: give one of them")
    return (default if out is folder is npz is None else out), folder, npz


@stage
def run(model: str = typer.Argument(..., help="model name (data/models/MODEL) or model folder"),
        n: int = typer.Option(64, "-n", min=1, help="number of samples"),
        seed: int = typer.Option(0, "--seed", min=0, help="seed of the samples"),
        sampler: str = typer.Option("prior", help="which sampler, for models with several (e.g. ae: "
                                                  "fitted_gaussian; pggan: 4, 8, 16)"),
        out: Path = OutOption, folder: Path = FolderOption, npz: Path = NpzOption,
        nrow: int = typer.Option(8, min=1, help="images per grid row"),
        device: str = DeviceOption) -> None:
    import genlab
    from genlab.data.tensors import to_uint8
    from genlab.export import export

    trained = genlab.load(model, device)
    out, folder, npz = one_output(out, folder, npz, Path(f"{trained.name}_samples.png"))
    written = export(to_uint8(trained.sample(n, seed, sampler)), out, folder, npz, nrow)
    log.info("%s: %d samples (seed %d, sampler %s) -> %s", trained.name, n, seed, sampler, written)

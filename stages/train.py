"""``train MODEL``: train one model with the shared loop (resumes from its last checkpoint)."""

from pathlib import Path

import typer

from genlab.config import ModelConfig, TrainConfig, describe, load_params
from genlab.models.registry import FAMILIES, config_classes
from stages.common import CHECKPOINTS, MODELS_DIR, PREPARED, TRAIN_LOGS, ParamsOption, stage

HELP = f"""Train MODEL ({" | ".join(FAMILIES)}; it must be in params.yaml's models list) on the prepared data.

Writes {MODELS_DIR}/MODEL/model.pt (weights-only) and train.json, curves under {TRAIN_LOGS}/MODEL
(dvclive), and resumable checkpoints under {CHECKPOINTS}/MODEL: rerun after an interruption and it
continues from the newest checkpoint whose params match. Ctrl-C or SIGTERM writes a checkpoint at the
current step and exits 130 or 143. One writer per model: a second train of MODEL refuses while one runs.

With train.nproc > 1 the command relaunches itself under torchrun (--standalone, train.nproc processes on
this machine; data parallel, see README). Started by torchrun yourself (e.g. across machines), it joins
the group torchrun describes.

Params read: seed, device, the MODEL section (see params.yaml), and

{describe(ModelConfig, "model")}

{describe(TrainConfig, "train")}"""


@stage
def run(model: str = typer.Argument(..., help=f"model to train: {' | '.join(FAMILIES)}"),
        params: Path = ParamsOption) -> None:
    p = load_params(params, config_classes())
    # Heavy imports only once the params are valid: a bad param fails fast.
    from genlab.training import distributed
    from genlab.training.lock import single_writer
    from genlab.training.run import check_data_parallel, check_launch, train_model

    cfg = p.model_config(model)  # unknown model -> one-line error before anything is written
    with single_writer(CHECKPOINTS / model, distributed.world_from_env().is_main):  # one `train` per model at a time
        if p.train.nproc > 1 and not distributed.under_torchrun():
            check_data_parallel({p.train.batch_size, *getattr(cfg, "batch_sizes", ())}, p.train.nproc)
            check_launch(model, p, PREPARED)  # the processes' GPUs and memory, before any starts
            code = distributed.launch(p.train.nproc, ["stages", "train", model, "--params", str(params)])
            if code:
                raise typer.Exit(code)
            return
        train_model(model, p, PREPARED, MODELS_DIR / model, CHECKPOINTS / model, TRAIN_LOGS / model)

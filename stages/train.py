"""``train MODEL``: train one model with the shared loop (resumes from its last checkpoint)."""

from pathlib import Path

import typer

from genlab.config import ModelConfig, TrainConfig, describe
from genlab.models.registry import family_names, load_for
from stages.common import CHECKPOINTS, DATA, MODELS_DIR, TRAIN_LOGS, ParamsOption, stage

HELP = f"""Train MODEL (an entry of params.yaml's models, of a family {" | ".join(family_names())}) on the prepared data,
from scratch or (start: models/NAME) continuing that model's run: a growing model's phase starts where the phase
below ended, with its weights, optimizer states, EMA, RNG and schedule position.

Writes {MODELS_DIR}/MODEL/model.pt (weights-only), state.pt (the training state a continuing run starts from)
and train.json, curves under {TRAIN_LOGS}/MODEL
(dvclive), and resumable checkpoints under {CHECKPOINTS}/MODEL: rerun after an interruption and it
continues from the newest checkpoint whose params match. Ctrl-C or SIGTERM writes a checkpoint at the
current step and exits 130 or 143. One writer per model: a second train of MODEL refuses while one runs.

With train.nproc > 1 the command relaunches itself under torchrun (--standalone, train.nproc processes on
this machine; data parallel, see README). With train.nnodes > 1 start it on every machine: the nodes meet
at the c10d rendezvous train.rdzv_endpoint, and a lost node ends the run with one line (rerun every node
to resume). Started by torchrun yourself (e.g. by Slurm), it joins the group torchrun describes.

Params read: seed, device, the MODEL section (see params.yaml), and

{describe(ModelConfig, "model")}

{describe(TrainConfig, "train")}"""


@stage
def run(model: str = typer.Argument(..., help="model to train: an entry of params.yaml's models"),
        params: Path = ParamsOption) -> None:
    p, spec = load_for(params, model)  # an unknown model or a bad param: one line, before anything is written
    # Heavy imports only once the params are valid: a bad param fails fast.
    from genlab.training import distributed
    from genlab.training.lock import single_writer
    from genlab.training.run import check_data_parallel, check_launch, check_phases, train_model

    check_phases(p, spec)
    processes = p.train.nproc * p.train.nnodes
    with single_writer(CHECKPOINTS / model, distributed.world_from_env().is_main):  # one `train` per model at a time
        if processes > 1 and not distributed.under_torchrun():
            check_data_parallel({p.train.batch_size, *getattr(spec.config, "batch_sizes", ())}, processes)
            check_launch(spec, p, DATA / spec.dataset)  # this machine's GPUs and memory, before any starts
            code = distributed.launch(p.train, model, ["stages", "train", model, "--params", str(params)])
            if code:
                raise typer.Exit(code)
            return
        train_model(spec, p, DATA / spec.dataset, MODELS_DIR / model, CHECKPOINTS / model, TRAIN_LOGS / model,
                    start=MODELS_DIR / spec.previous if spec.previous else None)

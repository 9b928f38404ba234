"""``bench``: training and evaluation throughput, FLOPs, MFU and memory of every model on this machine."""

from pathlib import Path

import typer

from genlab.metrics.config import EvalConfig
from genlab.models.registry import family_names, load
from stages.common import CLASSIFIER, METRICS, PREPARED, ParamsOption, stage

HELP = f"""Measure each model at its params (params.yaml plus -p overrides) on this machine: training
images/s over --steps optimizer steps after --warmup untimed ones (the last steps of its schedule, so
Progressive GAN is timed at full resolution), training FLOPs per image (forward + backward, torch's
FLOP counter), MFU = achieved FLOP/s / the dense-matmul FLOP/s measured right after (same process), peak memory (CUDA
max_memory_allocated, else the process's peak RSS; every model runs in its own process), and evaluation
samples/s (generation + domain features + FID/KID/PR/IS for --eval-samples samples; the real features
are cached first). Adds the per-stage wall times of the last timed `dvc repro` when
{METRICS}/stage_times.json exists (written by benchmarks/time_repro.py). Prints a table and writes
{METRICS}/bench.json. Needs {PREPARED} and {CLASSIFIER} (dvc repro classifier)."""


@stage
def run(models: list[str] = typer.Argument(None, help=f"models to time (default: params' models list): {' | '.join(family_names())}"),
        steps: int = typer.Option(50, min=1, help="timed optimizer steps per model"),
        warmup: int = typer.Option(5, min=1, help="untimed steps before them (the first is FLOP-counted)"),
        eval_samples: int = typer.Option(10000, min=0, help="samples generated and scored (0 = skip evaluation)"),
        matmul_n: int = typer.Option(2048, min=64, help="side of the square matmul that measures peak FLOP/s"),
        out: Path = typer.Option(METRICS / "bench.json", help="where the JSON goes"),
        params: Path = ParamsOption) -> None:
    p = load(params, sections={"eval": EvalConfig})
    from genlab.bench.harness import bench_all
    from genlab.bench.table import read_stage_times, table
    from genlab.errors import DataError
    from genlab.io import write_json

    models = models or list(p.models)
    for name in models:
        p.model_config(name)  # unknown model -> one-line error
    for need in (PREPARED / "manifest.json", CLASSIFIER):
        if not need.is_file():
            raise DataError(f"{need}: not found; run `dvc repro classifier` first")
    result = bench_all(models, p, PREPARED, CLASSIFIER, steps, warmup, eval_samples, matmul_n)
    result["stage_seconds"] = read_stage_times(METRICS / "stage_times.json")
    write_json(out, result)
    typer.echo(table(result))

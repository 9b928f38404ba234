"""``plots_template``: make ``dvc plots show/diff`` pages render offline (not a stage; ``make setup`` runs it)."""

from pathlib import Path

import typer

from stages.common import log, stage

FOLDER = Path("build/plots")  # git-ignored
TEMPLATE = "dvc_offline.html"

HELP = f"""Install vega, vega-lite and vega-embed from the npm registry into {FOLDER}/node_modules (git-ignored)
and write {FOLDER}/{TEMPLATE}: DVC's plots page with the three inlined, so that the pages of `dvc plots show`
and `dvc plots diff` render with no internet (DVC's own page loads them from a CDN). Then set it as this
clone's template (`dvc config --local plots.html_template`), or pass it to `dvc plots diff --html-template`.
Needs npm (Node.js); `make setup` runs this command when npm is there. Not a pipeline stage."""


@stage
def run(folder: Path = typer.Option(FOLDER, help="where the npm packages and the template go"),
        configure: bool = typer.Option(True, help="set the template as this clone's plots.html_template")) -> None:
    import os
    import shutil
    import subprocess
    import sys

    from genlab.errors import DataError
    from genlab.io import write_text
    from genlab.viz.offline_plots import PACKAGES, offline_template

    npm = shutil.which("npm")
    if npm is None:
        raise DataError("npm not found: install Node.js and npm (e.g. apt-get install npm), then rerun; dvc plots "
                        "pages otherwise load vega from a CDN")
    folder.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(folder), *PACKAGES],
                          capture_output=True, text=True)
    if proc.returncode:
        tail = " ".join(proc.stderr.split())[-200:]
        raise DataError(f"npm install {' '.join(PACKAGES)} failed ({tail}); check that the npm registry is reachable")
    template = folder / TEMPLATE
    write_text(template, offline_template(folder / "node_modules"))
    log.info("wrote %s (%.0f kB)", template, template.stat().st_size / 1e3)
    if configure:  # relative to .dvc/, as DVC reads it
        relative = os.path.relpath(template.resolve(), Path(".dvc").resolve())
        subprocess.run([sys.executable, "-m", "dvc", "config", "--local", "plots.html_template", relative], check=True)
        log.info("dvc plots show/diff now use it (dvc config --local plots.html_template %s)", relative)

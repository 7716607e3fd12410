"""``python -m autograder doctor``: one screen saying what works and how to fix what does not."""

from __future__ import annotations

import importlib.metadata as md
import shutil
import sys
from pathlib import Path

PINNED = ("tensorflow", "keras", "nbgrader", "jupyterlab", "nbval", "numpy", "pydot", "filelock")
MIN_FREE_MB = 500  # Fashion-MNIST's copy (30 MB), chapter 11's models, ImageNet weights if used
ROOT = Path(__file__).resolve().parents[1]  # the repository (or the student edition) holding the package


def _pins(requirements: Path) -> dict[str, str]:
    pins = {}
    for line in requirements.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip().lower()] = version.strip()
    return pins


def run(say=print) -> list[str]:
    """Print the report through ``say``; return the list of problems found."""
    from autograder import data, pretrained, runtime

    problems: list[str] = []

    def problem(text: str, fix: str) -> None:
        problems.append(text)
        say(f"  [!!] {text}\n       fix: {fix}")

    say(f"python: {sys.version.split()[0]} ({sys.executable})")
    if sys.version_info[:2] != (3, 11):
        problem("the course is pinned for Python 3.11", "create .venv with python3.11 (make lab does)")

    say("packages:")
    pins = _pins(ROOT / "requirements.txt") if (ROOT / "requirements.txt").is_file() else {}
    for name in PINNED:
        try:
            version = md.version(name)
        except md.PackageNotFoundError:
            problem(f"{name} is not installed", "make lab (or: .venv/bin/pip install -r requirements.txt)")
            continue
        pinned = pins.get(name)
        say(f"  {name} {version}" + ("" if pinned in (None, version) else f" (pinned: {pinned})"))
        if pinned and pinned != version:
            problem(f"{name} {version} differs from the pin {pinned}", "pip install -r requirements.txt")

    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "alembic").exists() and not shutil.which("alembic"):
        problem("alembic is not on PATH (nbgrader needs it to create the gradebook)",
                f"export PATH={bin_dir}:$PATH, or use the make targets")

    say("nbgrader extensions:")
    lab_ext = Path(sys.prefix) / "share/jupyter/labextensions/@jupyter/nbgrader"
    server_ext = Path(sys.prefix) / "etc/jupyter/jupyter_server_config.d/nbgrader.json"
    for label, path in (("JupyterLab extension", lab_ext), ("server extension", server_ext)):
        if path.exists():
            say(f"  {label}: {path}")
        else:
            problem(f"nbgrader {label} not found at {path}", "pip install nbgrader==0.9.6 in the course environment")

    say("runtime:")
    info = runtime.setup(report=False, deterministic=False)
    for line in info.report().splitlines():
        say(f"  {line}")
    if not info.gpus:
        say("  no GPU: every chapter runs on CPU; chapter 12 skips its GPU timing with a message")

    say("tools:")
    dot = shutil.which("dot")
    if dot:
        say(f"  Graphviz: {dot} (chapter 09's keras.utils.plot_model)")
    else:
        problem("Graphviz's `dot` is not on PATH: chapter 09's plot_model cannot draw",
                "sudo apt-get install graphviz (macOS: brew install graphviz; Colab has it)")
    bwrap = shutil.which("bwrap")
    # Students never need it; instructors' `make grade` jails each kernel with it (Linux only).
    say(f"  bubblewrap: {bwrap} (instructors' grading jail)" if bwrap else
        "  bubblewrap: not found — students need nothing; instructors grading with `make grade`"
        " need it: sudo apt-get install bubblewrap")

    say("data (Fashion-MNIST):")
    for line in data.describe_sources():
        say(f"  {line}")
    if data.locate_fashion_mnist() is None:
        problem("Fashion-MNIST has no offline copy (a download will be tried)",
                f"sudo apt-get install dataset-fashion-mnist, or export {data.ENV_VAR}=DIR")

    say("data (chapter 04's penguins table):")
    try:
        rows = len(data.load_penguins())
        say(f"  {rows} rows, bundled by palmerpenguins {md.version('palmerpenguins')} (no download)")
    except data.DatasetNotFoundError as error:
        problem("the penguins table cannot be loaded: palmerpenguins is missing",
                str(error).split("Fix: ")[-1])

    say("data (chapter 13's CO2 series and surnames):")
    for load, package, what in ((data.load_co2, "statsmodels", "weeks of CO2"), (data.load_surnames, "faker", "surnames")):
        try:
            count = len(load()[1])
            say(f"  {count} {what}, bundled by {package} {md.version(package)} (no download)")
        except data.DatasetNotFoundError as error:
            problem(f"chapter 13's {what} cannot be loaded: {package} is missing", str(error).split("Fix: ")[-1])

    say("chapter 11's pretrained source model:")
    cached, shared = pretrained.source_model_path(), pretrained.shared_source_model()
    if cached.is_file() or shared is not None:
        say(f"  {cached if cached.is_file() else shared}")
    else:
        say(f"  not built yet: the chapter trains it once (about 20 s on 2 CPU cores) into {cached};"
            " `python -m autograder pretrain` does it ahead of time")

    keras_home = data.keras_cache_dir().parent.parent  # $KERAS_HOME, ~/.keras by default
    existing = next(p for p in (keras_home, *keras_home.parents) if p.exists())
    free_mb = shutil.disk_usage(existing).free / 2**20
    say(f"disk: {free_mb:,.0f} MB free for the Keras cache ({keras_home})")
    if free_mb < MIN_FREE_MB:
        problem(f"less than {MIN_FREE_MB} MB free where Keras caches data and models",
                f"free some space on the disk holding {existing}, or export KERAS_HOME=DIR elsewhere")

    say("OK: nothing to fix" if not problems else f"{len(problems)} problem(s) found")
    return problems

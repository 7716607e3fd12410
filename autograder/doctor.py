"""``python -m autograder doctor``: one screen saying what works and how to fix what does not."""

from __future__ import annotations

import importlib.metadata as md
import shutil
import sys
from pathlib import Path

PINNED = ("tensorflow", "keras", "nbgrader", "jupyterlab", "nbval", "numpy")
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
    from autograder import data, runtime

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

    say("device:")
    info = runtime.setup(report=False, deterministic=False)
    say(f"  {info.report()}")
    if not info.gpus:
        say("  no GPU: every chapter runs on CPU; chapter 09 skips its GPU timing with a message")

    say("data (Fashion-MNIST):")
    for line in data.describe_sources():
        say(f"  {line}")
    if data.locate_fashion_mnist() is None:
        problem("Fashion-MNIST has no offline copy (a download will be tried)",
                f"sudo apt-get install dataset-fashion-mnist, or export {data.ENV_VAR}=DIR")

    say("OK: nothing to fix" if not problems else f"{len(problems)} problem(s) found")
    return problems

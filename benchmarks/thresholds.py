"""Margins of the accuracy thresholds: run a solution notebook with several training seeds.

    .venv/bin/python benchmarks/thresholds.py 04_regression --seeds 5
    .venv/bin/python benchmarks/thresholds.py 05_classification --seeds 5
    .venv/bin/python benchmarks/thresholds.py 06_regularization --seeds 5
    .venv/bin/python benchmarks/thresholds.py 07_convolutions --seeds 5
    .venv/bin/python benchmarks/thresholds.py 08_data_augmentation --seeds 5
    .venv/bin/python benchmarks/thresholds.py 13_sequences --seeds 5

A graded accuracy threshold is trustworthy only if the solution clears it for seeds other than
the one in the notebook (a student's run differs in initialisation and shuffling order, a GPU
kernel in summation order). This script executes the solution notebook once per seed, with
every ``keras.utils.set_random_seed(0)`` of its training cells replaced by the seed and
``$AUTOGRADER_TRAINING_SEED`` set to it (the threshold checks train the student's model
themselves, with that seed), and prints what each accuracy check reported (the line a
``check_*`` prints) and whether it passed.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SEED_CALL = "keras.utils.set_random_seed(0)"
NUMBER = re.compile(r"[-+]?\d+\.\d+")


def run_with_seed(chapter: str, seed: int) -> list[tuple[str, str]]:
    """Execute the solution of ``chapter`` with training seed ``seed``; return (cell, report)
    for every graded cell whose check prints a "test accuracy" line."""
    import nbformat
    from nbclient import NotebookClient

    from autograder.grader.grading import SOLUTIONS, notebook_path

    path = notebook_path(REPO, SOLUTIONS, chapter)
    nb = nbformat.read(path, as_version=4)
    replaced = 0
    for cell in nb.cells:
        if cell.cell_type == "code" and SEED_CALL in cell.source:
            cell.source = cell.source.replace(SEED_CALL, f"keras.utils.set_random_seed({seed})")
            replaced += 1
    if not replaced:
        raise SystemExit(f"{chapter}: no {SEED_CALL} to vary")
    from autograder.checks.training import SEED_VARIABLE

    os.environ[SEED_VARIABLE] = str(seed)  # the kernel inherits it: the checks train with this seed
    client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    reports = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade"):
            continue
        text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        for line in text.splitlines():
            if any(word in line for word in ("test accuracy", "test MAE", "test images")):
                reports.append((meta["grade_id"], ("PASS " if not errors else "FAIL ") + line))
        for error in errors:
            first = next((line for line in error.get("evalue", "").splitlines() if "accuracy" in line), "")
            reports.append((meta["grade_id"], f"FAIL {error['ename']}: {first}"))
    return reports


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapter")
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    results: dict[str, list[str]] = {}
    for seed in range(args.seeds):
        for cell, report in run_with_seed(args.chapter, seed):
            print(f"seed {seed}  {cell}: {report}", flush=True)
            results.setdefault(cell, []).append(report)
    print()
    for cell, reports in results.items():
        passed = sum(r.startswith("PASS") for r in reports)
        columns = list(zip(*[[float(n) for n in NUMBER.findall(r)] for r in reports if r.startswith("PASS")], strict=False))
        spread = ", ".join(f"{min(c):.4f}–{max(c):.4f}" for c in columns[:3])
        print(f"{cell}: passed {passed}/{len(reports)} seeds; reported figures range {spread}")
    return 0 if all(r.startswith("PASS") for rs in results.values() for r in rs) else 1


if __name__ == "__main__":
    sys.exit(main())

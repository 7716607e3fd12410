"""Grading a class: sequential ``nbgrader autograde`` against the batch grader at 1, 2, N workers.

    .venv/bin/python benchmarks/grading.py                  # 24 submissions of chapters 01-02
    .venv/bin/python benchmarks/grading.py --per-chapter 6 --workers 1 2 4

Builds a course with chapters 01_tensors and 02_activations, submits a class mixing perfect,
untouched, buggy (planted bugs) and faulty (kernel exits, tampered test cells, corrupt JSON)
notebooks, then grades the same submissions from a fresh copy of the course each time:

* ``nbgrader autograde CHAPTER`` once per chapter (what an instructor runs today);
* ``python -m autograder grade``'s engine (``batch.grade_assignment``, feedback off, as
  ``nbgrader autograde`` writes none) with 1, 2, ... workers, each kernel jailed by
  bubblewrap (the default) and, side by side in the same run, not isolated (``--sandbox none``).

It prints wall time, speedup over nbgrader and over one worker, overhead per submission
(our one-worker wall time minus nbgrader's, over K), the sandbox's cost (jailed wall time over
unjailed, minus 1) and whether every cell score equals nbgrader's. Targets: speedup >= 0.85 x
workers where cores allow; overhead <= 3 s; sandbox cost < 10 %.
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.grader import batch, grading, jail, samples
from autograder.grader.sandbox import Limits

CHAPTERS = ("01_tensors", "02_activations")


def with_cell(nb, index: int, source: str):
    nb = copy.deepcopy(nb)
    nb.cells.insert(index, nbformat.v4.new_code_cell(source))
    return nb


def class_of(chapter: str, n: int) -> dict[str, object]:
    """``n`` submissions of ``chapter``: notebook (or raw bytes for a corrupt one) by student."""
    bugs = samples.bugs_for(chapter)
    solution = samples.solution_notebook(chapter)
    kinds = [
        lambda i: solution,
        lambda i: samples.untouched_notebook(chapter),
        lambda i: samples.plant(solution, [bugs[i % len(bugs)]]),
        lambda i: samples.plant(solution, [bugs[(i + 1) % len(bugs)]]),
        lambda i: with_cell(solution, len(solution.cells) // 2, "import os\nos._exit(0)"),
        lambda i: samples.tamper_tests(solution),
    ]
    students = {f"s{i:02d}": kinds[i % len(kinds)](i) for i in range(n)}
    students[f"s{n - 1:02d}"] = b'{"cells": [ truncated'  # one corrupt file per chapter
    return students


def make_class(root: Path, per_chapter: int) -> Path:
    grading.make_course(root, list(CHAPTERS))
    for chapter in CHAPTERS:
        for student, nb in class_of(chapter, per_chapter).items():
            if isinstance(nb, bytes):
                path = root / "submitted" / student / chapter / f"{chapter}.ipynb"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(nb)
            else:
                grading.submit(root, student, chapter, nb)
    return root


def all_scores(root: Path) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return {(a.name, s.student.id, g.name): g.score
                for a in gb.assignments for s in a.submissions for nb in s.notebooks for g in nb.grades}


def time_nbgrader(template: Path, work: Path) -> tuple[float, dict]:
    course = work / "nbgrader"
    shutil.copytree(template, course)
    start = time.monotonic()
    for chapter in CHAPTERS:  # exits 1 when a submission fails (the corrupt one); grades the rest
        subprocess.run([sys.executable, "-m", "nbgrader", "autograde", chapter, "--force"], cwd=course,
                       env=grading.nbgrader_env(), capture_output=True, stdin=subprocess.DEVNULL)
    return time.monotonic() - start, all_scores(course)


def time_batch(template: Path, work: Path, workers: int, isolation: str) -> tuple[float, float, dict]:
    course = work / f"batch{workers}-{isolation}"
    shutil.copytree(template, course)
    start = time.monotonic()
    busy = 0.0
    for chapter in CHAPTERS:
        result = batch.grade_assignment(course, chapter, jobs=workers, limits=Limits(), feedback=False,
                                        isolation=isolation)
        busy += sum(r["seconds"] for r in result.rows)
    return time.monotonic() - start, busy, all_scores(course)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-chapter", type=int, default=12, help="submissions per chapter (default 12)")
    parser.add_argument("--workers", type=int, nargs="*", help="worker counts (default: 1, 2, cores)")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    workers = sorted(set(args.workers or [1, 2, cores]))
    k = args.per_chapter * len(CHAPTERS)
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        work = Path(tmp)
        template = make_class(work / "template", args.per_chapter)
        print(f"{k} submissions of {', '.join(CHAPTERS)} on {cores} cores", flush=True)
        seq, reference = time_nbgrader(template, work)
        print(f"nbgrader autograde (sequential): {seq:.1f} s", flush=True)
        isolations = ["none", "bwrap"] if jail.probe()[0] else ["none"]
        if len(isolations) == 1:
            print(f"bubblewrap cannot run here ({jail.probe()[1]}): only unjailed figures", flush=True)
        rows, one, walls = [], {}, {}
        for n in workers:
            for isolation in isolations:
                wall, busy, scores = time_batch(template, work, n, isolation)
                one.setdefault(isolation, wall)
                walls[(n, isolation)] = wall
                rows.append((n, isolation, wall, busy, scores == reference))
                print(f"batch grader, {n} worker(s), sandbox {isolation}: {wall:.1f} s", flush=True)
    print()
    print("| grader | sandbox | workers | wall (s) | speedup vs nbgrader | speedup vs 1 worker | target (0.85 x workers) "
          "| scores equal nbgrader's |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| nbgrader autograde | none | 1 | {seq:.1f} | 1.00 | - | - | - |")
    for n, isolation, wall, _busy, equal in rows:
        target = 0.85 * min(n, cores)
        print(f"| batch | {isolation} | {n} | {wall:.1f} | {seq / wall:.2f} | {one[isolation] / wall:.2f} | {target:.2f} | "
              f"{'yes' if equal else 'NO'} |")
    for isolation, wall in one.items():
        print(f"\noverhead per submission, sandbox {isolation} (1 worker minus nbgrader, over {k}): "
              f"{(wall - seq) / k:+.2f} s (target <= 3 s)")
    if "bwrap" in one:
        for n in workers:
            cost = walls[(n, "bwrap")] / walls[(n, "none")] - 1
            print(f"sandbox cost at {n} worker(s): {cost:+.1%} of the unjailed wall time "
                  f"({(walls[(n, 'bwrap')] - walls[(n, 'none')]) / k:+.2f} s per submission; target < 10 %)")


if __name__ == "__main__":
    main()

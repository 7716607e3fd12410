"""Grading a class: sequential ``nbgrader autograde`` against the batch grader at 1, 2, N workers.

    .venv/bin/python benchmarks/grading.py                  # 24 submissions of chapters 01-02
    .venv/bin/python benchmarks/grading.py --per-chapter 6 --workers 1 2 4
    .venv/bin/python benchmarks/grading.py --all            # every workers x sandbox x start

Builds a course with chapters 01_tensors and 02_activations, submits a class mixing perfect,
untouched, buggy (planted bugs) and faulty (kernel exits, tampered test cells, corrupt JSON)
notebooks, then grades the same submissions from a fresh copy of the course each time:

* ``nbgrader autograde CHAPTER`` once per chapter (what an instructor runs today);
* ``python -m autograder grade``'s engine (``batch.grade_assignment``, feedback off, as
  ``nbgrader autograde`` writes none): at one worker with kernels started cold (``--cold``, as
  nbgrader starts them) and warm (forked from the worker's warm jail, the default), each
  jailed by bubblewrap, and warm without the jail (``--sandbox none``); at 2 ... N workers
  warm and jailed (``--all``: every combination).

It prints wall time, speedup over nbgrader and over one worker (same sandbox and start),
overhead per submission (one worker minus nbgrader, over K), the sandbox's cost (jailed wall
time over unjailed, minus 1) and whether every cell score equals nbgrader's. Targets: warm at
one worker >= 1.3 x nbgrader; at N workers >= 0.85 x N x nbgrader where cores allow; sandbox
cost < 10 %.
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


def time_batch(template: Path, work: Path, workers: int, isolation: str, start_mode: str) -> tuple[float, float, dict]:
    course = work / f"batch{workers}-{isolation}-{start_mode}"
    shutil.copytree(template, course)
    start = time.monotonic()
    busy = 0.0
    for chapter in CHAPTERS:
        result = batch.grade_assignment(course, chapter, jobs=workers, limits=Limits(), feedback=False,
                                        isolation=isolation, warm=start_mode == "warm")
        busy += sum(r["seconds"] for r in result.rows)
    return time.monotonic() - start, busy, all_scores(course)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-chapter", type=int, default=12, help="submissions per chapter (default 12)")
    parser.add_argument("--workers", type=int, nargs="*", help="worker counts (default: 1, 2, cores)")
    parser.add_argument("--all", action="store_true", help="every workers x sandbox x start combination")
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
        jailed = "bwrap" if jail.probe()[0] else "none"
        if jailed == "none":
            print(f"bubblewrap cannot run here ({jail.probe()[1]}): only unjailed figures", flush=True)
        sandboxes = sorted({jailed, "none"})
        if args.all:
            configs = [(n, i, s) for n in workers for i in sandboxes for s in ("cold", "warm")]
        else:
            configs = [(1, jailed, "cold"), (1, jailed, "warm"), (1, "none", "warm")]
            configs += [(n, jailed, "warm") for n in workers if n > 1]
        configs = list(dict.fromkeys(configs))
        rows, walls = [], {}
        for n, isolation, start_mode in configs:
            wall, busy, scores = time_batch(template, work, n, isolation, start_mode)
            walls[(n, isolation, start_mode)] = wall
            rows.append((n, isolation, start_mode, wall, scores == reference))
            print(f"batch grader, {n} worker(s), sandbox {isolation}, {start_mode} kernels: {wall:.1f} s", flush=True)
    print()
    print("| grader | sandbox | kernels | workers | wall (s) | speedup vs nbgrader | speedup vs 1 worker | target "
          "| scores equal nbgrader's |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| nbgrader autograde | none | cold | 1 | {seq:.1f} | 1.00 | - | - | - |")
    for n, isolation, start_mode, wall, equal in rows:
        one = walls.get((1, isolation, start_mode))
        target = "1.30" if (n, start_mode) == (1, "warm") else (f"{0.85 * min(n, cores):.2f}" if n > 1 else "-")
        print(f"| batch | {isolation} | {start_mode} | {n} | {wall:.1f} | {seq / wall:.2f} | "
              f"{f'{one / wall:.2f}' if one else '-'} | {target} | {'yes' if equal else 'NO'} |")
    for (n, isolation, start_mode), wall in walls.items():
        if n == 1:
            print(f"\nper submission, 1 worker, sandbox {isolation}, {start_mode} kernels, minus nbgrader: "
                  f"{(wall - seq) / k:+.2f} s")
    for n, isolation, start_mode in walls:
        if isolation == "bwrap" and (n, "none", start_mode) in walls:
            cost = walls[(n, "bwrap", start_mode)] / walls[(n, "none", start_mode)] - 1
            print(f"sandbox cost at {n} worker(s), {start_mode} kernels: {cost:+.1%} of the unjailed wall time "
                  f"(target < 10 %)")


if __name__ == "__main__":
    main()

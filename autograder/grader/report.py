"""What a batch tells the instructor: a progress bar while it runs, then CSV, JSON and a
readable summary per assignment (``grading/ASSIGNMENT/report.{csv,json}``, ``summary.txt``).

One row per student: score, max score, late penalty, status (see ``sandbox.STATUSES``), the
reason in words, seconds of grading, peak memory of nbgrader and its kernel (MB), the flags of
intake's read of the answer cells (code that reaches into the grader, the libraries'
internals, files or the network: graded all the same, listed under "needs a look"), then one
column per graded cell with its score. The summary's second line says how the kernels were
isolated, or plainly that they were not; ``cells.csv`` and the summary's last part give the
class per cell: how many scored full points, and the most frequent first line of a failure.

`write_lms_exports` writes the whole gradebook in the CSV layouts Canvas and Gradescope import.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from pathlib import Path

from autograder.grader import sandbox

COLUMNS = ["student", "assignment", "score", "max_score", "pending", "late_penalty", "status", "reason", "seconds",
           "peak_mb", "graded_at", "where", "flags"]


class Progress:
    """A tqdm bar (done/failed counts) on a terminal; one line per submission otherwise,
    so CI logs and ``nohup`` files show progress too. ``quiet`` shows nothing."""

    def __init__(self, label: str, *, quiet: bool = False, stream=None):
        self.label, self.quiet, self.stream = label, quiet, stream or sys.stderr
        self.done = self.failed = self.total = 0
        self.bar = None

    def start(self, total: int, skipped: int = 0) -> None:
        self.total = total
        if self.quiet:
            return
        if skipped:
            print(f"{self.label}: {skipped} submission(s) already graded and unchanged, skipped "
                  "(--force grades them again)", file=self.stream, flush=True)
        if self.stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=self.label, unit="nb", file=self.stream, dynamic_ncols=True)

    def update(self, row: dict) -> None:
        self.done += 1
        self.failed += row["status"] not in (sandbox.GRADED, sandbox.TAMPERED, sandbox.RENAMED)
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.set_postfix(done=self.done, failed=self.failed, refresh=False)
            self.bar.update(1)
        else:
            print(f"[{self.done}/{self.total}] {self.label} {row['student']}: {row['status']} "
                  f"{row['score']:g}/{row['max_score']:g} ({row['seconds']:.1f} s) "
                  f"done={self.done} failed={self.failed}", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def summary(rows: list[dict], *, seconds: float, where: str, isolation: str = "") -> str:
    """A readable summary: counts by status, isolation, score range, what needs a look."""
    counts = Counter(r["status"] for r in rows)
    assignment = rows[0]["assignment"] if rows else "?"
    lines = [f"{assignment}: {len(rows)} submission(s) in {seconds:.1f} s on {where}"]
    if isolation:
        lines.append(f"  isolation: {isolation}")
    lines += [f"  {status:<24} {counts[status]}" for status in sandbox.STATUSES if counts[status]]
    if rows:
        scores = sorted(r["score"] for r in rows)
        lines.append(f"  scores: min {scores[0]:g}, median {scores[len(scores) // 2]:g}, max {scores[-1]:g} "
                     f"of {rows[0]['max_score']:g}")
    waiting = [r for r in rows if r.get("pending")]
    if waiting:
        lines.append(f"  written answers to grade by hand: {len(waiting)} submission(s), "
                     f"{sum(r['pending'] for r in waiting):g} points (counted as 0 until graded in the formgrader)")
    attention = [r for r in rows if r["status"] != sandbox.GRADED or r.get("flags")]
    if attention:
        lines.append("needs a look:")
        for r in attention:
            why = "; ".join(part for part in (r["reason"], r.get("flags") and f"flagged: {r['flags']}") if part)
            lines.append(f"  {r['student']}: {r['status']} -- {why}")
    if counts[sandbox.WORKER_DIED]:
        lines.append("run the same command again to grade the 'worker died' submissions; nothing else is redone")
    return "\n".join(lines)


def cell_summary(rows: list[dict]) -> list[dict]:
    """Per graded cell, over the submissions that ran: points, how many were graded, how many
    scored full points, the pass rate, and the most frequent first failure line (with count)."""
    cells: dict[str, dict] = {}
    for row in rows:
        for gid, cell in (row.get("cells") or {}).items():
            if cell.get("score") is None:
                continue
            entry = cells.setdefault(gid, {"cell": gid, "points": cell.get("points"), "graded": 0, "passed": 0,
                                           "failures": Counter()})
            entry["graded"] += 1
            entry["passed"] += cell["points"] is not None and cell["score"] >= cell["points"]
            if cell.get("failure"):
                entry["failures"][cell["failure"]] += 1
    out = []
    for entry in cells.values():
        failures = entry.pop("failures")
        common, count = failures.most_common(1)[0] if failures else ("", 0)
        out.append({**entry, "pass_rate": round(entry["passed"] / entry["graded"], 3) if entry["graded"] else 0.0,
                    "most_frequent_failure": common, "failure_count": count})
    return out


def write_reports(out_dir: Path, rows: list[dict], *, limits: dict, seconds: float, where: str,
                  isolation: str = "") -> None:
    """``report.csv``, ``report.json`` and ``summary.txt`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cell_ids = list(dict.fromkeys(gid for r in rows for gid in (r.get("cells") or {})))
    with open(out_dir / "report.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS + cell_ids, extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            cells = r.get("cells") or {}
            writer.writerow({**r, **{gid: "" if cells.get(gid, {}).get("score") is None else cells[gid]["score"]
                                     for gid in cell_ids}})
    per_cell = cell_summary(rows)
    with open(out_dir / "cells.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["cell", "points", "graded", "passed", "pass_rate",
                                               "most_frequent_failure", "failure_count"])
        writer.writeheader()
        writer.writerows(per_cell)
    (out_dir / "report.json").write_text(json.dumps(
        {"seconds": round(seconds, 2), "where": where, "isolation": isolation, "limits": limits,
         "submissions": rows}, indent=1))
    text = summary(rows, seconds=seconds, where=where, isolation=isolation)
    if per_cell:
        text += "\nper cell (passed/graded, most frequent failure):"
        for c in per_cell:
            why = f" -- {c['failure_count']}x {c['most_frequent_failure'][:80]}" if c["failure_count"] else ""
            text += f"\n  {c['cell']:<28} {c['passed']}/{c['graded']}{why}"
    (out_dir / "summary.txt").write_text(text + "\n")


def write_lms_exports(out_dir: Path, grades: list[dict]) -> dict[str, Path]:
    """The gradebook (rows of ``student, chapter, score, max_score``) as CSV files an LMS
    imports, in ``out_dir``: ``canvas.csv`` (Canvas's gradebook import: Student, ID, SIS User ID,
    SIS Login ID, Section, one column per assignment, a "Points Possible" row first) and
    ``gradescope.csv`` (Name, SID, Email, one column per assignment, Total Score). The
    nbgrader student id goes in Canvas's "SIS Login ID" and Gradescope's "SID": match your
    nbgrader ids to them (docs/instructor.md)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    chapters = sorted({g["chapter"] for g in grades})
    students = sorted({g["student"] for g in grades})
    score = {(g["student"], g["chapter"]): g["score"] for g in grades}
    possible = {g["chapter"]: g["max_score"] for g in grades}
    paths = {"canvas": out_dir / "canvas.csv", "gradescope": out_dir / "gradescope.csv"}
    with open(paths["canvas"], "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *chapters])
        writer.writerow(["    Points Possible", "", "", "", "", *(f"{possible[c]:g}" for c in chapters)])
        for student in students:
            writer.writerow([student, "", "", student, "",
                             *(f"{score[(student, c)]:g}" if (student, c) in score else "" for c in chapters)])
    with open(paths["gradescope"], "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Name", "SID", "Email", *chapters, "Total Score"])
        for student in students:
            mine = [score.get((student, c)) for c in chapters]
            writer.writerow([student, student, "", *("" if s is None else f"{s:g}" for s in mine),
                             f"{sum(s for s in mine if s is not None):g}"])
    return paths

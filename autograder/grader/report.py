"""What a batch tells the instructor: a progress bar while it runs, then CSV, JSON and a
readable summary per assignment (``grading/ASSIGNMENT/report.{csv,json}``, ``summary.txt``).

One row per student: score, max score, late penalty, status (see ``sandbox.STATUSES``), the
reason in words, seconds of grading, peak memory of nbgrader and its kernel (MB), and the
flags of intake's read of the answer cells (code that reaches into the grader, the libraries'
internals, files or the network: graded all the same, listed under "needs a look"). The
summary's second line says how the kernels were isolated, or plainly that they were not.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from pathlib import Path

from autograder.grader import sandbox

COLUMNS = ["student", "assignment", "score", "max_score", "late_penalty", "status", "reason", "seconds",
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
        self.failed += row["status"] not in (sandbox.GRADED, sandbox.TAMPERED)
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
    attention = [r for r in rows if r["status"] != sandbox.GRADED or r.get("flags")]
    if attention:
        lines.append("needs a look:")
        for r in attention:
            why = "; ".join(part for part in (r["reason"], r.get("flags") and f"flagged: {r['flags']}") if part)
            lines.append(f"  {r['student']}: {r['status']} -- {why}")
    if counts[sandbox.WORKER_DIED]:
        lines.append("run the same command again to grade the 'worker died' submissions; nothing else is redone")
    return "\n".join(lines)


def write_reports(out_dir: Path, rows: list[dict], *, limits: dict, seconds: float, where: str,
                  isolation: str = "") -> None:
    """``report.csv``, ``report.json`` and ``summary.txt`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "report.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    (out_dir / "report.json").write_text(json.dumps(
        {"seconds": round(seconds, 2), "where": where, "isolation": isolation, "limits": limits,
         "submissions": rows}, indent=1))
    (out_dir / "summary.txt").write_text(summary(rows, seconds=seconds, where=where, isolation=isolation) + "\n")

"""Execution time and peak memory of every solution notebook.

    .venv/bin/python benchmarks/notebooks.py              # all chapters, all cores
    .venv/bin/python benchmarks/notebooks.py --cpus 1     # pinned to one CPU (mybinder.org)
    .venv/bin/python benchmarks/notebooks.py 01_tensors   # one chapter

Each notebook runs in a fresh kernel (nbclient, as nbval and nbgrader do), from a fresh
process. Wall time covers kernel start to last cell; peak RSS is sampled every 20 ms over the
kernel process and its children. Budget (docs/benchmarks.md): 120 s and 2 GB per notebook.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUDGET_S, BUDGET_MB = 120.0, 2048.0


def measure_one(path: Path, cpus: int | None) -> dict:
    """Run one notebook in a new kernel; return seconds and peak RSS in MB."""
    import nbformat
    import psutil
    from nbclient import NotebookClient

    if cpus:
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:cpus]))  # the kernel inherits it
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    peak, done = [0], threading.Event()

    def sample():
        while not done.is_set():
            try:
                kernel = psutil.Process(client.km.provisioner.process.pid)
                rss = sum(p.memory_info().rss for p in [kernel, *kernel.children(recursive=True)])
                peak[0] = max(peak[0], rss)
            except (AttributeError, psutil.Error):
                pass
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    start = time.perf_counter()
    sampler.start()
    client.execute()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    return {"notebook": str(path.relative_to(REPO)), "seconds": round(seconds, 1), "peak_mb": round(peak[0] / 2**20)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", help="chapter folders (default: all)")
    parser.add_argument("--cpus", type=int, help="pin the kernel to this many CPUs")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(Path(args.one), args.cpus)))
        return 0

    folders = args.chapters or sorted(p.name for p in (REPO / "solutions").iterdir() if p.is_dir())
    rows = []
    for chapter in folders:
        path = REPO / "solutions" / chapter / f"{chapter}.ipynb"
        cmd = [sys.executable, __file__, "--one", str(path)] + (["--cpus", str(args.cpus)] if args.cpus else [])
        out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        if out.returncode != 0:
            print(out.stderr[-3000:], file=sys.stderr)
            return 1
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))

    cpus = args.cpus or len(os.sched_getaffinity(0))
    print(f"| notebook | CPUs | time (s) | peak RSS (MB) | within {BUDGET_S:.0f} s / {BUDGET_MB / 1024:.0f} GB |")
    print("|---|---|---|---|---|")
    ok = True
    for row in rows:
        within = row["seconds"] <= BUDGET_S and row["peak_mb"] <= BUDGET_MB
        ok &= within
        print(f"| {row['notebook']} | {cpus} | {row['seconds']} | {row['peak_mb']} | {'yes' if within else 'NO'} |")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""``python -m autograder``: the course's command line.

    python -m autograder doctor                  what is installed, missing, and how to fix it
    python -m autograder pretrain                train and cache chapter 11's source model
    python -m autograder release [CHAPTER ...]   regenerate course/ from solutions/       (instructors)
    python -m autograder grade [CHAPTER ...]     autograde submitted/ in parallel          (instructors)
    python -m autograder demo [--keep DIR]       grade bundled sample students end to end (instructors)
    python -m autograder student-edition DIR     write the solution-free edition students get (instructors)
    python -m autograder book [--out DIR]        the course as a static web book, outputs run   (instructors)

``doctor`` and ``pretrain`` use the kernel side only and work in the student edition; the
instructor verbs exist where the grader wing (``autograder.grader``) is installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A user-facing error: printed without a traceback, exit status 2."""


def cmd_doctor(args) -> int:
    from autograder import doctor

    problems = doctor.run(print)
    return EXIT_FAILED if problems else EXIT_OK


def cmd_pretrain(args) -> int:
    from autograder import pretrained, runtime

    runtime.setup(seed=pretrained.SOURCE_SEED, report=False)
    if args.force and pretrained.source_model_path().is_file():
        pretrained.source_model_path().unlink()
    pretrained.load_source_model(verbose=True)
    record = pretrained.source_model_record() or {}
    print(f"source model: {pretrained.source_model_path()} ({record.get('bytes', 0) / 1e6:.2f} MB, "
          f"trained in {record.get('train_seconds', '?')} s, test accuracy {record.get('test_accuracy', '?')})")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autograder",
        description="Course tooling: diagnose the installation, pretrain chapter 11's model; for instructors "
        "also release notebooks, grade submissions, run the demo, write the student edition.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    if importlib.util.find_spec("autograder.grader") is not None:
        from autograder.grader.cli import add_commands

        add_commands(sub)
    p = sub.add_parser("pretrain", help="train and cache chapter 11's pretrained source model (once)")
    p.add_argument("--force", action="store_true", help="train it again even if it is cached")
    p.set_defaults(func=cmd_pretrain)

    p = sub.add_parser("doctor", help="check the installation, data and GPU; say how to fix problems")
    p.set_defaults(func=cmd_doctor)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CliError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except RuntimeError as err:  # nbgrader failed (grading.NbgraderError), with its output
        print(f"error: {err}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

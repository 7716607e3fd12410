"""The guides only name commands that exist."""

import re

import pytest

from autograder import cli

GUIDES = ["README.md", "docs/instructor.md", "docs/student.md", "docs/maintainer.md", "docs/benchmarks.md"]


@pytest.mark.parametrize("guide", GUIDES)
def test_make_targets_and_cli_commands_in_the_guides_exist(repo, guide):
    text = (repo / guide).read_text()
    targets = set(re.findall(r"^([a-z-]+):", (repo / "Makefile").read_text(), re.MULTILINE))
    for target in re.findall(r"(?:^[ \t]*|`)make ([a-z][a-z-]*)\b", text, re.MULTILINE):
        assert target in targets, f"{guide} mentions `make {target}`, which the Makefile lacks"
    subcommands = set(cli.build_parser()._subparsers._group_actions[0].choices)
    for command in re.findall(r"python -m autograder ([a-z][a-z-]*)", text):
        assert command in subcommands, f"{guide} mentions `python -m autograder {command}`"
    for path in re.findall(r"\]\(((?:docs/)?[\w./-]+\.md)\)", text):
        assert (repo / path).is_file() or (repo / "docs" / path).is_file(), f"{guide} links to missing {path}"

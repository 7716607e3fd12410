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


def test_every_tolerance_profile_is_documented_and_no_check_writes_its_own(repo):
    from autograder.checks import tolerances

    table = (repo / "docs" / "tolerances.md").read_text()
    for name, profile in tolerances.TOLERANCES.items():
        row = next((line for line in table.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row, f"docs/tolerances.md lacks the profile {name!r}"
        assert f"| {profile['rtol']:g} |" in row or f"| {profile['rtol']:.0e} |".replace("e-0", "e-") in row, row
    literal = re.compile(r"\b[ra]tol\s*[=:]\s*\d|[\"'][ra]tol[\"']\s*:\s*\d")
    for path in sorted((repo / "autograder" / "checks").glob("*.py")):
        if path.name == "tolerances.py":
            continue
        code = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))
        code = re.sub(r'"""(.|\n)*?"""', "", code)  # docstrings may quote numbers
        assert not literal.search(code), f"{path.name} writes a tolerance: use autograder.checks.tolerances"

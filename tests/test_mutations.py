"""Every check call can fail: generic wrong answers (autograder/grader/mutants.py) against every
visible and hidden check call of every chapter, run in this process against the solution's
functions. Each call must fail at least one wrong answer meant for it, every optimizer call
must fail all three optimizer mutants, and docs/mutations.md must say what each call catches.

One class per chapter, so that pytest-xdist (--dist loadscope) spreads the chapters.
"""

import pytest

from autograder.grader import grading, mutants

DOC = grading.REPO_ROOT / "docs" / "mutations.md"


def exact_rows(section: str) -> list[str]:
    """The section without the rows of checks that train a model: whether a mutant of those
    passes a threshold depends on the training run's last digits (oneDNN, the CPU), so the page
    records this machine's outcome and the first test above holds the rule for them."""
    return [line for line in section.splitlines()
            if not any(f"`{name}(" in line for name in mutants.TRAINING_CHECKS)]


class MutationSuite:
    chapter = ""

    @pytest.fixture(scope="class")
    def probed(self):
        return mutants.probe(self.chapter)

    def test_every_check_call_fails_a_generic_wrong_answer(self, probed):
        by_call = {}
        for outcome in probed.outcomes:
            by_call.setdefault((outcome.call.cell, outcome.call.source), []).append(outcome)
        assert by_call, "the chapter has check calls"
        for (cell, source), outcomes in by_call.items():
            assert any(o.caught for o in outcomes), f"{cell}: `{source}` lets every mutant through"
            if outcomes[0].call.check == "check_optimizer":
                missed = [o.mutant for o in outcomes if not o.caught]
                assert not missed, f"{cell}: `{source}` lets {missed} through"
        for call in probed.unmutated:
            assert call.check in mutants.NO_STUDENT_CODE, f"{call.cell}: `{call.source}` grades no student code"

    def test_docs_say_what_each_call_catches(self, probed):
        documented = mutants.chapter_section(DOC.read_text(), self.chapter)
        assert documented is not None, f"docs/mutations.md has no section for {self.chapter}"
        assert exact_rows(documented) == exact_rows(mutants.section(probed)), (
            f"docs/mutations.md is out of date for {self.chapter}: regenerate it with "
            f"`python -m autograder.grader.mutants {self.chapter}`"
        )


# Seconds each class took in a clean-clone run (for the longest-first schedule, tests/conftest.py).
SECONDS_BY_CHAPTER = {"03": 72, "06": 57, "10": 168, "11": 97, "13": 89}  # 13: 48 s in 8b0db51's faster run

for _chapter in grading.chapters():
    globals()[f"TestMutations{_chapter[:2]}"] = type(f"TestMutations{_chapter[:2]}", (MutationSuite,), {
        "chapter": _chapter, "SECONDS": SECONDS_BY_CHAPTER.get(_chapter[:2], 0)})

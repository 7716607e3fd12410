"""Repository hygiene: stripped notebooks, lint, pins, config, docs."""

import json
import re
import runpy
import subprocess
import sys
import unicodedata

import pytest

from autograder.grader import grading, stderr

# Lines TensorFlow/absl/Python write to stderr, which must not zero a test cell.
LIBRARY_LOG_LINES = [
    "2026-11-22 09:00:00.123456: W tensorflow/core/framework/op_kernel.cc:1857] OP_REQUIRES failed",
    "I0000 00:00:1795338298.576500    3517 port.cc:153] oneDNN custom operations are on.",
    "E0000 00:00:1795338306.027668    3517 cuda_platform.cc:52] failed call to cuInit",
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "/x/site-packages/keras/src/layers/core/dense.py:93: UserWarning: Do not pass an `input_shape`",
]
STUDENT_LINES = [
    "my debug output", "Traceback (most recent call last):", "0.5",
    # a warning from the student's own cell file (IPython names it /tmp/ipykernel_PID/N.py)
    "/tmp/ipykernel_4242/1234567.py:3: UserWarning: learning rate looks large",
]


def notebooks(repo):
    return sorted(p for folder in ("solutions", "course") for p in (repo / folder).rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts)


def test_committed_notebooks_have_no_outputs(repo):
    assert notebooks(repo)
    for path in notebooks(repo):
        for cell in json.loads(path.read_text())["cells"]:
            assert not cell.get("outputs") and not cell.get("execution_count"), f"{path}: strip outputs"


def test_notebooks_hold_no_control_characters(repo):
    # "\text{NaN}" once reached a notebook as a TAB followed by "ext{NaN}" (a Python string's
    # "\t"); KaTeX shows the TAB as nothing. Newlines are the only control character allowed.
    for path in notebooks(repo):
        for index, cell in enumerate(json.loads(path.read_text())["cells"]):
            source = "".join(cell["source"])
            bad = sorted({f"U+{ord(ch):04X}" for ch in source if ch != "\n" and unicodedata.category(ch) == "Cc"})
            assert not bad, f"{path.relative_to(repo)} cell {index} ({cell.get('id')}): control characters {bad}"


def test_no_file_the_course_ships_is_hidden_by_gitignore(repo):
    # A clean clone (CI, a student, an instructor) has only what git tracks: a pattern such as
    # `feedback/` meant for the course root once hid autograder/grader/templates/feedback/.
    shipped = ["autograder", "solutions", "course", "docs", "tests", "benchmarks", "binder", ".ci"]
    ignored = subprocess.run(
        ["git", "ls-files", "--others", "--ignored", "--exclude-standard", *shipped],
        cwd=repo, capture_output=True, text=True, check=True,
    ).stdout.split()
    caches = ("__pycache__", ".ipynb_checkpoints", ".egg-info")
    hidden = [path for path in ignored if not any(cache in path for cache in caches)]
    assert hidden == [], f"ignored by .gitignore, so missing from every clone: {hidden}"


def test_ruff_passes_on_python_and_notebooks(repo):
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=repo, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def pins(path):
    return sorted(line.strip() for line in path.read_text().splitlines() if "==" in line and not line.startswith("#"))


def test_binder_uses_the_same_pins_and_python(repo):
    assert pins(repo / "binder" / "requirements.txt") == pins(repo / "requirements.txt")
    assert (repo / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
    assert "dataset-fashion-mnist" in (repo / "binder" / "apt.txt").read_text()
    post_build = (repo / "binder" / "postBuild").read_text()
    assert post_build.startswith("#!") and "set -e" in post_build


def test_pins_are_the_course_versions(repo):
    pinned = dict(line.split("==") for line in pins(repo / "requirements.txt"))
    assert pinned["tensorflow"].startswith("2.21") and pinned["keras"].startswith("3.15")
    assert pinned["nbgrader"] == "0.9.6" and pinned["jupyterlab"].startswith("4.6")


@pytest.fixture(scope="module")
def nbgrader_config(repo):
    class Section(dict):
        def __getattr__(self, name):
            return self.setdefault(name, Section())

        def __setattr__(self, name, value):
            self[name] = value

    config = Section()
    runpy.run_path(str(repo / "nbgrader_config.py"), init_globals={"get_config": lambda: config})
    return config


def test_config_maps_folders_and_sets_a_timeout(nbgrader_config):
    assert nbgrader_config.CourseDirectory.source_directory == "solutions"
    assert nbgrader_config.CourseDirectory.release_directory == "course"
    assert 30 <= nbgrader_config.Execute.timeout <= 300
    assert nbgrader_config.Execute.iopub_timeout >= 30  # nbgrader fails a submission whose output lags


@pytest.mark.parametrize("line", LIBRARY_LOG_LINES)
def test_library_log_lines_are_removed_line_by_line(nbgrader_config, line):
    assert nbgrader_config.IgnorePattern.enabled is False  # it drops whole outputs
    assert "autograder.grader.stderr.DropLibraryLogs" in nbgrader_config.Autograde.autograde_preprocessors
    text = f"mine before\n{line}\n  warnings.warn(...)\nmine after\n"
    kept = stderr.library_lines_removed(text)
    assert "mine before" in kept and "mine after" in kept and line not in kept
    if "Warning: " in line:
        assert "warnings.warn(...)" not in kept  # the source line printed under a warning


@pytest.mark.parametrize("line", STUDENT_LINES)
def test_other_stderr_is_kept(line):
    assert stderr.library_lines_removed(f"{line}\n") == f"{line}\n"


def test_a_test_cell_zeroed_by_stderr_says_why():
    import nbformat

    cell = nbformat.v4.new_code_cell("check()", metadata={"nbgrader": {"grade": True, "grade_id": "t"}})
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text=LIBRARY_LOG_LINES[1] + "\nmy debug\n")]
    cell, _ = stderr.DropLibraryLogs().preprocess_cell(cell, {}, 0)
    assert [o.name for o in cell.outputs] == ["stderr", "stdout"]
    assert cell.outputs[0].text == "my debug\n"
    assert "scores 0 because something was written to stderr" in cell.outputs[1].text
    quiet = nbformat.v4.new_code_cell("check()", metadata={"nbgrader": {"grade": True, "grade_id": "t"}})
    quiet.outputs = [nbformat.v4.new_output("stream", name="stderr", text=LIBRARY_LOG_LINES[0] + "\n")]
    quiet, _ = stderr.DropLibraryLogs().preprocess_cell(quiet, {}, 0)
    assert quiet.outputs == []


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_command(repo):
    readme = (repo / "README.md").read_text()
    head = readme[:1500]
    assert "make lab" in head and "make doctor" in head  # the first screen is for students
    assert "make test" in readme
    ci = (repo / ".ci" / "run").read_text()
    assert "make test" in ci and "dataset-fashion-mnist" in ci


def test_chapters_are_numbered_and_paired(repo):
    names = grading.chapters(repo)
    assert names[:4] == ["00_setup", "01_tensors", "02_activations", "03_optimizers"]
    assert all(re.fullmatch(r"\d\d_[a-z_]+", n) for n in names)


KERNEL_SIDE = ("runtime.py", "data.py", "pretrained.py", "integrity.py", "doctor.py", "cli.py", "__init__.py",
               "__main__.py", "checks")


def kernel_side_files(repo) -> list:
    package = repo / "autograder"
    files = [p for name in KERNEL_SIDE for p in ([package / name] if name.endswith(".py")
                                                 else sorted((package / name).rglob("*.py")))]
    assert len(files) > 10
    every_module = {p.relative_to(package).parts[0] for p in package.rglob("*.py")}
    assert every_module - {"grader"} <= set(KERNEL_SIDE) | {"resources"}, "a module outside both wings"
    return files


def imported_names(path) -> list[str]:
    """Every module name an import statement of ``path`` names (``from a import b``: a and a.b)."""
    import ast

    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names += [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
    return names


def test_the_kernel_side_never_imports_the_grader_side(repo):
    for path in kernel_side_files(repo):
        grader = [n for n in imported_names(path) if n.startswith("autograder.grader")]
        # cli.py registers the instructor verbs where the grader wing is installed (not in
        # the student edition): the only door, and it is looked up before it is used.
        if path.name == "cli.py" and grader == ["autograder.grader.cli", "autograder.grader.cli.add_commands"]:
            continue
        assert not grader, f"{path.relative_to(repo)} imports {grader}"


# Modules of the standard library that exist on Linux and macOS but not on Windows.
POSIX_ONLY = ("fcntl", "grp", "pwd", "resource", "termios", "tty", "pty", "posix", "syslog", "crypt")


def test_the_kernel_side_imports_no_posix_only_module(repo):
    """Students run the kernel side on Windows too (the grader side runs on Linux, in bubblewrap):
    no kernel-side file names a POSIX-only module, and every kernel-side module imports with
    them made unavailable (after the third-party libraries, which choose their own code path)."""
    files = kernel_side_files(repo)
    for path in files:
        posix = [n for n in imported_names(path) if n.split(".")[0] in POSIX_ONLY]
        assert not posix, f"{path.relative_to(repo)} imports {posix}: not available on Windows"
    modules = sorted(
        ".".join(("autograder", *p.relative_to(repo / "autograder").with_suffix("").parts)).removesuffix(".__init__")
        for p in files if p.name != "__main__.py"
    )
    script = (
        "import sys\n"
        "import numpy, tensorflow, keras, matplotlib, filelock, nbformat, IPython  # third-party first\n"
        f"for name in {POSIX_ONLY!r}:\n"
        "    sys.modules[name] = None  # import name -> ImportError, as on Windows\n"
        "import importlib\n"
        f"for module in {modules!r}:\n"
        "    importlib.import_module(module)\n"
        f"print('imported', {len(modules)})\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=repo, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"imported {len(modules)}" in done.stdout


# Import names whose distribution is named otherwise (absl comes with TensorFlow).
DISTRIBUTION_OF = {"sklearn": "scikit-learn", "ml_dtypes": "ml-dtypes", "absl": "tensorflow"}


def declared_dependencies(repo) -> dict:
    """pyproject.toml's ``dependencies``: distribution name -> SpecifierSet."""
    import tomllib

    from packaging.requirements import Requirement

    project = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    return {Requirement(r).name.lower(): Requirement(r).specifier for r in project["dependencies"]}


def test_the_package_declares_what_the_kernel_side_and_the_notebooks_import(repo):
    """On Colab the package is installed with pip and its dependencies: every third-party
    module the kernel side or a notebook imports must come with it."""
    import ast

    import nbformat

    names = {n for path in kernel_side_files(repo) for n in imported_names(path)}
    for path in sorted((repo / "solutions").rglob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                code = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
                for node in ast.walk(ast.parse(code)):
                    if isinstance(node, ast.Import):
                        names |= {a.name for a in node.names}
                    elif isinstance(node, ast.ImportFrom) and node.level == 0:
                        names.add(node.module)
    top = {n.split(".")[0] for n in names if n} - set(sys.stdlib_module_names) - {"autograder", "__future__"}
    assert {"tensorflow", "keras", "palmerpenguins", "statsmodels"} <= top  # the scan sees them
    declared = declared_dependencies(repo)
    missing = sorted(n for n in top if DISTRIBUTION_OF.get(n, n).replace("_", "-").lower() not in declared)
    assert not missing, f"imported but not in pyproject.toml's dependencies: {missing}"


def test_the_pinned_versions_satisfy_the_package_ranges(repo):
    """The ranges Colab's pip resolves admit what the course is tested with: the pins of
    requirements.txt and, for a dependency pinned by another package, the installed version."""
    from importlib.metadata import version

    pinned = {name.lower(): v for name, v in (line.split("==") for line in pins(repo / "requirements.txt"))}
    pinned = {name: v.split()[0] for name, v in pinned.items()}
    declared = declared_dependencies(repo)
    assert "tensorflow" in declared and "keras" in declared
    for name, spec in declared.items():
        found = pinned.get(name) or version(name)
        assert spec.contains(found), f"{name}=={found} is outside pyproject.toml's {name}{spec}"
    assert not declared["tensorflow"].contains("2.15.0"), "TensorFlow before 2.16 comes with Keras 2"

"""Generic wrong answers ("mutants") run against every check call of every chapter.

A planted bug (`samples`) is one specific mistake; a mutant is a *generic* wrong answer made
from the solution itself: a function that returns zeros, its input, the negated result, a
constant or random values of the right shape and dtype; an optimizer that does nothing, steps
the wrong way or with ten times the learning rate; a procedure that does nothing; a layer or
model whose output is zero; a callback that never acts. A check call that lets every mutant
meant for it through cannot fail, whatever the student writes.

`probe(chapter)` executes the solution's answer cells (and the notebook cells they and the
test cells need, found on the syntax tree) in this process, then runs each check call of each
test cell, visible and hidden, once per mutant of each student name the call uses, and
records whether the call failed. `write_report` renders the result as ``docs/mutations.md``.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import linecache
import time
from dataclasses import dataclass, field

import numpy as np

from autograder.grader import samples

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"

# Checks that train a model: each mutant costs a training run, so they get the first mutant
# of each argument only (the cheapest: a no-op, or a zero model).
TRAINING_CHECKS = {
    "check_custom_training", "check_regularized_training", "check_augmented_training",
    "check_two_head_model", "check_transfer_beats_scratch", "check_callbacks_in_fit", "check_regressor",
    "check_classifier", "check_cnn", "check_forecaster",
}


class NotApplicable(Exception):
    """The mutant has no meaning for what the function returned (a model for `negated`)."""


# --- values --------------------------------------------------------------------------------

def _is_numeric(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float, np.generic, np.ndarray)):
        return np.asarray(value).dtype.kind in "fiuc"
    return hasattr(value, "numpy") and hasattr(value, "dtype") and hasattr(value, "shape")


def _like(value, array: np.ndarray):
    """``array`` in the type of ``value`` (tensor, NumPy array or Python number)."""
    if isinstance(value, (int, float)):
        return type(value)(array.item())
    if isinstance(value, np.generic):
        return array.astype(value.dtype)[()]
    if isinstance(value, np.ndarray):
        return array.astype(value.dtype)
    import tensorflow as tf

    return tf.convert_to_tensor(array.astype(value.dtype.as_numpy_dtype))


def _numeric(value) -> np.ndarray:
    return np.asarray(value.numpy() if hasattr(value, "numpy") else value)


def _map_values(value, transform):
    """Apply ``transform`` (np.ndarray -> np.ndarray) to every numeric array in ``value``."""
    if _is_numeric(value):
        return _like(value, transform(_numeric(value)))
    if isinstance(value, (tuple, list)) and value and all(_is_numeric(v) for v in value):
        return type(value)(_map_values(v, transform) for v in value)
    raise NotApplicable(type(value).__name__)


def _zero_model(model):
    import keras

    if isinstance(model, keras.Sequential) or not getattr(model, "built", False):
        return keras.Sequential([model, keras.layers.Lambda(lambda t: 0.0 * t)])
    outputs = model.outputs
    zero = keras.layers.Lambda(lambda t: 0.0 * t)
    if isinstance(model.output, dict):
        zeros = {name: zero(t) for name, t in model.output.items()}
    else:
        zeros = [zero(t) for t in outputs] if len(outputs) > 1 else zero(outputs[0])
    return keras.Model(model.inputs, zeros)


def _zeros(value, args):
    import keras
    import tensorflow as tf

    if isinstance(value, keras.Model):
        return _zero_model(value)
    if isinstance(value, tf.data.Dataset):
        return value.map(lambda *e: tf.nest.map_structure(tf.zeros_like, e if len(e) > 1 else e[0]))
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return []
    if isinstance(value, dict):
        return {key: None for key in value}
    return _map_values(value, np.zeros_like)


def _negated(value, args):
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value[::-1]
    return _map_values(value, lambda a: -a if a.dtype.kind != "u" else a.max() - a)


def _constant(value, args):
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ["the"] * len(value)
    return _map_values(value, lambda a: np.full_like(a, 0.5 if a.dtype.kind in "fc" else 1))


def _random(value, args):
    rng = np.random.default_rng(0)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(rng.permutation(value))
    return _map_values(value, lambda a: rng.normal(size=a.shape).astype(a.dtype)
                       if a.dtype.kind in "fc" else rng.integers(0, 3, size=a.shape).astype(a.dtype))


def _input(value, args):
    first = next((a for a in args if _is_numeric(a) or isinstance(a, list)), None)
    if first is None:
        raise NotApplicable("no array argument")
    if isinstance(value, tuple):
        raise NotApplicable("several outputs")
    return first


VALUE_MUTANTS = {
    "zeros": (_zeros, "returns zeros of the right shape and dtype (a model: zero outputs)"),
    "input": (_input, "returns its first argument unchanged"),
    "negated": (_negated, "returns the right result with its sign flipped (words: reversed)"),
    "constant": (_constant, "returns a constant of the right shape and dtype"),
    "random": (_random, "returns random values of the right shape and dtype"),
}


def _wrap_function(fn, mutate):
    def mutant(*args, **kwargs):
        return mutate(fn(*args, **kwargs), args)

    mutant.__name__ = fn.__name__
    mutant.__qualname__ = fn.__qualname__
    mutant.__doc__ = fn.__doc__
    return mutant


def _skip(fn):
    def mutant(*args, **kwargs):
        return None

    mutant.__name__ = fn.__name__
    return mutant


# --- classes -------------------------------------------------------------------------------

def _optimizer_noop(cls):
    return type(cls.__name__, (cls,), {"apply": lambda self, params, grads: None})


def _optimizer_sign_flip(cls):
    def apply(self, params, grads):
        before = [np.array(p, copy=True) for p in params]
        cls.apply(self, params, grads)
        for p, b in zip(params, before, strict=True):
            p[...] = b - (p - b)

    return type(cls.__name__, (cls,), {"apply": apply})


def _optimizer_lr_x10(cls):
    import inspect

    default = inspect.signature(cls).parameters.get("learning_rate")
    if default is None or default.default is inspect.Parameter.empty:
        raise NotApplicable("no learning_rate default")

    def __init__(self, *args, **kwargs):
        kwargs["learning_rate"] = 10 * kwargs.get("learning_rate", default.default)
        cls.__init__(self, *args, **kwargs)

    return type(cls.__name__, (cls,), {"__init__": __init__})


def _layer_zero(cls):
    import keras

    def call(self, *args, **kwargs):
        return keras.ops.zeros_like(cls.call(self, *args, **kwargs))

    return type(cls.__name__, (cls,), {"call": call})


def _metric_zero(cls):
    import keras

    def result(self):
        return keras.ops.zeros_like(cls.result(self))

    return type(cls.__name__, (cls,), {"result": result})


def _callback_inert(cls):
    import keras

    def __init__(self, *args, **kwargs):
        keras.callbacks.Callback.__init__(self)

    return type(cls.__name__, (keras.callbacks.Callback,), {"__init__": __init__})


OPTIMIZER_MUTANTS = {
    "no_op": (_optimizer_noop, "apply() leaves the parameters unchanged"),
    "sign_flip": (_optimizer_sign_flip, "steps the opposite way"),
    "lr_x10": (_optimizer_lr_x10, "uses ten times the learning rate"),
}
LAYER_MUTANTS = {"zero_output": (_layer_zero, "call() returns zeros of the right shape")}
METRIC_MUTANTS = {"zero_result": (_metric_zero, "result() returns 0")}
CALLBACK_MUTANTS = {"inert": (_callback_inert, "a callback that never acts")}


def _returns_value(fn) -> bool:
    """Whether the function's own code has a ``return <value>`` (else it is a procedure)."""
    import inspect
    import textwrap

    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return True
    body = tree.body[0]
    return any(
        isinstance(node, ast.Return) and node.value is not None
        for node in ast.walk(body)
        if not (isinstance(node, (ast.FunctionDef, ast.Lambda)) and node is not body)
    )


def mutants_for(obj) -> dict[str, tuple[object, str]]:
    """The generic wrong answers for one student name: {name: (replacement, what it does)}."""
    import inspect

    import keras

    def build(table, *args):
        out = {}
        for name, (make, what) in table.items():
            try:
                out[name] = (make(*args), what)
            except NotApplicable:
                pass
        return out

    if inspect.isclass(obj):
        if issubclass(obj, keras.callbacks.Callback):
            return build(CALLBACK_MUTANTS, obj)
        if issubclass(obj, keras.metrics.Metric):
            return build(METRIC_MUTANTS, obj)
        if issubclass(obj, keras.layers.Layer):
            return build(LAYER_MUTANTS, obj)
        if callable(getattr(obj, "apply", None)):
            return build(OPTIMIZER_MUTANTS, obj)
        return {}
    if callable(obj):
        if not _returns_value(obj):
            return {"no_op": (_skip(obj), "does nothing and returns None")}
        return {
            "no_op": (_skip(obj), "does nothing and returns None"),
            **{name: (_wrap_function(obj, make), what) for name, (make, what) in VALUE_MUTANTS.items()},
        }
    return {}


# --- the notebook ----------------------------------------------------------------------------

def _bound(tree: ast.AST) -> set[str]:
    names = set()
    for node in tree.body:
        for sub in ast.walk(node) if not isinstance(node, (ast.FunctionDef, ast.ClassDef)) else [node]:
            if isinstance(sub, (ast.FunctionDef, ast.ClassDef)):
                names.add(sub.name)
            elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                names.add(sub.id)
            elif isinstance(sub, (ast.Import, ast.ImportFrom)):
                names.update((a.asname or a.name).split(".")[0] for a in sub.names)
    return names


def _used(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _source(cell) -> str:
    """A code cell's source without IPython magics and shell lines."""
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.splitlines()
    )


@dataclass
class CheckCall:
    """One check call of a test cell: its statement, the statements before it in the cell."""

    cell: str
    source: str
    hidden: bool
    prelude: list[str]
    student_names: list[str]
    check: str


@dataclass
class Outcome:
    call: CheckCall
    target: str
    mutant: str
    what: str
    caught: bool
    error: str = ""
    seconds: float = 0.0


@dataclass
class ChapterProbe:
    chapter: str
    outcomes: list[Outcome] = field(default_factory=list)
    unmutated: list[CheckCall] = field(default_factory=list)  # calls with no student name


def _check_name(stmt) -> str | None:
    call = stmt.value if isinstance(stmt, ast.Expr) else None
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id.startswith("check_"):
        return call.func.id
    return None


def _contains_check(stmt) -> bool:
    return any(isinstance(s, ast.stmt) and _check_name(s) for s in ast.walk(stmt))


def check_calls(nb, answers: set[str], namespace: dict) -> list[CheckCall]:
    """Every check call of every test cell, in order: an ``if`` is decided in ``namespace``
    (the branch this kernel would take); a loop or block holding a check call counts as one."""
    calls = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade") or cell.cell_type != "code":
            continue
        source = _source(cell)
        hidden_from = source.find(HIDDEN_BEGIN)
        offsets = np.cumsum([0] + [len(line) + 1 for line in source.splitlines()])
        prelude: list[str] = []

        def visit(body, meta=meta, source=source, hidden_from=hidden_from, offsets=offsets, prelude=prelude):
            for stmt in body:
                if not _contains_check(stmt):
                    prelude.append(ast.get_source_segment(source, stmt))
                elif isinstance(stmt, ast.If):
                    test = ast.get_source_segment(source, stmt.test)
                    visit(stmt.body if eval(test, dict(namespace)) else stmt.orelse)
                else:
                    text = ast.get_source_segment(source, stmt)
                    hidden = 0 <= hidden_from < offsets[stmt.lineno - 1]
                    # a name the cell's earlier statements use counts too (they run with the mutant)
                    earlier = set().union(*(_used(ast.parse(text)) for text in prelude))
                    used = sorted((_used(stmt) | earlier) & answers)
                    name = _check_name(stmt) or next(_check_name(s) for s in ast.walk(stmt)
                                                     if isinstance(s, ast.stmt) and _check_name(s))
                    calls.append(CheckCall(meta["grade_id"], text, hidden, list(prelude), used, name))

        visit(ast.parse(source).body)
    return calls


def context_cells(nb) -> list:
    """The code cells to execute before the check calls: every answer cell and, transitively,
    the cells that bind a name they or the test cells use (the last binding before use)."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    trees = [ast.parse(_source(c)) for c in code]
    needed = {i for i, c in enumerate(code) if c.metadata.get("nbgrader", {}).get("solution")}
    todo = list(needed) + [i for i, c in enumerate(code) if c.metadata.get("nbgrader", {}).get("grade")]
    seen = set(todo)
    while todo:
        i = todo.pop()
        for name in _used(trees[i]) - set(dir(builtins)):
            binders = [j for j in range(i) if name in _bound(trees[j])]
            if binders and binders[-1] not in seen:
                seen.add(binders[-1])
                needed.add(binders[-1])
                todo.append(binders[-1])
    return [code[i] for i in sorted(needed) if not code[i].metadata.get("nbgrader", {}).get("grade")]


def _exec(source: str, namespace: dict, filename: str) -> None:
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)


def namespace_for(chapter: str) -> tuple[dict, set[str]]:
    """The solution's namespace (context cells executed) and the names its answer cells bind."""
    nb = samples.solution_notebook(chapter)
    namespace: dict = {"__name__": "__main__"}
    answers: set[str] = set()
    with contextlib.redirect_stdout(io.StringIO()):
        for index, cell in enumerate(context_cells(nb)):
            source = _source(cell)
            _exec(source, namespace, f"<{chapter} cell {index}>")
            if cell.metadata.get("nbgrader", {}).get("solution"):
                answers |= {n for n in _bound(ast.parse(source)) if callable(namespace.get(n))}
    with contextlib.suppress(Exception):
        import matplotlib.pyplot as plt

        plt.close("all")
    return namespace, answers


def _run(call: CheckCall, namespace: dict) -> tuple[bool | None, str]:
    """Run the call's prelude and the call; (failed?, first line of the error). None: the
    mutant has no meaning for what the function returned here (`NotApplicable`)."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            for stmt in call.prelude:
                _exec(stmt, namespace, f"<{call.cell} prelude>")
            _exec(call.source, namespace, f"<{call.cell}>")
    except NotApplicable:
        return None, ""
    except Exception as err:  # any exception zeros the cell in nbgrader
        first = (str(err).strip().splitlines() or [""])[0]
        return True, f"{type(err).__name__}: {first}"[:200]
    return False, ""


def probe(chapter: str) -> ChapterProbe:
    """Every mutant of every student name against every check call of ``chapter``."""
    nb = samples.solution_notebook(chapter)
    namespace, answers = namespace_for(chapter)
    result = ChapterProbe(chapter)
    for call in check_calls(nb, answers, namespace):
        # the solution passes every call (a training call's pass is the soundness suite's)
        failed, error = (False, "") if call.check in TRAINING_CHECKS else _run(call, dict(namespace))
        if failed:
            raise AssertionError(f"{chapter} {call.cell}: the solution fails `{call.source}`: {error}")
        if not call.student_names:
            result.unmutated.append(call)
        for target in call.student_names:
            mutants = mutants_for(namespace[target])
            if call.check in TRAINING_CHECKS:
                mutants = dict(list(mutants.items())[:1])
            for name, (replacement, what) in mutants.items():
                start = time.perf_counter()
                caught, error = _run(call, {**namespace, target: replacement})
                if caught is None:
                    continue
                result.outcomes.append(
                    Outcome(call, target, name, what, caught, error, time.perf_counter() - start)
                )
    return result


# --- the report ------------------------------------------------------------------------------

# Check calls with no student code to mutate, and why that is right.
NO_STUDENT_CODE = {
    "check_speedup": "on a CPU kernel the float16 speed-up is not measured (the call prints "
    "SKIPPED); `check_step_timer` in the same cell grades the student's function on any device",
}


def section(result: ChapterProbe) -> str:
    """The chapter's part of docs/mutations.md: one row per check call."""
    lines = [f"<!-- mutations {result.chapter} -->", f"### {result.chapter}", "",
             "| test cell | check call | caught | let through |", "|---|---|---|---|"]
    calls: dict[int, list[Outcome]] = {}
    order: list[CheckCall] = []
    for outcome in result.outcomes:
        if id(outcome.call) not in calls:
            order.append(outcome.call)
        calls.setdefault(id(outcome.call), []).append(outcome)
    for call in order:
        outs = calls[id(call)]
        first = " ".join(call.source.split())
        text = first if len(first) <= 70 else first[:67] + "..."
        caught = ", ".join(f"{o.target}:{o.mutant}" for o in outs if o.caught) or "**none**"
        missed = ", ".join(f"{o.target}:{o.mutant}" for o in outs if not o.caught) or "-"
        kind = "hidden" if call.hidden else "visible"
        lines.append(f"| {call.cell} ({kind}) | `{text.replace('|', '/')}` | {caught} | {missed} |")
    for call in result.unmutated:
        lines.append(f"| {call.cell} | `{' '.join(call.source.split())}` | no student code: "
                     f"{NO_STUDENT_CODE.get(call.check, '?')} | - |")
    lines.append(f"<!-- end {result.chapter} -->")
    return "\n".join(lines) + "\n"


def chapter_section(text: str, chapter: str) -> str | None:
    """The chapter's section of a docs/mutations.md text, or None."""
    start, end = f"<!-- mutations {chapter} -->", f"<!-- end {chapter} -->\n"
    if start not in text or end not in text:
        return None
    return text[text.index(start):text.index(end) + len(end)]


def main(argv=None) -> int:
    """``python -m autograder.grader.mutants [CHAPTER ...]``: print the sections of
    docs/mutations.md (every chapter by default) to paste or compare."""
    import sys

    from autograder.grader import grading

    for chapter in (argv if argv is not None else sys.argv[1:]) or grading.chapters():
        print(section(probe(chapter)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

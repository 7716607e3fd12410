"""Rules on how an answer is written ("build it yourself: do not call ``tf.one_hot``"),
checked on the syntax tree of the student's function, not on its text.

A substring search misses ``getattr(tf, "one_hot")``, ``from tensorflow import one_hot as
oh`` or a helper function that makes the call; :func:`check_not_used` reads the function's
source with :mod:`ast` and follows the notebook's own helper functions it calls.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import types

from autograder.checks.failure import explains_errors, fail


def _source_tree(fn) -> ast.AST:
    try:
        return ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        fail(f"{getattr(fn, '__name__', fn)}: its source cannot be read",
             "define it with `def` in the answer cell (not with exec or a function from elsewhere).",
             details=["this exercise's rules are checked on your code"])


def _helpers(fn, tree: ast.AST) -> list:
    """Functions of the notebook (same module as ``fn``) that ``fn``'s code names."""
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    found = []
    for name in sorted(names):
        value = getattr(fn, "__globals__", {}).get(name)
        if isinstance(value, types.FunctionType) and value is not fn and value.__module__ == fn.__module__:
            found.append(value)
    return found


def uses(fn, names: tuple[str, ...], _seen: set | None = None) -> list[str]:
    """Where ``fn`` (or a notebook helper it calls) refers to one of ``names`` (last parts of
    dotted names: ``"one_hot"`` matches ``tf.one_hot``, ``getattr(ops, "one_hot")``, an import
    of it, or a bare name); also every ``getattr`` with a computed name."""
    seen = _seen if _seen is not None else set()
    if id(fn) in seen:
        return []
    seen.add(id(fn))
    tree = _source_tree(fn)
    label = getattr(fn, "__name__", "?")
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in names:
            found.append(f"{label} uses .{node.attr} (line {node.lineno})")
        elif isinstance(node, ast.Name) and node.id in names:
            found.append(f"{label} uses {node.id} (line {node.lineno})")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            found += [f"{label} imports {a.name} (line {node.lineno})" for a in node.names
                      if a.name.split(".")[-1] in names]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" \
                and len(node.args) >= 2:
            attr = node.args[1]
            if not isinstance(attr, ast.Constant):
                found.append(f"{label} calls getattr with a computed name (line {node.lineno})")
            elif attr.value in names:
                found.append(f"{label} uses getattr(..., {attr.value!r}) (line {node.lineno})")
    for helper in _helpers(fn, tree):
        found += uses(helper, names, seen)
    return found


@explains_errors
def check_not_used(fn, names: tuple[str, ...], why: str) -> None:
    """Fail when ``fn`` refers to any of ``names`` (see :func:`uses`), saying where."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    found = uses(fn, names)
    if found:
        fail(f"{getattr(fn, '__name__', 'your function')}: must not use {' or '.join(names)}", why, details=found)

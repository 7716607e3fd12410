"""Tamper detection inside a grading kernel (an IPython extension).

An answer cell runs in the interpreter that later runs the test cells, so it can replace what
the tests rely on: a check (``autograder.checks.activations.check_activation = ...``), a
reference (``keras.activations.gelu``), a comparison primitive (``np.isclose``), or the shell
(``get_ipython().run_code``, ``showtraceback``, custom exception handlers). The kernel is the
student's, so this module aims at detection with a clear flag, and undoes what it can:

* ``load_ipython_extension`` runs when the kernel starts, before any cell (nbgrader's
  ``Execute.extra_arguments = ["--ext=autograder.integrity"]`` in ``nbgrader_config.py``). It
  imports NumPy, TensorFlow, Keras and every ``autograder.checks`` module (the notebooks
  import them anyway: the time moves, it is not added) and takes a :class:`Snapshot` of the
  objects the checks use: module attributes, the methods of their classes, the code and
  defaults of every function among them, the course's constant tables (tolerances, hints),
  ``sys.stdout``/``sys.modules``/the import hooks, the shell's methods, exception handlers
  and event callbacks.
* Before each cell that imports ``autograder.checks`` (a test cell), and when a check
  compares arrays (:func:`audit`, once per cell), the snapshot is compared with the live
  objects. Every difference is put back and reported on stdout as a line starting with
  ``MARK``; the grader finds these lines in the autograded notebook and flags the submission
  for the instructor ("patched numpy.isclose at run time").

What a determined student can still do (disable the extension through the shell's event list,
``gc`` or ``ctypes``) needs code that the grader's static read of the answer cells flags
(:mod:`autograder.grader.codescan` on the instructor's side). Outside grading (no extension
loaded) :func:`audit` does nothing.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import pkgutil
import re
import sys
import types

MARK = "AUTOGRADER INTEGRITY:"
LIBRARIES = (
    "builtins", "math", "numpy", "numpy.testing", "numpy.linalg", "numpy.random",
    "tensorflow", "tensorflow.math", "tensorflow.nn", "tensorflow.linalg", "tensorflow.random",
    "tensorflow.debugging", "tensorflow.image", "tensorflow.data",
    "keras", "keras.activations", "keras.ops", "keras.losses", "keras.optimizers", "keras.optimizers.schedules",
    "keras.layers", "keras.metrics", "keras.callbacks", "keras.regularizers", "keras.initializers",
    "keras.random", "keras.utils", "keras.models", "keras.mixed_precision", "keras.config",
    "autograder", "autograder.data", "autograder.runtime", "autograder.pretrained", "autograder.integrity",
)
SHELL_ATTRIBUTES = ("run_cell", "run_code", "run_ast_nodes", "run_cell_async", "showtraceback", "_showtraceback",
                    "showsyntaxerror", "showindentationerror", "custom_exceptions", "CustomTB", "InteractiveTB",
                    "SyntaxTB", "displayhook", "display_pub", "excepthook", "ast_transformers", "input_transformers_post",
                    "events", "set_custom_exc")
SYS_HOOKS = ("stdout", "stderr", "excepthook", "displayhook", "modules")
KERNEL_ATTRIBUTES = ("do_execute", "execute_request", "send_response", "_publish_execute_input", "shell")
# Names the shell itself rebinds while it runs cells (ipykernel's per-request ``input``,
# IPython's ``get_ipython``/``display``/``exit`` and output caches), and this module's state.
SHELL_MANAGED = {("builtins", name) for name in (
    "input", "raw_input", "get_ipython", "display", "exit", "quit", "help", "__IPYTHON__", "_", "__", "___",
)} | {("autograder.integrity", "_guard")}

# Class attributes Python and libraries fill in on their own (copyreg's slot cache, ABC caches).
CLASS_CACHES = {"__dict__", "__weakref__", "__abstractmethods__", "__annotations__", "__slotnames__",
                "__parameters__", "__orig_bases__"}

_guard: Guard | None = None


def watched_modules() -> list[str]:
    """The libraries of ``LIBRARIES`` that import here, and every ``autograder.checks`` module."""
    names = []
    for name in LIBRARIES:
        try:
            importlib.import_module(name)
            names.append(name)
        except ImportError:
            pass
    import autograder.checks

    names.append("autograder.checks")
    for info in pkgutil.iter_modules(autograder.checks.__path__):
        importlib.import_module(f"autograder.checks.{info.name}")
        names.append(f"autograder.checks.{info.name}")
    return names


def _function_state(value) -> tuple:
    """What can be changed inside a function object without replacing it: its code, its
    defaults and its keyword-only defaults (compared by identity)."""
    return (value.__code__, value.__defaults__, tuple((value.__kwdefaults__ or {}).items()))


def _same_state(a: tuple, b: tuple) -> bool:
    return a[0] is b[0] and a[1] is b[1] and len(a[2]) == len(b[2]) and all(
        ka == kb and va is vb for (ka, va), (kb, vb) in zip(a[2], b[2], strict=True))


def _set_function_state(value, state: tuple) -> None:
    value.__code__, value.__defaults__ = state[0], state[1]
    value.__kwdefaults__ = dict(state[2]) or None


class Snapshot:
    """Identity of every attribute of the watched modules, of their classes, and of the shell's
    and kernel's grading machinery; the code and defaults of every Python function among them;
    copies of the course's own constants (tolerance tables) and of ``sys``'s hooks, taken
    before any student cell runs."""

    def __init__(self, modules: list[str], shell):
        self.modules = {name: sys.modules[name] for name in modules}
        self.attributes: dict[tuple[str, str], object] = {}
        self.classes: dict[int, tuple[type, str, dict]] = {}
        self.functions: dict[int, tuple[types.FunctionType, str, tuple]] = {}
        self.constants: dict[tuple[str, str], object] = {}
        for name, module in self.modules.items():
            for key, value in list(vars(module).items()):
                if (name, key) in SHELL_MANAGED:
                    continue
                self.attributes[(name, key)] = value
                if inspect.isclass(value) and id(value) not in self.classes:
                    self.classes[id(value)] = (value, f"{name}.{key}", dict(vars(value)))
                if isinstance(value, types.FunctionType):
                    self._function(value, f"{name}.{key}")
                if name.startswith("autograder") and key.lstrip("_").isupper() and isinstance(value, (dict, list, set)):
                    self.constants[(name, key)] = copy.deepcopy(value)
        for _cls, label, saved in list(self.classes.values()):
            for key, value in saved.items():
                if isinstance(value, types.FunctionType):
                    self._function(value, f"{label}.{key}")
        self.sys_hooks = {key: getattr(sys, key) for key in SYS_HOOKS if hasattr(sys, key)}
        self.sys_lists = {key: list(getattr(sys, key)) for key in ("meta_path", "path_hooks")}
        self.shell = shell
        self.instances = []
        for owner, names in ((shell, SHELL_ATTRIBUTES), (getattr(shell, "kernel", None), KERNEL_ATTRIBUTES)):
            if owner is None:
                continue
            for cls in type(owner).__mro__[:-1]:
                self.classes.setdefault(id(cls), (cls, f"{cls.__module__}.{cls.__qualname__}", dict(vars(cls))))
            self.instances.append((owner, names, {n: vars(owner)[n] for n in names if n in vars(owner)}))
        self.events = {k: list(v) for k, v in shell.events.callbacks.items()} if shell is not None else {}

    def _function(self, value: types.FunctionType, label: str) -> None:
        """Record a function and the functions it wraps (``__wrapped__``: a decorated check's
        own code is reachable through it)."""
        while isinstance(value, types.FunctionType) and id(value) not in self.functions:
            self.functions[id(value)] = (value, label, _function_state(value))
            value, label = getattr(value, "__wrapped__", None), f"{label} (wrapped)"

    def restore(self) -> list[str]:
        """Put back what changed; return a description of each change."""
        changes = []
        for name, module in self.modules.items():
            if sys.modules.get(name) is not module:
                sys.modules[name] = module
                changes.append(f"replaced the module {name} in sys.modules")
        for (name, key), value in self.attributes.items():
            namespace = vars(self.modules[name])
            live = namespace.get(key, _MISSING)
            if live is not value and not _same_module(live, value):
                namespace[key] = value
                changes.append(f"patched {name}.{key}")
        for value, label, state in self.functions.values():
            if not _same_state(_function_state(value), state):
                _set_function_state(value, state)
                changes.append(f"changed the code or defaults of {label}")
        for (name, key), saved in self.constants.items():
            live = vars(self.modules[name]).get(key)
            try:
                differs = bool(live != saved)
            except Exception:  # noqa: BLE001 - contents that cannot be compared are not judged
                differs = False
            if differs:
                vars(self.modules[name])[key] = copy.deepcopy(saved)
                changes.append(f"changed the contents of {name}.{key}")
        for key, saved in self.sys_hooks.items():
            if getattr(sys, key, _MISSING) is not saved:
                setattr(sys, key, saved)
                changes.append(f"replaced sys.{key}")
        for key, saved in self.sys_lists.items():
            live = getattr(sys, key)
            if [f for f in live if any(f is s for s in saved)] != saved or any(
                    not any(f is s for s in saved) for f in live[:len(saved)]):
                live[:] = saved + [f for f in live if not any(f is s for s in saved)]
                changes.append(f"changed sys.{key} (the import machinery)")
        for cls, label, saved in self.classes.values():
            live = vars(cls)
            for key in set(saved) | set(live):
                if key in CLASS_CACHES or key.startswith("_abc_"):
                    continue
                if live.get(key, _MISSING) is not saved.get(key, _MISSING):
                    try:
                        if key in saved:
                            setattr(cls, key, saved[key])
                        else:
                            delattr(cls, key)
                    except (AttributeError, TypeError):
                        pass
                    changes.append(f"patched {label}.{key}")
        for owner, names, saved in self.instances:
            live = vars(owner)
            for key in names:
                if live.get(key, _MISSING) is not saved.get(key, _MISSING):
                    if key in saved:
                        live[key] = saved[key]
                    else:
                        del live[key]
                    changes.append(f"patched {type(owner).__name__}.{key} (the shell that runs the tests)")
        if self.shell is not None:
            callbacks = self.shell.events.callbacks
            for event, saved in self.events.items():
                if callbacks.get(event) is None or any(c not in callbacks[event] for c in saved):
                    callbacks[event] = saved + [c for c in callbacks.get(event, []) if c not in saved]
                    changes.append(f"removed the shell's {event!r} callbacks")
        return changes


_MISSING = object()


def _same_module(a, b) -> bool:
    """A lazily loaded submodule (TensorFlow's ``LazyLoader``) replaced by the module it loads."""
    return isinstance(a, types.ModuleType) and isinstance(b, types.ModuleType) and a.__name__ == b.__name__


class Guard:
    """Compares the snapshot with the live objects before test cells and when checks run."""

    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot
        self.audited_cell = None
        self.reported: list[str] = []
        self.stopped: list[tuple[BaseException, str]] = []  # (error, source) of cells that stopped early

    def audit(self, cell=None) -> list[str]:
        """Restore and report (once per cell). Never raises and never writes to stderr (either
        would cost the test cell its points): a failure of the guard itself is reported too."""
        if cell is not None and cell == self.audited_cell:
            return []
        self.audited_cell = cell
        try:
            changes = self.snapshot.restore()
        except Exception as err:  # noqa: BLE001 - reported for the instructor, never raised
            changes = [f"the integrity check itself failed ({type(err).__name__}: {err})"]
        if changes:
            self._reattach_output()
            self.reported += changes
            print(f"{MARK} a cell changed what the tests rely on; put back before grading: " + "; ".join(changes))
        return changes

    def _reattach_output(self) -> None:
        """A restored ``sys.stdout`` missed the current request's header (ipykernel sets it on
        the stream in place at the start of a request): set it again, so the report line lands
        in this cell's output."""
        shell = self.snapshot.shell
        kernel = getattr(shell, "kernel", None)
        if shell is not None and kernel is not None and hasattr(kernel, "get_parent"):
            try:
                shell.set_parent(kernel.get_parent("shell"))
            except Exception:  # noqa: BLE001 - an older ipykernel: the line may land a cell early
                pass

    def pre_run_cell(self, info) -> None:
        if "autograder.checks" in (getattr(info, "raw_cell", "") or ""):
            self.audit(self._cell())

    def post_run_cell(self, result) -> None:
        """Remember the cells that stopped early; when a test cell then fails with a NameError
        for a name such a cell defines, say why the name is missing (the test cell alone would
        only say ``NameError``). Never raises."""
        try:
            error = getattr(result, "error_in_exec", None)
            source = getattr(getattr(result, "info", None), "raw_cell", "") or ""
            if error is None:
                return
            if "autograder.checks" not in source:
                self.stopped.append((error, source))
                return
            name = getattr(error, "name", None)
            if not isinstance(error, NameError) or not name:
                return
            definition = re.compile(rf"^\s*(def|class)\s+{re.escape(name)}\b|^{re.escape(name)}\s*=", re.MULTILINE)
            for stopped, cell in reversed(self.stopped):
                if definition.search(cell):
                    print(f"{NOTE} `{name}` is not defined because the cell that defines it "
                          f"{_why_stopped(stopped)}, before its definition ran. Fix that cell first.")
                    return
        except Exception:  # noqa: BLE001 - a note is a courtesy; never cost the cell
            pass

    def _cell(self):
        shell = self.snapshot.shell
        return getattr(shell, "execution_count", None)


NOTE = "AUTOGRADER NOTE:"


def _why_stopped(error: BaseException) -> str:
    if isinstance(error, KeyboardInterrupt):
        return "was interrupted (it ran past the time limit of a cell)"
    if isinstance(error, MemoryError):
        return "ran out of memory"
    if isinstance(error, SystemExit):
        return "called sys.exit() or exit(), which ends a cell on the spot"
    return f"stopped with {type(error).__name__}"


def audit() -> list[str]:
    """Called by the checks' comparison helpers: restore and report changes (once per cell).
    A no-op outside grading kernels."""
    if _guard is None:
        return []
    return _guard.audit(_guard._cell())


def load_ipython_extension(shell) -> None:
    """IPython entry point (``--ext=autograder.integrity``): snapshot, then watch test cells."""
    global _guard
    if _guard is not None:
        return
    _guard = Guard(Snapshot(watched_modules(), shell))
    shell.events.register("pre_run_cell", _guard.pre_run_cell)
    shell.events.register("post_run_cell", _guard.post_run_cell)
    _guard.snapshot.events = {k: list(v) for k, v in shell.events.callbacks.items()}

"""A static read of the code a student wrote, before any kernel runs it.

The grading kernel is the student's: an answer cell runs in the interpreter that later runs
the checks, so it can replace a check, a reference function, ``np.isclose`` or IPython's
``run_code``, or read files. The jail (:mod:`autograder.grader.jail`) takes the files and the
network away; what is left is patching inside the kernel, which cannot be prevented there and
is therefore *detected* here, on the syntax tree of every cell the student wrote or changed
(cells equal to the released notebook's are the course's own code and are not read).

A flag names the cell, the line and what the code does. Flagged submissions are graded like
any other and listed under "needs a look" for the instructor; the rules aim at what honest
answers never need (the course's 71-implementation corpus and the solutions raise none):

* patching: assigning or deleting an attribute of an imported module (``np.isclose = ...``),
  ``setattr``/``delattr`` on anything but ``self``, writing ``sys.modules``, ``builtins``,
  ``globals()``;
* dynamic code: ``exec``, ``eval``, ``compile``, ``__import__``, ``importlib``, a ``getattr``
  whose attribute name is computed;
* interpreter and library internals: frames, code objects, closures, ``gc``, ``ctypes``,
  ``inspect``, ``sys`` hooks (``settrace``, ``addaudithook``, ``meta_path``, ...), private
  attributes of numpy/Keras/TensorFlow/IPython modules (``np.core._multiarray_umath``);
* the shell: ``get_ipython()``, IPython's internals, signal handlers, ``atexit``, magics other
  than ``%time``/``%timeit``/``%matplotlib``, ``!`` shell lines;
* the outside: processes (``subprocess``, ``os.system``), sockets and HTTP, files given by an
  absolute path, ``~`` or ``..``, ``__file__``, environment variables;
* the grader: importing ``autograder.checks``/``autograder.grader`` in an answer cell;
* test data: an answer cell that loads a dataset, or a cell of the student's that uses a global
  whose name says test data (``x_test``), since threshold points must come from training that
  never sees the test set (the checks also block every loader while the student's code trains).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

DYNAMIC_CALLS = {"exec": "runs code built at run time (exec)", "eval": "runs code built at run time (eval)",
                 "compile": "compiles code at run time", "__import__": "imports a module by a computed name",
                 "globals": "reads or writes the notebook's globals() table", "vars": "reads an object's namespace (vars)",
                 "breakpoint": "starts a debugger"}
SUSPECT_MODULES = {
    "importlib": "imports modules by computed names (importlib)",
    "inspect": "inspects the interpreter's frames and sources (inspect)",
    "gc": "reaches objects through the garbage collector (gc)",
    "ctypes": "calls C code in the kernel (ctypes)", "cffi": "calls C code in the kernel (cffi)",
    "builtins": "changes Python's builtins", "signal": "changes signal handling (interrupts, time limits)",
    "atexit": "runs code when the kernel exits (atexit)", "faulthandler": "changes the kernel's fault handling",
    "subprocess": "starts processes (subprocess)", "pty": "starts a shell (pty)", "socket": "opens network sockets",
    "urllib": "opens URLs (urllib)", "http": "speaks HTTP", "requests": "opens URLs (requests)",
    "ftplib": "opens FTP connections", "smtplib": "sends mail", "multiprocessing": "starts processes",
    "IPython": "reaches into IPython, the shell that runs and grades the cells",
    "ipykernel": "reaches into the kernel that runs and grades the cells",
    "nbgrader": "reaches into nbgrader", "threading": "starts threads that run beside the tests",
    "asyncio": "schedules code to run beside the tests", "types": "builds functions or code objects (types)",
    "marshal": "loads code objects (marshal)", "pickle": "unpickles objects (can run code)",
    "shutil": "copies or removes files (shutil)", "glob": "lists files (glob)",
}
GRADER_MODULES = ("autograder.checks", "autograder.grader", "autograder.runtime")
SYS_HOOKS = {"modules", "meta_path", "path_hooks", "path", "settrace", "setprofile", "addaudithook",
             "_getframe", "excepthook", "displayhook", "stdout", "stderr", "exit", "setrecursionlimit",
             "set_asyncgen_hooks", "monitoring", "breakpointhook"}
OS_CALLS = {"system", "popen", "fork", "forkpty", "kill", "killpg", "_exit", "execv", "execve", "execvp",
            "execl", "execlp", "spawnl", "spawnv", "posix_spawn", "remove", "unlink", "rmdir", "rename",
            "replace", "chmod", "chown", "symlink", "link", "listdir", "scandir", "walk", "chdir", "putenv",
            "unsetenv", "environ", "getenv", "setsid", "open", "dup2", "write"}
INTERNAL_DUNDERS = {"__code__", "__globals__", "__closure__", "__builtins__", "__subclasses__", "__bases__",
                    "__mro__", "__dict__", "__defaults__", "__kwdefaults__", "__loader__", "__spec__",
                    "__file__", "__import__", "__getattribute__", "__setattr__", "__delattr__", "__class__",
                    "f_globals", "f_locals", "f_back", "f_builtins", "gi_frame", "tb_frame", "cr_frame",
                    "co_code", "__wrapped__", "__self__", "__func__", "__reduce__", "__reduce_ex__"}
LIBRARY_ROOTS = {"numpy", "keras", "tensorflow", "IPython", "ipykernel", "jax", "scipy", "sklearn", "autograder"}
SAFE_MAGICS = {"time", "timeit", "matplotlib", "pinfo", "pinfo2"}
DATA_LOADERS = re.compile(r"^(load_data|load_fashion_mnist\w*|fashion_mnist_test\w*|load_task|shift_images|"
                          r"image_dataset_from_directory|load_source_model|load_digits\w*)$")
TEST_NAME = re.compile(r"(^|_)(x|y|ds|images|labels|data)?_?test(_|$)|^test_(ds|data|set|images|labels)$|"
                       r"^(x|y)_?test\w*$", re.I)


@dataclass(frozen=True)
class Flag:
    cell: str  # grade_id of an answer cell, or "cell N" for another cell
    line: int
    what: str
    code: str

    def __str__(self) -> str:
        return f"{self.cell} line {self.line}: {self.what} -- `{self.code}`"


def python_source(cell_source: str) -> str:
    """The Python IPython would run for ``cell_source`` (magics and ``!`` lines translated into
    ``get_ipython()`` calls, as the kernel does), or the source itself if IPython is absent."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # pragma: no cover - IPython comes with nbgrader
        return cell_source
    return TransformerManager().transform_cell(cell_source)


def _root(node: ast.AST) -> ast.AST:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


class _Reader(ast.NodeVisitor):
    """Walks one cell; ``modules`` maps names bound by imports (in this cell or earlier cells)
    to the dotted module they name."""

    def __init__(self, modules: dict[str, str], answer: bool):
        self.modules, self.answer = modules, answer
        self.found: list[tuple[int, str]] = []
        self.bound: set[str] = set()

    def flag(self, node: ast.AST, what: str) -> None:
        self.found.append((getattr(node, "lineno", 1), what))

    def module_of(self, node: ast.AST) -> str | None:
        root = _root(node)
        return self.modules.get(root.id) if isinstance(root, ast.Name) else None

    def resolved(self, node: ast.AST) -> str:
        """``np.testing.assert_allclose`` -> ``numpy.testing.assert_allclose``."""
        dotted = _dotted(node)
        module = self.module_of(node)
        if not dotted or module is None:
            return dotted or module or "?"
        return ".".join([module, *dotted.split(".")[1:]])

    # imports
    def _imported(self, node: ast.AST, module: str) -> None:
        top = module.split(".")[0]
        if top in SUSPECT_MODULES:
            self.flag(node, SUSPECT_MODULES[top])
        elif module == "os" or module.startswith("os."):
            pass  # os itself is fine; its dangerous calls are read below
        if self.answer and any(module == g or module.startswith(g + ".") for g in GRADER_MODULES):
            self.flag(node, f"imports the grader's own code ({module}) in an answer cell")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._imported(node, alias.name)
            self.modules[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        self._imported(node, module)
        for alias in node.names:
            full = f"{module}.{alias.name}"
            self._imported(node, full)
            if module.split(".")[0] in LIBRARY_ROOTS or module in ("os", "sys"):
                self.modules[alias.asname or alias.name] = full
            if module in ("sys", "os") and alias.name in SYS_HOOKS | OS_CALLS:
                self.flag(node, f"imports {full}, an interpreter/system hook")
        self.generic_visit(node)

    # patching
    def _target(self, target: ast.AST, verb: str) -> None:
        if isinstance(target, (ast.Attribute, ast.Subscript)):
            module = self.module_of(target)
            if module is not None:
                self.flag(target, f"{verb} {self.resolved(target)} (patches a library or the grader)")
            root = _root(target)
            if isinstance(root, ast.Call) or (isinstance(root, ast.Name) and root.id in ("__builtins__",)):
                self.flag(target, f"{verb} an attribute of a computed object")
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._target(element, verb)
        elif isinstance(target, ast.Name):
            self.bound.add(target.id)
            self.modules.pop(target.id, None)  # rebinding an imported name only shadows it in the notebook

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._target(target, "assigns")
        alias = self.module_of(node.value) if isinstance(node.value, (ast.Name, ast.Attribute)) else None
        if alias is not None:  # t = np.testing: t names (part of) a module from now on
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self.modules[target.id] = _dotted(node.value) or alias
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._target(node.target, "changes")
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._target(node.target, "assigns")
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._target(target, "deletes")
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        self.bound.update(node.names)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.bound.add(node.name)
        self.bound.update(a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg))
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.bound.update(a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg))
        self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.bound.add(node.name)
        self.generic_visit(node)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        for name in ast.walk(node.target):
            if isinstance(name, ast.Name):
                self.bound.add(name.id)
        self.generic_visit(node)

    def visit_For(self, node: ast.For) -> None:
        for name in ast.walk(node.target):
            if isinstance(name, ast.Name):
                self.bound.add(name.id)
        self.generic_visit(node)

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            for name in ast.walk(item.optional_vars) if item.optional_vars else ():
                if isinstance(name, ast.Name):
                    self.bound.add(name.id)
        self.generic_visit(node)

    # calls
    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        dotted = _dotted(func)
        if isinstance(func, ast.Name) and name in DYNAMIC_CALLS:
            self.flag(node, DYNAMIC_CALLS[name])
        if isinstance(func, ast.Name) and name in ("setattr", "delattr") and node.args:
            if not (isinstance(node.args[0], ast.Name) and node.args[0].id == "self"):
                self.flag(node, f"{name}() on {self.resolved(node.args[0]) if _dotted(node.args[0]) else 'a computed object'} "
                                "(patching)")
        if isinstance(func, ast.Name) and name == "getattr" and len(node.args) >= 2:
            if not isinstance(node.args[1], ast.Constant):
                self.flag(node, "getattr() with a computed attribute name")
        if name == "get_ipython" or dotted.endswith("get_ipython"):
            magic = node  # the call IPython makes for a magic is get_ipython().run_line_magic('name', ...)
            self.flag(magic, "uses get_ipython(), the shell that runs and grades the cells")
        module = self.module_of(func)
        if module is not None:
            top = module.split(".")[0]
            if top == "os" and name in OS_CALLS:
                self.flag(node, f"calls {dotted}() (processes, files or environment outside the notebook)")
            if top == "sys" and dotted.split(".")[-1] in SYS_HOOKS:
                self.flag(node, f"calls {dotted}() (an interpreter hook)")
        if name in ("open", "Path", "PurePath", "listdir", "scandir", "glob", "rglob", "iterdir", "read_text",
                    "read_bytes", "loadtxt", "load", "genfromtxt", "fromfile", "read_csv") and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and (
                    arg.value.startswith(("/", "~")) or ".." in arg.value.replace("\\", "/").split("/")):
                self.flag(node, f"opens {arg.value!r}, outside the notebook's folder")
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and \
                    arg.value.strip().endswith((".py", ".pth", ".so", ".pyc")) and name in (
                        "open", "Path", "write_text", "write_bytes", "copy", "copyfile", "rename", "symlink"):
                self.flag(node, f"writes or names Python code on disk ({arg.value!r}): a module there would "
                                "shadow a library for the tests")
        if self.answer and DATA_LOADERS.match(name or ""):
            self.flag(node, f"loads a dataset ({name}) in an answer cell: graded training must not see the test set")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in INTERNAL_DUNDERS and not (node.attr == "__class__" and isinstance(node.value, ast.Name)
                                                  and node.value.id == "self"):
            self.flag(node, f"reaches into interpreter internals ({node.attr})")
        module = self.module_of(node)
        if module is not None:
            top = module.split(".")[0]
            parts = _dotted(node).split(".")
            if top in LIBRARY_ROOTS and any(p.startswith("_") and not p.startswith("__") for p in parts[1:]):
                self.flag(node, f"uses a private part of {top} ({_dotted(node)})")
            if top == "sys" and node.attr in SYS_HOOKS and isinstance(node.ctx, ast.Load) and node.attr not in (
                    "stdout", "stderr", "exit", "path"):
                self.flag(node, f"reads sys.{node.attr}, an interpreter hook")
            if top == "os" and node.attr == "environ":
                self.flag(node, "reads or changes environment variables (os.environ)")
        self.generic_visit(node)


def _uses_test_data(tree: ast.AST, bound: set[str]) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in bound and \
                TEST_NAME.search(node.id):
            found.append((node.lineno, f"uses the global {node.id}: graded training must not see the test set"))
    return found


COURSE, ANSWER, STUDENT = "course", "answer", "student"


def read_cells(cells: list[tuple[str, str, str]]) -> list[Flag]:
    """Flags for the code cells ``(label, source, kind)`` of one notebook, in order; ``kind``
    is ``COURSE`` (the course's own code: only its imports are noted, for later cells),
    ``ANSWER`` (an answer cell) or ``STUDENT`` (a cell the student added or changed)."""
    modules: dict[str, str] = {}
    flags: list[Flag] = []
    for label, source, kind in cells:
        answer = kind == ANSWER
        code = python_source(source)
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue  # a syntax error only fails the student's own cell
        reader = _Reader(modules, answer)
        reader.visit(tree)
        if kind == COURSE:
            continue
        found = reader.found + _uses_test_data(tree, reader.bound)
        lines = code.splitlines()
        for line, what in sorted(set(found)):
            text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
            magic = re.match(r"get_ipython\(\)\.run_(line|cell)_magic\('(\w+)'", text)
            if magic and magic.group(2) in SAFE_MAGICS and what.startswith("uses get_ipython"):
                continue
            flags.append(Flag(label, line, what, text[:100]))
    return flags

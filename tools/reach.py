"""Which ``helpers`` definitions a lab reaches, and a hash of each.

A lab's stored outputs depend on the code that ran, not on whole files. Starting from the
``helpers`` names a notebook's code cells use, this follows, through the syntax trees, every
name each reached definition uses, and every module whose import a reached statement runs:

- a *definition* (a top-level function or class) is hashed as its syntax tree without
  docstrings, so comments, docstrings and formatting do not count;
- a *module* is hashed as its top-level statements other than function and class
  definitions (imports, constants, ``__all__``): importing it runs them.

Adding a function nobody calls, editing a comment, or adding a new module leaves every lab's
fingerprint unchanged; an edit to a reached statement changes the fingerprint of exactly the
labs that reach it.

Names are resolved statically: ``from .x import y``, ``from . import x``, ``import helpers.x``,
attribute chains on a helpers module (``helpers.load_mnist``, ``fid.kid``), and the lazy
exports of ``helpers/__init__.py`` (its ``_LAZY`` table, read by its ``__getattr__``).
Anything reached that way but resolved only at run time (``importlib`` with a computed
name) is caught by the executor's cross-check: a helpers module the kernel loaded that this
analysis did not reach is stamped by a hash of its whole file.
"""
from __future__ import annotations

import ast
import copy
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "helpers"
LAZY_TABLE = "_LAZY"
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass
class Module:
    """One parsed helpers module."""

    name: str  # dotted: "helpers.data"
    file: str  # relative to the root: "helpers/data.py"
    tree: ast.Module
    is_package: bool
    definitions: dict[str, ast.stmt] = field(default_factory=dict)  # top-level def/class/assign
    bindings: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # imports
    lazy: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (module, attribute)

    @property
    def package(self) -> str:
        """The package that relative imports in this module start from."""
        return self.name if self.is_package else self.name.rpartition(".")[0]

    @property
    def top_level(self) -> list[ast.stmt]:
        """The statements an import runs beyond defining functions and classes."""
        return [s for s in self.tree.body if not isinstance(s, _DEFINITIONS)]


def strip_docstrings(node: ast.AST) -> ast.AST:
    """A copy of ``node`` whose function, class and module bodies lose their docstrings."""
    node = copy.deepcopy(node)
    for child in ast.walk(node):
        if isinstance(child, (*_DEFINITIONS, ast.Module)) and child.body:
            first = child.body[0]
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):
                child.body = child.body[1:] or [ast.Pass()]
    return node


def dump(node) -> str:
    """``ast.dump`` without the fields that are ``None`` or an empty list.

    Python versions add such fields (3.12 gives every function and class ``type_params=[]``)
    and print them differently (3.13 leaves them out), so leaving them out makes one piece of
    code hash alike under every Python the labs run on.
    """
    if isinstance(node, ast.AST):
        fields = ((name, getattr(node, name, None)) for name in node._fields)
        shown = [f"{name}={dump(value)}" for name, value in fields
                 if value is not None and not (isinstance(value, list) and not value)]
        return f"{type(node).__name__}({', '.join(shown)})"
    if isinstance(node, list):
        return f"[{', '.join(dump(item) for item in node)}]"
    return repr(node)


def digest(nodes: list[ast.AST]) -> str:
    """sha256 of the syntax trees of ``nodes`` (no line numbers, no docstrings, no empty
    fields: the same under every Python version that parses them alike)."""
    text = "\n".join(dump(strip_docstrings(n)) for n in nodes)
    return hashlib.sha256(text.encode()).hexdigest()


def _import_bindings(statement: ast.stmt, package: str,
                     known: set[str]) -> dict[str, tuple[str, str | None]]:
    """Names that an import statement binds to helpers modules or their attributes.

    ``(module, None)`` binds a module; ``(module, attribute)`` an attribute of one.
    """
    out: dict[str, tuple[str, str | None]] = {}
    if isinstance(statement, ast.Import):
        for alias in statement.names:
            if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                if alias.asname:
                    out[alias.asname] = (alias.name, None)
                else:  # `import helpers.x` binds `helpers`
                    out[PACKAGE] = (PACKAGE, None)
    elif isinstance(statement, ast.ImportFrom):
        if statement.level:
            parts = package.split(".")
            base = ".".join(parts[:len(parts) - statement.level + 1])
            base = f"{base}.{statement.module}" if statement.module else base
        else:
            base = statement.module or ""
        if base != PACKAGE and not base.startswith(PACKAGE + "."):
            return out
        for alias in statement.names:
            if alias.name == "*":
                continue
            submodule = f"{base}.{alias.name}"
            out[alias.asname or alias.name] = ((submodule, None) if submodule in known
                                               else (base, alias.name))
    return out


def _imported_modules(statement: ast.stmt, package: str, known: set[str]) -> set[str]:
    """The helpers modules an import statement runs (their packages included)."""
    modules = set()
    if isinstance(statement, ast.Import):
        modules = {a.name for a in statement.names if a.name in known}
    elif isinstance(statement, ast.ImportFrom):
        modules = {module for module, _ in _import_bindings(statement, package, known).values()}
    with_parents = set()
    for module in modules:
        parts = module.split(".")
        with_parents |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    return with_parents & known


def _lazy_table(tree: ast.Module, package: str) -> dict[str, tuple[str, str]]:
    """``_LAZY = {"name": ("module", "attribute"), ...}`` read as name -> (module, attribute)."""
    for statement in tree.body:
        if (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)
                and statement.targets[0].id == LAZY_TABLE
                and isinstance(statement.value, ast.Dict)):
            table = ast.literal_eval(statement.value)
            return {name: (f"{package}.{module}", attribute)
                    for name, (module, attribute) in table.items()}
    return {}


def package_sources(root: Path) -> dict[str, str]:
    """``{"helpers/x.py": source text}`` for every module under ``root/helpers``."""
    return {p.relative_to(root).as_posix(): p.read_text()
            for p in sorted((root / PACKAGE).rglob("*.py"))}


def parse_package(sources: dict[str, str]) -> dict[str, Module]:
    """Every module of ``sources`` (as from :func:`package_sources`), parsed, by dotted name."""
    names = {}
    for file in sources:
        parts = Path(file).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        names[".".join(parts[:-1] if is_package else parts)] = (file, is_package)
    known = set(names)
    modules = {}
    for name, (file, is_package) in names.items():
        tree = ast.parse(sources[file], filename=file)
        module = Module(name, file, tree, is_package)
        for statement in tree.body:
            if isinstance(statement, _DEFINITIONS):
                module.definitions[statement.name] = statement
            elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
                targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                for target in targets:
                    for node in ast.walk(target):
                        if isinstance(node, ast.Name):
                            module.definitions[node.id] = statement
            elif isinstance(statement, (ast.Import, ast.ImportFrom)):
                module.bindings.update(_import_bindings(statement, module.package, known))
        module.lazy = _lazy_table(tree, module.package)
        modules[name] = module
    return modules


def code_of_notebook(sources: list[str]) -> ast.Module:
    """The code cells as one module; IPython magics and shell lines are left out."""
    body = []
    for source in sources:
        if source.lstrip().startswith("%%"):
            continue
        lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
        body += ast.parse("\n".join(lines)).body
    return ast.Module(body=body, type_ignores=[])


class Reach:
    """Follows names from a notebook through ``modules``; collects what it reaches."""

    def __init__(self, modules: dict[str, Module]):
        self.modules = modules
        self.known = set(modules)
        self.reached_modules: set[str] = set()
        self.reached_definitions: set[tuple[str, str]] = set()

    # -- what a piece of code uses -------------------------------------------------------------
    def follow(self, nodes: list[ast.AST], scope: Module | None, package: str,
               bindings: dict[str, tuple[str, str | None]]) -> None:
        """Reach what ``nodes`` use, resolving names in ``scope`` (None: a notebook)."""
        bindings = dict(bindings)
        for node in nodes:  # imports anywhere in the code run when it runs
            for child in ast.walk(node):
                if isinstance(child, (ast.Import, ast.ImportFrom)):
                    bindings.update(_import_bindings(child, package, self.known))
                    for module in _imported_modules(child, package, self.known):
                        self.reach_module(module)
        for node in nodes:
            for child in ast.walk(node):
                if isinstance(child, ast.Attribute):
                    chain = self._chain(child)
                    if chain:
                        self._resolve_chain(chain, scope, bindings)
                elif isinstance(child, ast.Name):
                    self._resolve_chain([child.id], scope, bindings)

    @staticmethod
    def _chain(node: ast.Attribute) -> list[str] | None:
        """``a.b.c`` as ["a", "b", "c"]; None when the base is not a plain name."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        return [node.id, *reversed(parts)]

    def _resolve_chain(self, chain: list[str], scope: Module | None,
                       bindings: dict[str, tuple[str, str | None]]) -> None:
        head, rest = chain[0], chain[1:]
        if head in bindings:
            module, attribute = bindings[head]
        elif scope is not None and head in scope.definitions:
            self.reach_definition(scope.name, head)
            return
        else:
            return  # a builtin, a local variable, or another library
        if attribute is not None:
            self.reach_name(module, attribute)
            return
        self.reach_module(module)
        for part in rest:  # helpers.fid.kid: walk down while the chain names modules
            if f"{module}.{part}" in self.known:
                module = f"{module}.{part}"
                self.reach_module(module)
            else:
                self.reach_name(module, part)
                return

    # -- reaching ------------------------------------------------------------------------------
    def reach_module(self, name: str) -> None:
        """Importing ``name`` runs its packages' and its own top-level statements."""
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            module = ".".join(parts[:i])
            if module in self.reached_modules or module not in self.modules:
                continue
            self.reached_modules.add(module)
            scope = self.modules[module]
            decorators = [d for s in scope.tree.body if isinstance(s, _DEFINITIONS)
                          for d in s.decorator_list]
            self.follow(scope.top_level + decorators, scope, scope.package, scope.bindings)

    def reach_name(self, module: str, name: str) -> None:
        """Reach what ``module.name`` is: a definition, a re-export, a lazy export or a module."""
        if f"{module}.{name}" in self.known:
            self.reach_module(f"{module}.{name}")
            return
        scope = self.modules.get(module)
        if scope is None:
            return
        self.reach_module(module)
        if name in scope.definitions:
            self.reach_definition(module, name)
        elif name in scope.bindings:
            target, attribute = scope.bindings[name]
            if attribute is None:
                self.reach_module(target)
            else:
                self.reach_name(target, attribute)
        elif name in scope.lazy:
            if "__getattr__" in scope.definitions:
                self.reach_definition(module, "__getattr__")
            self.reach_name(*scope.lazy[name])
        # anything else is not defined there: the lab would fail on it when run

    def reach_definition(self, module: str, name: str) -> None:
        key = (module, name)
        if key in self.reached_definitions:
            return
        self.reached_definitions.add(key)
        scope = self.modules[module]
        self.reach_module(module)
        node = scope.definitions[name]
        if isinstance(node, _DEFINITIONS):
            self.follow([node], scope, scope.package, scope.bindings)
        # a top-level assignment is part of its module's top-level statements, already followed

    # -- the result ----------------------------------------------------------------------------
    def fingerprint(self) -> dict[str, str]:
        """``{"helpers/x.py": top-level hash, "helpers/x.py::name": definition hash, ...}``."""
        out = {}
        for name in self.reached_modules:
            module = self.modules[name]
            out[module.file] = digest([ast.Module(body=module.top_level or [ast.Pass()],
                                                  type_ignores=[])])
        for module_name, name in self.reached_definitions:
            module = self.modules[module_name]
            node = module.definitions[name]
            if isinstance(node, _DEFINITIONS):
                out[f"{module.file}::{name}"] = digest([node])
        return dict(sorted(out.items()))


def reach_of(code_cells: list[str], package: dict[str, str]) -> Reach:
    """Follow the helpers names that notebook ``code_cells`` use through ``package``
    (``{"helpers/x.py": source}``, as from :func:`package_sources`)."""
    reach = Reach(parse_package(package))
    reach.follow([code_of_notebook(code_cells)], None, "", {})
    return reach

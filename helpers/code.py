"""The code that trains a model, as one hash: what :func:`helpers.checkpoints.train_once` keys a
checkpoint by, beside its configuration.

:func:`code_key` follows each function, class or model it is given through every name it uses
that is the book's own code, and hashes each definition it reaches:

- *own code* is a function or class defined in a notebook (module ``__main__``) or in the
  ``helpers`` package; library code (torch, keras, numpy) is not followed, its version belongs
  to the environment, not to the book;
- a function's names are looked up in its globals, its closure and its default values; a
  helpers module reached by a name (``helpers.fit_torch``) is followed attribute by attribute,
  so the training loop a lab calls is part of the key;
- a class contributes its methods and its simple class attributes, and its own base classes;
- a model contributes the classes of its own layers (``nn.Module`` subclasses of a notebook,
  a subclassed ``keras.Model``); its architecture made of library layers is what the
  configuration records (``repr(model)``, ``model.to_json()``);
- a definition is hashed as its syntax tree without docstrings, so comments, docstrings and
  layout do not count; where Python keeps no source (code made by ``exec``, a lambda in the
  middle of an expression that does not parse alone) it is hashed as its bytecode, which a
  reformat leaves as it is but another Python version changes.

A change to any reached definition changes the key, so weights trained by other code are not
loaded; code the trainer does not reach (an initialiser called before it, say) is passed to
:func:`code_key` explicitly.
"""
from __future__ import annotations

import ast
import copy
import functools
import hashlib
import inspect
import textwrap
import types
from collections.abc import Iterable
from typing import Any

OWN = ("__main__", "helpers")

__all__ = ["OWN", "code_key"]


def code_key(*objects: Any, own: Iterable[str] = OWN) -> str:
    """sha256 (hex) of the code of ``objects`` (functions, classes, models, or dicts, lists and
    tuples of them) and of all own code they reach; ``own`` names the modules (and packages)
    whose code counts."""
    if not objects:
        raise ValueError("code_key needs at least one function, class or model")
    own = tuple(own)
    if not own or not all(isinstance(name, str) and name for name in own):
        raise ValueError(f"own must name one or more modules, got {own!r}")
    walker = _Walker(own)
    for obj in objects:
        walker.top(obj)
    return hashlib.sha256("\n".join(walker.parts).encode()).hexdigest()


class _Walker:
    def __init__(self, own: tuple[str, ...]) -> None:
        self.own = own
        self.seen: set[int] = set()
        self.parts: list[str] = []

    def is_own(self, module: str | None) -> bool:
        return module is not None and any(module == o or module.startswith(o + ".")
                                          for o in self.own)

    def top(self, obj: Any) -> None:
        """An object passed in: hashed wherever it is defined (what it reaches only where
        that is own code); containers are opened here, and only here."""
        if isinstance(obj, dict):
            for key in sorted(obj, key=str):
                self.parts.append(f"[{key!r}]")
                self.top(obj[key])
        elif isinstance(obj, (list, tuple)):
            for item in obj:
                self.top(item)
        elif isinstance(obj, functools.partial) or inspect.ismethod(obj):
            self.top(obj.func if isinstance(obj, functools.partial) else obj.__func__)
            if isinstance(obj, functools.partial):
                for arg in (*obj.args, *obj.keywords.values()):
                    self.follow(arg)
        elif inspect.isfunction(obj):
            self.function(obj)
        elif inspect.isclass(obj):
            self.klass(obj)
        elif callable(obj) or hasattr(obj, "__dict__"):
            self.model(obj)
        else:
            raise TypeError(f"code_key takes functions, classes and models, got "
                            f"{type(obj).__name__}")

    def follow(self, value: Any) -> None:
        if isinstance(value, functools.partial):
            self.follow(value.func)
            for arg in (*value.args, *value.keywords.values()):
                self.follow(arg)
        elif isinstance(value, (staticmethod, classmethod)):
            self.follow(value.__func__)
        elif isinstance(value, property):
            for accessor in (value.fget, value.fset, value.fdel):
                self.follow(accessor)
        elif inspect.ismethod(value):
            self.follow(value.__func__)
        elif inspect.isfunction(value):
            if self.is_own(value.__module__):
                self.function(value)
        elif inspect.isclass(value):
            if self.is_own(value.__module__):
                self.klass(value)
        elif not inspect.ismodule(value) and not isinstance(value, (str, bytes, int, float)):
            self.model(value)

    def model(self, value: Any) -> None:
        """The own classes of an object and, for a model, of its layers."""
        if id(value) in self.seen:
            return
        self.seen.add(id(value))
        layers = []
        modules = getattr(value, "modules", None)  # torch.nn.Module
        if callable(modules) and hasattr(value, "named_parameters"):
            layers = list(modules())
        elif callable(getattr(value, "_flatten_layers", None)):  # keras.Layer and Model
            layers = list(value._flatten_layers(include_self=True))
        for cls in [type(value), *(type(layer) for layer in layers)]:
            if self.is_own(cls.__module__):
                self.klass(cls)

    def function(self, fn: types.FunctionType) -> None:
        code = fn.__code__
        if id(code) in self.seen:
            return
        self.seen.add(id(code))
        self.parts.append(f"def {fn.__module__}.{fn.__qualname__}\n{_text(fn)}")
        names = sorted(_names(code))
        for name in names:
            if name in fn.__globals__:
                self.named(fn.__globals__[name], names)
        for cell in fn.__closure__ or ():
            try:
                self.follow(cell.cell_contents)
            except ValueError:  # an empty cell: the variable is not bound yet
                pass
        for default in (*(fn.__defaults__ or ()), *(fn.__kwdefaults__ or {}).values()):
            self.follow(default)

    def named(self, value: Any, names: list[str]) -> None:
        """A global a function uses; an own module is followed by the attribute names the
        function uses (the same list: attribute names sit beside global names in bytecode)."""
        if not inspect.ismodule(value):
            self.follow(value)
            return
        if not self.is_own(value.__name__) or id(value) in self.seen:
            return
        self.seen.add(id(value))
        for name in names:
            try:
                attribute = getattr(value, name)
            except (AttributeError, ImportError):
                continue
            if not inspect.ismodule(attribute):
                self.follow(attribute)

    def klass(self, cls: type) -> None:
        if id(cls) in self.seen:
            return
        self.seen.add(id(cls))
        bases = ", ".join(f"{b.__module__}.{b.__qualname__}" for b in cls.__bases__)
        self.parts.append(f"class {cls.__module__}.{cls.__qualname__}({bases})")
        for name, value in sorted(vars(cls).items()):
            if isinstance(value, (types.FunctionType, staticmethod, classmethod, property)):
                self.follow(value)
            elif not name.startswith("__") and isinstance(
                    value, (bool, int, float, str, tuple, type(None))):
                self.parts.append(f"{cls.__qualname__}.{name} = {value!r}")
        for base in cls.__bases__:
            if self.is_own(base.__module__):
                self.klass(base)


def _names(code: types.CodeType) -> set[str]:
    """The global and attribute names of ``code`` and of the code nested in it."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def _text(fn: types.FunctionType) -> str:
    """The syntax tree of ``fn`` without docstrings, or its bytecode where that fails."""
    try:
        source = textwrap.dedent(inspect.getsource(fn))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return _bytecode(fn.__code__, fn.__doc__)
    return ast.dump(_strip_docstrings(tree))


def _bytecode(code: types.CodeType, doc: str | None = None) -> str:
    consts = list(code.co_consts)
    if doc is not None and consts and consts[0] == doc:
        consts = consts[1:]
    shown = [_bytecode(c) if isinstance(c, types.CodeType) else repr(c) for c in consts]
    return (f"{code.co_code.hex()}|{code.co_names}|{code.co_varnames}|{code.co_freevars}|"
            f"{shown}")


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    tree = copy.deepcopy(tree)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree

"""Check that parzen's public API is documented: run by ``make docs`` before mkdocs, and by tests/test_docs.py.

It walks every public name: ``parzen.__all__`` (a module named there is walked in turn), each
module of the API reference (`PUBLIC_MODULES`), and the public methods and properties of every
public class, following the class's parzen bases. It reports:

- a module, class, function, method or property without a docstring;
- a function, method or class (its constructor) with parameters whose docstring has no
  ``Args:`` section naming each of them (``*args``/``**kwargs`` included);
- an ``Args:`` entry naming a parameter the signature does not have (mkdocstrings warns too);
- a public method that overrides a method its base class documents (a pruner's ``should_prune``,
  an optuna sampler's ``sample_relative``) may go without a docstring: the base's is its
  documentation, and mkdocstrings does not show undocumented members;
- a module-level constant without an attribute docstring (a string literal right after its
  assignment, which is where griffe and mkdocstrings read it).

Docstrings are Google style (``Args:``, ``Returns:``, ``Raises:``), the style mkdocstrings
renders. A dataclass or named tuple may name its fields under ``Attributes:`` instead.

It also checks that every public name is on a page of docs/reference (`unreferenced`).

Usage: ``python docs/check_api.py`` (exit status 1 and one line per problem when something is missing).
Names that come from other libraries (``partial`` is ``functools.partial``, inherited
scikit-learn methods) are theirs to document, and skipped.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.util
import inspect
import logging
import re
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# The modules of the API reference, besides ``parzen`` itself and the modules in ``parzen.__all__``.
PUBLIC_MODULES = [
    "parzen.plotting",
    "parzen.tracking",
    "parzen.sklearn",
    "parzen.integration.optuna",
    "parzen.integration.ray",
    "parzen.algorithms.base",
    "parzen.executors.base",
    "parzen.driver.observers",
    "parzen.pruning.pruners",
    "parzen.storage.store",
    "parzen.testing",
    "parzen.testing.algorithms",
    "parzen.testing.executors",
]

_SECTION = re.compile(r"^(Args|Arguments|Parameters|Attributes|Keyword Args|Keyword Arguments|Other Parameters):\s*$")
_ENTRY = re.compile(r"^(\*{0,2}[A-Za-z_]\w*)\s*(\([^)]*\))?\s*:(\s|$)")


ARGS_SECTIONS = ("Args", "Arguments", "Parameters")
KEYWORD_SECTIONS = ("Keyword Args", "Keyword Arguments", "Other Parameters")


def documented_names(doc: str, sections: tuple[str, ...] = ARGS_SECTIONS) -> set[str]:
    """The parameter names a Google-style docstring documents in the given sections (stars stripped)."""
    names: set[str] = set()
    lines = inspect.cleandoc(doc).splitlines()
    i = 0
    while i < len(lines):
        match = _SECTION.match(lines[i])
        i += 1
        if not match or match.group(1) not in sections:
            continue
        indent = None
        while i < len(lines) and (not lines[i].strip() or lines[i][0].isspace()):
            line = lines[i]
            i += 1
            if not line.strip():
                continue
            width = len(line) - len(line.lstrip())
            if indent is None:
                indent = width
            if width == indent:
                entry = _ENTRY.match(line.strip())
                if entry:
                    names.add(entry.group(1).lstrip("*"))
    return names


def _own_doc(obj: Any) -> str | None:
    """The object's own docstring (not one inherited from a base class, which griffe does not show)."""
    doc = getattr(obj, "__doc__", None)
    return doc if isinstance(doc, str) and doc.strip() else None


def _is_parzen(obj: Any) -> bool:
    """Whether `obj` is defined in parzen (other libraries document their own names)."""
    module = getattr(obj, "__module__", None) or ""
    return module == "parzen" or module.startswith("parzen.")


def _parameters(obj: Callable[..., Any], *, bound: bool) -> tuple[list[str], str | None] | None:
    """The parameters a docstring must name and the ``**kwargs`` one (None when there is no signature to read).

    Parameters named with a leading underscore are private by the same convention as names.
    """
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    parameters = list(signature.parameters.values())
    if bound and parameters and parameters[0].name in ("self", "cls"):
        parameters = parameters[1:]
    kwargs = next((p.name for p in parameters if p.kind is inspect.Parameter.VAR_KEYWORD), None)
    return [p.name for p in parameters if not p.name.startswith("_")], kwargs


class Checker:
    """Walks the public API once and collects one message per problem."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.seen: set[int] = set()
        self.seen_members: set[tuple[int, str]] = set()
        self.checked = 0
        self.collecting = False
        self.class_paths: dict[int, str] = {}  # a public class -> the first path it is reached by
        self.instance_paths: dict[int, str] = {}  # the class of a public instance -> the instance's path

    def report(self, where: str, what: str) -> None:
        """Note one problem, as ``path: what is wrong``."""
        self.problems.append(f"{where}: {what}")

    # -- callables ---------------------------------------------------------------------------

    def check_args(
        self, where: str, doc: str, params: list[str], *, kwargs: str | None = None, fields_ok: bool = False
    ) -> None:
        """Every parameter named in Args: (a dataclass's fields may be under Attributes:), and no stranger.

        A ``**kwargs`` parameter is documented by naming it in Args: or by naming the keywords it
        takes under Keyword Args: (as `tpe.suggest` does its options).
        """
        named = documented_names(doc, ARGS_SECTIONS)
        fields = documented_names(doc, ("Attributes",)) if fields_ok else set()
        keywords = documented_names(doc, KEYWORD_SECTIONS)
        missing = [p for p in params if p not in named | fields and not (p == kwargs and keywords)]
        if missing and not named | fields:
            self.report(where, f"no Args: section (parameters: {', '.join(params)})")
        elif missing:
            self.report(where, f"Args: does not name {', '.join(missing)}")
        extra = sorted(named - set(params))
        if extra:
            self.report(where, f"Args: names {', '.join(extra)}, not in the signature")

    def check_function(self, where: str, fn: Any, *, bound: bool) -> None:
        """A function or method (`bound`: its first parameter is self or cls): a docstring, its parameters in Args:."""
        self.checked += 1
        doc = _own_doc(fn)
        if doc is None:
            self.report(where, "no docstring")
            return
        found = _parameters(fn, bound=bound)
        if found and found[0]:
            self.check_args(where, doc, found[0], kwargs=found[1])

    def check_class(self, where: str, cls: type) -> None:
        """A class: its docstring, its constructor's parameters, its public methods and properties.

        While collecting (the first pass), only note the path the class is first reached by.
        """
        if self.collecting:
            if "'s class" in where:  # reached through an instance (pyll's scope): its own name wins
                self.instance_paths.setdefault(id(cls), where)
            else:
                self.class_paths.setdefault(id(cls), where)
            return
        if id(cls) in self.seen:
            return
        self.seen.add(id(cls))
        where = self.class_paths.get(id(cls), where)
        self.checked += 1
        doc = _own_doc(cls)
        if doc is None:
            self.report(where, "no docstring")
        init = cls.__dict__.get("__init__") or cls.__dict__.get("__new__")
        if init is not None and _is_parzen_callable(init, cls) and doc is not None:
            found = _parameters(cls, bound=False)
            if found and found[0]:
                init_doc = _own_doc(init) or ""
                fields = dataclasses.is_dataclass(cls) or _is_namedtuple(cls)
                # the constructor's parameters go in the class docstring (or __init__'s, which mkdocstrings merges)
                self.check_args(where, doc + "\n\n" + init_doc, found[0], kwargs=found[1], fields_ok=fields)
        for owner, name, member in _members(cls):
            if (id(owner), name) in self.seen_members or (owner is not cls and id(owner) in self.class_paths):
                continue  # an inherited member is checked once, with the public class that defines it
            self.seen_members.add((id(owner), name))
            path = f"{where}.{name}" if owner is cls else f"{owner.__module__}.{owner.__qualname__}.{name}"
            self.check_member(path, member, _documented_in_base(owner, name))

    def check_member(self, where: str, member: Any, documented_in_base: bool = False) -> None:
        """One member of a class: a property needs a docstring, a method what a function needs."""
        if documented_in_base and _own_doc(getattr(member, "__func__", member)) is None:
            self.checked += 1  # an override without a docstring: the base's documents it (and it is not shown)
        elif isinstance(member, property):
            self.checked += 1
            if _own_doc(member) is None and _own_doc(member.fget) is None:
                self.report(where, "property without a docstring")
        elif isinstance(member, (staticmethod, classmethod)):
            self.check_function(where, member.__func__, bound=isinstance(member, classmethod))
        elif inspect.isfunction(member):
            self.check_function(where, member, bound=True)

    # -- modules -----------------------------------------------------------------------------

    def check_module(self, name: str, shown: str | None = None) -> None:
        """Check a module and its public names, reported under `shown` (the path users import it by)."""
        try:
            module = importlib.import_module(name)
        except ImportError as error:
            if error.name is None or error.name.split(".")[0] == "parzen":
                raise
            self.check_source(name)  # an optional dependency is missing (Ray Tune): read the source
            return
        if id(module) in self.seen:
            return
        self.seen.add(id(module))
        self.checked += 1
        if _own_doc(module) is None:
            self.report(shown or name, "module without a docstring")
        for attr in public_names(module):
            self.check_name(module, attr, shown or name)

    def check_name(self, module: types.ModuleType, attr: str, shown: str) -> None:
        """One public name of a module, by what it is (module, class, function, instance, constant)."""
        where = f"{shown}.{attr}"
        value = getattr(module, attr)
        if isinstance(value, types.ModuleType):
            if value.__name__.startswith("parzen"):
                self.check_module(value.__name__, where)
        elif inspect.isclass(value):
            if _is_parzen(value):
                self.check_class(where, value)
        elif inspect.isfunction(value):
            if _is_parzen(value) and id(value) not in self.seen:
                self.seen.add(id(value))
                self.check_function(where, value, bound=False)
        elif callable(value) and _is_parzen(type(value)):
            self.check_class(f"{where}'s class {type(value).__name__}", type(value))
        elif isinstance(value, logging.Logger):
            pass  # a module's logger is not API
        elif not callable(value) and _is_parzen(type(value)):
            self.check_class(f"{where}'s class {type(value).__name__}", type(value))
        elif not callable(value):
            self.checked += 1
            if not has_attribute_docstring(module, attr):
                self.report(where, "constant without a docstring (a string literal after its assignment)")

    def check_source(self, name: str) -> None:
        """Check a module from its source alone, as griffe reads it: its own classes and functions."""
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ImportError(f"no module {name}")
        tree = ast.parse(Path(spec.origin).read_text())
        self.checked += 1
        if ast.get_docstring(tree) is None:
            self.report(name, "module without a docstring")
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
                self.check_source_function(f"{name}.{node.name}", node, bound=False)
            elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                self.check_source_class(f"{name}.{node.name}", node)

    def check_source_function(self, where: str, node: ast.FunctionDef | ast.AsyncFunctionDef, *, bound: bool) -> None:
        """`check_function` for a function read from source."""
        self.checked += 1
        doc = ast.get_docstring(node)
        if doc is None:
            self.report(where, "no docstring")
            return
        if any(isinstance(d, ast.Name) and d.id == "property" for d in node.decorator_list):
            return
        args = node.args
        params = [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]
        params += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
        static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list)
        if bound and not static and params and params[0] in ("self", "cls"):
            params = params[1:]
        if params:
            self.check_args(where, doc, params)

    def check_source_class(self, where: str, node: ast.ClassDef) -> None:
        """`check_class` for a class read from source (its own methods only: its bases are not read)."""
        self.checked += 1
        doc = ast.get_docstring(node)
        if doc is None:
            self.report(where, "no docstring")
        for item in node.body:
            if not isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if item.name == "__init__" and doc is not None:
                args = item.args
                params = [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]][1:]
                params += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
                if params:
                    self.check_args(where, doc + "\n\n" + (ast.get_docstring(item) or ""), params)
            elif not item.name.startswith("_"):
                self.check_source_function(f"{where}.{item.name}", item, bound=True)


def _is_parzen_callable(fn: Any, cls: type) -> bool:
    """Whether a constructor is parzen's (a dataclass's generated __init__ counts as its class's)."""
    return _is_parzen(fn) or (_is_parzen(cls) and getattr(fn, "__qualname__", "").startswith(cls.__qualname__))


def _documented_in_base(owner: type, name: str) -> bool:
    """Whether `name` overrides a method that a base class of `owner` documents (a protocol's method)."""
    for base in owner.__mro__[1:]:
        if base is not object and name in vars(base):
            member = vars(base)[name]
            return _own_doc(getattr(member, "__func__", getattr(member, "fget", member))) is not None
    return False


def _is_namedtuple(cls: type) -> bool:
    """Whether `cls` is a named tuple (its fields may be documented under Attributes:)."""
    return issubclass(cls, tuple) and hasattr(cls, "_fields")


def _members(cls: type) -> Iterator[tuple[type, str, Any]]:
    """Public methods and properties of `cls`, from it and its parzen bases, with the class defining each."""
    seen: set[str] = set()
    for klass in cls.__mro__:
        if klass is object or not _is_parzen(klass):
            continue
        for name, member in vars(klass).items():
            if name.startswith("_") or name in seen:
                continue
            seen.add(name)
            yield klass, name, member


def public_names(module: types.ModuleType) -> list[str]:
    """`__all__`, else the names a module defines itself and does not mark private."""
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    own = []
    for name, value in vars(module).items():
        if name.startswith("_"):
            continue
        if isinstance(value, types.ModuleType):
            continue
        imported = (inspect.isclass(value) or inspect.isfunction(value)) and value.__module__ != module.__name__
        # an imported name is another module's; but a class from a private module is a re-export (InvalidResult)
        if imported and not (inspect.isclass(value) and _is_private_parzen_module(value.__module__)):
            continue
        if not (inspect.isclass(value) or callable(value)) and not _assigned_in(module, name):
            continue
        own.append(name)
    return own


def _is_private_parzen_module(name: str) -> bool:
    """Whether a module of parzen is private (a component starts with ``_``): its names are public only re-exported."""
    parts = name.split(".")
    return parts[0] == "parzen" and any(part.startswith("_") for part in parts[1:])


def _tree(module: types.ModuleType) -> ast.Module | None:
    """The parsed source of `module` (None for a module without a file)."""
    path = getattr(module, "__file__", None)
    return ast.parse(Path(path).read_text()) if path else None


def _assigned_in(module: types.ModuleType, name: str) -> bool:
    """Whether `module` itself assigns `name` at its top level (rather than importing it)."""
    tree = _tree(module)
    return tree is not None and any(name in _targets(node) for node in tree.body)


def _targets(node: ast.stmt) -> list[str]:
    """The names a top-level statement assigns."""
    if isinstance(node, ast.Assign):  # ``a = ...`` and ``a, b = ...`` (one docstring after it documents each)
        names = []
        for target in node.targets:
            elements = target.elts if isinstance(target, ast.Tuple) else [target]
            names += [e.id for e in elements if isinstance(e, ast.Name)]
        return names
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


def has_attribute_docstring(module: types.ModuleType, name: str) -> bool:
    """Whether `name` is assigned, in the module that defines it, with a string literal right after."""
    for candidate in _defining_modules(module, name):
        tree = _tree(candidate)
        if tree is None:
            continue
        body = tree.body
        for i, node in enumerate(body):
            if name in _targets(node) and i + 1 < len(body):
                after = body[i + 1]
                if isinstance(after, ast.Expr) and isinstance(getattr(after.value, "value", None), str):
                    return True
    return False


def _defining_modules(module: types.ModuleType, name: str) -> Iterator[types.ModuleType]:
    """The module itself, then the modules it imports `name` from (followed through re-exports)."""
    yield module
    tree = _tree(module)
    if tree is None:
        return
    for node in ast.walk(tree):
        imports_it = isinstance(node, ast.ImportFrom) and any((a.asname or a.name) == name for a in node.names)
        if imports_it and node.module and node.level == 0:
            yield from _defining_modules(importlib.import_module(node.module), name)
    lazy = getattr(module, "_LAZY", None)
    if isinstance(lazy, dict) and name in lazy and lazy[name] != module.__name__:
        yield from _defining_modules(importlib.import_module(lazy[name]), name)


def _resolve(identifier: str) -> Any:
    """The object a ``::: identifier`` line renders (a module, or an attribute of one)."""
    parts = identifier.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            value: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:]:
            value = getattr(value, part)
        return value
    raise ImportError(identifier)


def unreferenced(reference: Path) -> list[str]:
    """Public names no page under `reference` renders (``::: name``, its module's, or, for a constant, its name).

    An object counts as rendered when a ``:::`` line names it or a module that exports it;
    a module that cannot be imported here (Ray Tune missing) covers the names under its path.
    A constant griffe cannot render (names bound by tuple unpacking) may be named in the text.
    """
    text = "\n".join(page.read_text() for page in sorted(reference.rglob("*.md")))
    identifiers = re.findall(r"^::: *([\w.]+)", text, re.M)
    rendered: set[int] = set()
    paths: set[str] = set()
    for identifier in identifiers:
        paths.add(identifier)
        try:
            value = _resolve(identifier)
        except (ImportError, AttributeError):
            continue
        rendered.add(id(value))
        if isinstance(value, types.ModuleType):
            rendered.update(id(getattr(value, name)) for name in public_names(value))
    missing = []
    for path, value in _public_objects():
        external = (inspect.isclass(value) or callable(value)) and not _is_parzen(value)
        if external or id(value) in rendered or any(path == p or path.startswith(p + ".") for p in paths):
            continue
        if not callable(value) and f"`{path.rsplit('.', 1)[-1]}`" in text:
            continue
        missing.append(path)
    return missing


def _public_objects() -> Iterator[tuple[str, Any]]:
    """(path, object) of every top-level public name, each module of the reference and its public names."""
    parzen = importlib.import_module("parzen")
    for name in parzen.__all__:
        yield f"parzen.{name}", getattr(parzen, name)
    for module_name in PUBLIC_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            yield module_name, None
            continue
        yield module_name, module
        for name in public_names(module):
            yield f"{module_name}.{name}", getattr(module, name)


def check() -> Checker:
    """Walk the whole public API and return the checker with its problems."""
    checker = Checker()
    for collecting in (True, False):  # first where each public class is reached, then the check
        checker.collecting = collecting
        checker.seen.clear()
        checker.seen_members.clear()
        checker.problems.clear()
        checker.checked = 0
        checker.class_paths = {**checker.instance_paths, **checker.class_paths}
        checker.check_module("parzen")
        for name in PUBLIC_MODULES:
            checker.check_module(name)
    return checker


def main() -> int:
    """Print each problem and return 1 if there is any."""
    checker = check()
    for problem in checker.problems:
        print(problem)
    missing = unreferenced(Path(__file__).parent / "reference")
    for path in missing:
        print(f"{path}: on no page of docs/reference (add a ::: line)")
    print(
        f"check_api: {checker.checked} public names checked, {len(checker.problems)} problems, "
        f"{len(missing)} not on a reference page",
        file=sys.stderr,
    )
    return 1 if checker.problems or missing else 0


if __name__ == "__main__":
    sys.exit(main())

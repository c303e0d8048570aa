"""Notes for an instructor's review, never a refusal: the shapes of code that may carry a
derivative by forward mode (docs/allowlist.md, "Forward-mode tricks"). Dual numbers are
ordinary arithmetic on the student's own objects, so no rule refuses them; a class that
overloads arithmetic is where they live. A note costs no marks; it points a reader."""

from __future__ import annotations

import ast

ARITHMETIC = frozenset(
    "__add__ __radd__ __sub__ __rsub__ __mul__ __rmul__ __truediv__ __rtruediv__ __pow__ __rpow__ __neg__".split()
)
"""The special methods a number-like class defines; two or more make a class worth a look."""


def _own_arithmetic(node: ast.ClassDef) -> set[str]:
    """The arithmetic special methods a class body binds: defs, and assignments
    (`__mul__ = mul`, `__radd__ = __add__`)."""
    names: set[str] = set()
    for s in node.body:
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(s.name)
        elif isinstance(s, (ast.Assign, ast.AnnAssign)):
            targets = s.targets if isinstance(s, ast.Assign) else [s.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names & ARITHMETIC


def _attached(tree: ast.AST) -> dict[str, set[str]]:
    """Arithmetic special methods put on a class from outside it: `Dual.__mul__ = f` and
    `setattr(Dual, "__mul__", f)`, by the class's name."""
    found: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.attr in ARITHMETIC:
                    found.setdefault(t.value.id, set()).add(t.attr)
        elif (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr"
            and len(node.args) >= 2 and isinstance(node.args[0], ast.Name)
            and isinstance(node.args[1], ast.Constant) and node.args[1].value in ARITHMETIC
        ):  # fmt: skip
            found.setdefault(node.args[0].id, set()).add(str(node.args[1].value))
    return found


def review_notes(source: str | bytes, file: str = "") -> list[str]:
    """One line per class with two or more arithmetic special methods (a dual-number or jet
    class looks like this), counting those it inherits from classes of the same file and
    those put on it from outside; or [] where the source does not parse (the scan says why).
    A red team's dual numbers kept one method per class along a chain (`__add__` in a base,
    `__mul__` in its subclass) and had no note. A class that adds none of its own to what a
    noted base has is not noted again. Only these layouts: tangents carried in plain tuples
    by plain functions leave no such shape (docs/allowlist.md)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return []
    where = f"{file}:" if file else "line "
    classes = [node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    attached = _attached(tree)
    own = {id(c): _own_arithmetic(c) | attached.get(c.name, set()) for c in classes}
    by_name: dict[str, list[ast.ClassDef]] = {}
    for c in classes:
        by_name.setdefault(c.name, []).append(c)

    def bases(c: ast.ClassDef) -> list[ast.ClassDef]:
        return [b for base in c.bases if isinstance(base, ast.Name) for b in by_name.get(base.id, []) if b is not c]

    # Each class's arithmetic with its bases', once per class and without recursion: a chain of
    # a thousand classes is legal Python, and a recursive walk over a diamond of multiple
    # inheritance is exponential (a reviewer's 22 levels took 34 s against the scan's budget).
    totals: dict[int, set[str]] = {}
    for root in classes:
        stack: list[tuple[ast.ClassDef, bool]] = [(root, False)]
        on_path: set[int] = set()
        while stack:
            c, expanded = stack.pop()
            if id(c) in totals:
                continue
            if expanded:
                on_path.discard(id(c))
                totals[id(c)] = set(own[id(c)]).union(*(totals.get(id(b), set()) for b in bases(c)))
                continue
            if id(c) in on_path:  # (a cycle of names: class A(B) and class B(A))
                continue
            on_path.add(id(c))
            stack.append((c, True))
            stack += [(b, False) for b in bases(c) if id(b) not in totals and id(b) not in on_path]

    notes = []
    for c in classes:
        defined = totals[id(c)]
        # Noted where the arithmetic first comes together: in a class that adds some itself, or
        # that inherits it from two bases (class Dual(_Add, _Mul)); not again in a subclass of a
        # noted class that adds none.
        together = len(defined) >= 2 and not any(len(totals[id(b)]) >= 2 for b in bases(c))
        if together or (len(defined) >= 2 and own[id(c)]):
            inherited = defined - own[id(c)]
            from_bases = f"; {', '.join(sorted(inherited))} from its bases" if inherited else ""
            notes.append(
                f"{where}{c.lineno}: class `{c.name}` defines arithmetic ({', '.join(sorted(defined))}{from_bases}):"
                " read it for forward-mode differentiation (dual numbers) by hand"
            )
    return notes


COPIED_NODES = 45
"""The size (AST nodes) from which a function matching the shipped solution's is telling: a
one-line relu_grad is written alike by anyone."""
COPIED_FUNCTIONS = 3
"""How many such functions make a note."""


def _canonical(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """A function's structure without its name, docstring, annotations, or the names of its
    arguments and variables (each renamed by order of first appearance): a copy with renamed
    variables and new comments reads the same."""
    import copy

    node = copy.deepcopy(node)
    names: dict[str, str] = {}

    def rename(name: str) -> str:
        return names.setdefault(name, f"v{len(names)}")

    for sub in ast.walk(node):
        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
            sub.name, sub.returns = "f", None
            body = sub.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                if isinstance(body[0].value.value, str) and len(body) > 1:
                    sub.body = body[1:]
        elif isinstance(sub, ast.arg):
            sub.arg, sub.annotation = rename(sub.arg), None
        elif isinstance(sub, ast.Name):
            sub.id = rename(sub.id)
        elif isinstance(sub, ast.AnnAssign):
            sub.annotation = ast.Constant(None)
    return ast.dump(node, annotate_fields=False, include_attributes=False)


def _defs(source: str | bytes) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return []
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _size(node: ast.AST) -> int:
    return sum(1 for _ in ast.walk(node))


def _shipped() -> tuple[dict[str, str], int]:
    """The canonical form of every telling function of handwritten/ (what `handgrad solution`
    writes), read from its files without importing it: canonical form -> its name; and the
    largest one's size, past which no function of a submission can match."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("handwritten")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    found: dict[str, str] = {}
    largest = 0
    for folder in folders:
        for file in sorted(Path(folder).glob("*.py")):
            for node in _defs(file.read_bytes()):
                size = _size(node)
                if size >= COPIED_NODES:
                    found.setdefault(_canonical(node), node.name)
                    largest = max(largest, size)
    return found, largest


def copied_note(sources: dict[str, str | bytes]) -> list[str]:
    """One line where COPIED_FUNCTIONS or more functions of a submission (its files by name)
    are the shipped solution's (handwritten/, which `pip install` brings and `handgrad
    solution` writes out) up to names, comments, docstrings and annotations: the answer key
    copied. [] otherwise. A note for a reader, never a mark: a student may derive the same code."""
    shipped, largest = _shipped()
    matched = []
    for file, source in sources.items():
        for node in _defs(source):
            # (only sizes a shipped function has: _canonical copies and dumps the tree recursively,
            # and a legal 2500-term sum in a submission's function ran past Python's recursion limit)
            if COPIED_NODES <= _size(node) <= largest and _canonical(node) in shipped:
                matched.append(f"{file}:{node.lineno} {node.name}" if file else f"{node.name} (line {node.lineno})")
    if len(matched) < COPIED_FUNCTIONS:
        return []
    shown = ", ".join(matched[:6]) + (f" and {len(matched) - 6} more" if len(matched) > 6 else "")
    return [
        f"{len(matched)} functions are handgrad's own solution (handwritten/, `handgrad solution`) up to names "
        f"and comments: {shown}; read it for copying"
    ]

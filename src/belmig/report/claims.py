"""Claim conditions: small expressions over ledger keys, evaluated safely (no eval()).

    claims.evaluate("pct.income_regular.yes > 50 and mean.security_lt > 8", values)

Names are dotted ledger keys; numbers, comparisons (chained too), and/or/not, + - * /,
unary minus, abs(), min() and max() are allowed. Anything else is a ClaimError.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Mapping
from functools import lru_cache

_CMP = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_BIN = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_FUNCS = {"abs": abs, "min": min, "max": max}


class ClaimError(ValueError):
    pass


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _parse(expr: str) -> ast.Expression:
    try:
        return ast.parse(expr.strip(), mode="eval")
    except SyntaxError as exc:
        raise ClaimError(f"cannot parse condition {expr!r}: {exc.msg}") from None


def names(expr: str) -> set[str]:
    """Ledger keys a condition refers to (a new set each time; a check asks for the same
    conditions' keys hundreds of times: they are worked out once per condition)."""
    return set(_names(expr))


@lru_cache(maxsize=4096)
def _names(expr: str) -> frozenset[str]:
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        key = _dotted(node)
        if key is not None and key not in _FUNCS:
            found.add(key)
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(_parse(expr).body)
    return frozenset(found)


def evaluate(expr: str, values: Mapping[str, float]) -> bool:
    """Evaluate a condition; unknown keys and disallowed syntax raise ClaimError."""
    return bool(_eval(_parse(expr).body, values, expr))


def value_of(node: ast.AST | str, values: Mapping[str, float] | None = None) -> float:
    """The number an expression (or an expression node) evaluates to."""
    if isinstance(node, str):
        expr, node = node, _parse(node).body
    else:
        expr = ast.unparse(node)
    return _eval(node, values or {}, expr)


def _eval(root: ast.AST, values: Mapping[str, float], expr: str):
    def ev(node: ast.AST):
        key = _dotted(node)
        if key is not None:
            if key not in values:
                raise ClaimError(f"condition {expr!r} uses {key!r}, which is not in the ledger")
            v = values[key]
            if v is None:
                raise ClaimError(f"condition {expr!r}: {key!r} has no value")
            return v
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.BoolOp):
            vals = [bool(ev(v)) for v in node.values]
            return all(vals) if isinstance(node.op, ast.And) else any(vals)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return not ev(node.operand)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
            return _BIN[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.Compare):
            left = ev(node.left)
            for op, comp in zip(node.ops, node.comparators):
                right = ev(comp)
                if type(op) not in _CMP or not _CMP[type(op)](left, right):
                    if type(op) not in _CMP:
                        raise ClaimError(f"operator not allowed in {expr!r}")
                    return False
                left = right
            return True
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _FUNCS
            and not node.keywords
        ):
            return _FUNCS[node.func.id](*[ev(a) for a in node.args])
        raise ClaimError(f"condition {expr!r}: {ast.dump(node)[:60]} is not allowed")

    return ev(root)

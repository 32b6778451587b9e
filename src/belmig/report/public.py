"""The values that leave the build: only those the report editions print, plus their bases.

Publish only what is printed (issue 14): ``report/_variables.yml``, the reviewers' values page
(``notebooks/executed/values.html``), the appendix's values table and the reviewers' index all
show the entries this function returns, never the full ledger. Disclosure control plugs in
here: :data:`FILTERS` holds functions ``(entries) -> entries`` applied in order after the
selection (the privacy stage adds its suppression filters); nothing else decides what is public.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from belmig.core.keys import parse as parse_key
from belmig.core.ledger import Entry

Filter = Callable[[dict[str, Entry]], dict[str, Entry]]
FILTERS: list[Filter] = []


def bases_of(key: str) -> list[str]:
    """The ledger keys of the base(s) a value rests on: ``pct.q.o`` -> ``n.q``;
    ``pctby.by.lvl.q.o`` -> ``nby.by.lvl.q``; means -> ``n.q``."""
    try:
        k = parse_key(key)
    except ValueError:
        return []
    parts = list(k.parts)
    if k.family in ("pct", "count", "wpct", "wci") and len(parts) == 2:
        return [f"n.{parts[0]}"]
    if k.family in ("mean", "wmean", "wci_mean") and len(parts) == 1:
        return [f"n.{parts[0]}"]
    if k.family == "pctby" and len(parts) == 4:
        return [f"nby.{parts[0]}.{parts[1]}.{parts[2]}"]
    return []


def public_keys(entries: Mapping[str, Entry], used_keys: Iterable[str]) -> list[str]:
    """The used keys (in order) and then their bases, each once, all present in the ledger."""
    out: dict[str, None] = {}
    used = [k for k in dict.fromkeys(used_keys) if k in entries]
    for k in used:
        out[k] = None
    for k in used:
        for b in bases_of(k):
            if b in entries:
                out.setdefault(b, None)
    return list(out)


def public_entries(entries: Mapping[str, Entry], used_keys: Iterable[str]) -> dict[str, Entry]:
    """The public subset of the ledger: `used_keys` and their bases, after every filter."""
    shown = {k: entries[k] for k in public_keys(entries, used_keys)}
    for f in FILTERS:
        shown = f(shown)
    return shown

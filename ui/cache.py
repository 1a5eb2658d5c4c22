"""The one way pages and ui/ modules cache a read (docs/architecture.md "Architecture").

st.cache_data is shared by every session of the server process, so a cached answer must reach
only people it was computed for. A read decorated with `cached` keeps the service's signature,
`read(ctx, actor, *args, **kwargs)`, and:
- its key always holds the actor's role and name, then every other argument (tenant, range,
  filters, a ledger version...): two roles, or two people, never share an answer;
- the AppContext goes to st.cache_data as the unhashed `_ctx` (one per process, not hashable);
- a spinner says what is being computed while a miss runs;
- `.clear()` drops that read's answers after an action changed them.
The service still checks the permission whenever the read actually runs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

import streamlit as st

from control_plane.auth.permissions import Actor, Role
from control_plane.context import AppContext

P = ParamSpec("P")
R = TypeVar("R")


class CachedRead(Generic[P, R]):
    """`read` behind st.cache_data, keyed by (role, name, *args, **kwargs)."""

    def __init__(self, read: Callable[Concatenate[AppContext, Actor, P], R], *, ttl: float, spinner: str,
                 max_entries: int | None) -> None:
        def keyed(_ctx: AppContext, role: str, name: str, *args: Any, **kwargs: Any) -> R:
            return read(_ctx, Actor(name, Role(role)), *args, **kwargs)

        # st.cache_data tells caches apart by module and qualified name: this inner function would
        # otherwise be one cache for every read (and `.clear()` would clear them all).
        keyed.__module__, keyed.__qualname__, keyed.__name__ = read.__module__, read.__qualname__, read.__name__
        self._keyed = st.cache_data(keyed, ttl=ttl, show_spinner=spinner, max_entries=max_entries)
        self.spinner = spinner
        functools.update_wrapper(self, read)

    def __call__(self, ctx: AppContext, actor: Actor, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._keyed(ctx, Role(actor.role).value, actor.name, *args, **kwargs)

    def clear(self) -> None:
        self._keyed.clear()


def cached(*, ttl: float, spinner: str, max_entries: int | None = None
           ) -> Callable[[Callable[Concatenate[AppContext, Actor, P], R]], CachedRead[P, R]]:
    """Decorate `read(ctx, actor, ...)`; `ttl` in seconds; `spinner` says what a miss computes."""
    def decorate(read: Callable[Concatenate[AppContext, Actor, P], R]) -> CachedRead[P, R]:
        return CachedRead(read, ttl=ttl, spinner=spinner, max_entries=max_entries)

    return decorate

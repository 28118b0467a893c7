"""``model_cache``: ``functools.cache`` for functions of a model class, as mypy reads it.

A model class held in a ``type[StripeModel]`` variable is hashable (classes hash by
identity), but mypy does not see it as ``Hashable`` when the class derives from an
untyped base, as every Django model does here (Django ships no type hints), and it
refuses the call of an ``lru_cache`` function with it (python/mypy#11470). This
decorator is ``functools.cache`` itself at run time; to mypy it keeps the decorated
function's own signature, which the cached function takes as it is.
"""

from __future__ import annotations

import functools
from typing import Callable, ParamSpec, Protocol, TypeVar, cast

__all__ = ["CachedFunction", "model_cache"]

P = ParamSpec("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class CachedFunction(Protocol[P, R_co]):
    """A function with ``functools.cache``'s methods."""

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...

    def cache_clear(self) -> None: ...


def model_cache(func: Callable[P, R]) -> CachedFunction[P, R]:
    """``functools.cache(func)``, typed with ``func``'s parameters (see the module)."""
    # The wrapper takes exactly func's arguments; typeshed types them as Hashable.
    return cast("CachedFunction[P, R]", functools.cache(func))

"""Entrypoints that check each call's arguments against a signature worked out once.

Nameko's `Entrypoint.check_signature` calls `inspect.getcallargs`, which rebuilds the method's
signature on every call: ~21 µs here against ~4 µs for `Signature.bind` on a signature kept from
the first call, and ~10% of the XML-RPC logger's CPU under load (py-spy). Same check, same
`IncorrectSignature` for a call that does not fit (its message is `bind`'s: "missing a required
argument: 'payload'", "too many positional arguments").
"""

from __future__ import annotations

import inspect
from typing import Any

from nameko.exceptions import IncorrectSignature


class CheckedOnceSignature:
    """Mix into an `Entrypoint` subclass, before it: `class Rpc(CheckedOnceSignature, Rpc)`."""

    _signature: inspect.Signature | None = None

    def check_signature(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        signature = self._signature
        if signature is None:
            method = getattr(self.container.service_cls, self.method_name)  # type: ignore[attr-defined]
            signature = self._signature = inspect.signature(method)
        try:
            signature.bind(None, *args, **kwargs)  # None stands for `self`: the method is unbound
        except TypeError as exc:
            raise IncorrectSignature(str(exc)) from None

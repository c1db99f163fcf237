"""What every local service shares: started on entering a ``with`` block, stopped on leaving it."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Service:
    """A process or server with ``start()`` and ``stop()``; subclasses provide both."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

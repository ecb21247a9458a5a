"""A real SMTP server (aiosmtpd) on a free loopback port, in a thread of its own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.fixtures.redis_server import free_port

#: Recipients the server refuses permanently, refuses blaming itself, or blames on itself at DATA.
REFUSED = "nobody@example.com"
BUSY = "busy@example.com"
CLOSING = "closing@example.com"


class Mailbox:
    """The aiosmtpd handler: keeps what it accepts, refuses the recipients above."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address == REFUSED:
            return "550 5.1.1 no such user"
        if address == CLOSING:
            return "421 4.3.2 service shutting down"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if BUSY in envelope.rcpt_tos:
            return "421 4.3.2 service not available, closing channel"
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


class SmtpService:
    """The running server's address and what it received."""

    def __init__(self) -> None:
        self.mailbox = Mailbox()
        self.port = free_port()
        self.controller: Controller | None = None

    def start(self) -> None:
        """Listen on the port (a new controller each time: one cannot start twice)."""
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        """Stop listening and drop the open sessions; safe to call twice."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def received(self) -> list[Any]:
        return self.mailbox.messages


@pytest.fixture
def smtp_service() -> Iterator[SmtpService]:
    """An SMTP server accepting mail on loopback, stopped at teardown."""
    service = SmtpService()
    service.start()
    try:
        yield service
    finally:
        service.stop()

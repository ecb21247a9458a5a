"""The email breaker against a real SMTP server on loopback, and against a closed port."""

from __future__ import annotations

import smtplib
from typing import Any

import django
import pytest
from asgiref.sync import sync_to_async
from django.core import mail
from django.core.mail import EmailMessage
from django.test import override_settings

from django_stability.breakers import CircuitBreaker, CircuitOpenError
from django_stability.breakers.integrations import BreakerEmailBackend
from tests.breakers.integrations.conftest import fake_breaker
from tests.breakers.integrations.smtp_service import (
    BUSY,
    CLOSING,
    REFUSED,
    SmtpService,
    smtp_service,
)
from tests.clock import FakeClock
from tests.fixtures.redis_server import free_port

__all__ = ["smtp_service"]

BACKEND = "django_stability.breakers.integrations.BreakerEmailBackend"
# Django 6.1 configures mail through MAILERS and deprecates EMAIL_BACKEND.
MAILERS = django.VERSION >= (6, 1)


@pytest.fixture
def guard(clock: FakeClock) -> CircuitBreaker:
    """The mail breaker: opens after two failures, tries again after 30 s."""
    return fake_breaker(clock, "email", failure_threshold=2, reset_timeout=30)


def connection(port: int, guard: CircuitBreaker, **kwargs: Any) -> Any:
    """The wrapper around Django's SMTP backend, built as Django 6.1's MAILERS builds it."""
    return BreakerEmailBackend(
        alias="default", host="127.0.0.1", port=port, timeout=2, breaker=guard, **kwargs
    )


def message(to: str = "someone@example.com") -> EmailMessage:
    return EmailMessage("Hello", "Body", "app@example.com", [to])


def test_messages_reach_the_server(
    smtp_service: SmtpService, guard: CircuitBreaker
) -> None:
    """Mail sent through the wrapper arrives at the SMTP server, and the breaker stays closed."""
    backend = connection(smtp_service.port, guard)
    assert backend.send_messages([message(), message("other@example.com")]) == 2
    assert len(smtp_service.received) == 2
    assert backend.send_messages([]) == 0
    assert guard.state == "closed"


def test_send_mail_through_the_setting(
    smtp_service: SmtpService, guard: CircuitBreaker
) -> None:
    """send_mail() with the wrapper configured (MAILERS on Django 6.1, EMAIL_BACKEND before) sends through SMTP."""
    configured: dict[str, Any]
    if MAILERS:
        options = {"host": "127.0.0.1", "port": smtp_service.port, "breaker": guard}
        configured = {"MAILERS": {"default": {"BACKEND": BACKEND, "OPTIONS": options}}}
    else:
        configured = {
            "EMAIL_BACKEND": BACKEND,
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": smtp_service.port,
        }
    with override_settings(**configured):
        assert mail.send_mail("Hi", "Body", "app@example.com", ["a@example.com"]) == 1
    assert len(smtp_service.received) == 1


async def test_async_code_sends_through_a_thread(guard: CircuitBreaker) -> None:
    """Django's mail API is sync only: async code sends through sync_to_async and the breaker still counts."""
    backend = connection(free_port(), guard)
    for _ in range(2):
        with pytest.raises(ConnectionRefusedError):
            await sync_to_async(backend.send_messages)([message()])
    assert await guard.astate() == "open"


def test_closed_port_counts_and_opens_the_breaker(
    guard: CircuitBreaker, clock: FakeClock, smtp_service: SmtpService
) -> None:
    """Connection refused counts; once open, sending raises CircuitOpenError until reset_timeout."""
    backend = connection(free_port(), guard)
    for _ in range(2):
        with pytest.raises(ConnectionRefusedError):
            backend.send_messages([message()])
    assert guard.state == "open"
    working = connection(smtp_service.port, guard)
    with pytest.raises(CircuitOpenError):
        working.send_messages([message()])
    assert smtp_service.received == []
    clock.advance(31)
    assert working.send_messages([message()]) == 1
    assert guard.state == "closed"


def test_fail_silently_returns_zero(guard: CircuitBreaker) -> None:
    """With fail_silently, a refused connection and then the open breaker both answer 0 sent."""
    backend = connection(free_port(), guard, fail_silently=True)
    assert backend.send_messages([message()]) == 0
    assert backend.send_messages([message()]) == 0
    assert guard.state == "open"
    assert backend.send_messages([message()]) == 0
    assert backend.open() is None


def test_open_goes_through_the_breaker(
    smtp_service: SmtpService, guard: CircuitBreaker
) -> None:
    """Opening the connection (``with connection:``) is refused while the breaker is open."""
    backend = connection(smtp_service.port, guard)
    with backend:
        assert backend.send_messages([message()]) == 1
    guard.command("open")
    with pytest.raises(CircuitOpenError):
        backend.open()
    backend.close()


def test_server_gone_mid_connection_counts(
    smtp_service: SmtpService, guard: CircuitBreaker
) -> None:
    """A server that goes away under an open connection counts as a failure."""
    backend = connection(smtp_service.port, guard)
    backend.open()
    smtp_service.stop()
    with pytest.raises(OSError):
        backend.send_messages([message()])
    assert guard.snapshot().failures == 1
    backend.close()


def test_refused_recipients_do_not_count(
    smtp_service: SmtpService, guard: CircuitBreaker
) -> None:
    """A recipient the server refuses is the message's problem: raised, never counted."""
    backend = connection(smtp_service.port, guard)
    for _ in range(3):
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            backend.send_messages([message(REFUSED)])
    assert guard.state == "closed"


@pytest.mark.parametrize("to", [BUSY, CLOSING])
def test_server_trouble_replies_count(
    smtp_service: SmtpService, guard: CircuitBreaker, to: str
) -> None:
    """A 421 'service not available' reply, at DATA or at RCPT, counts as the server's failure."""
    backend = connection(smtp_service.port, guard)
    for _ in range(2):
        with pytest.raises(smtplib.SMTPException):
            backend.send_messages([message(to)])
    assert guard.state == "open"


def test_subclass_picks_the_wrapped_backend_and_breaker(clock: FakeClock) -> None:
    """A subclass names the wrapped backend and breaker; the default breaker is 'email'."""

    class Locmem(BreakerEmailBackend):
        wrapped_backend = "django.core.mail.backends.locmem.EmailBackend"

    mail.outbox = []
    assert Locmem().send_messages([message()]) == 1
    assert len(mail.outbox) == 1
    assert Locmem().breaker == "email"
    guard = fake_breaker(clock, "email:other")
    guard.command("open")
    with pytest.raises(CircuitOpenError):
        Locmem(breaker=guard).send_messages([message()])


@pytest.mark.parametrize(
    ("exc", "counts"),
    [
        (ConnectionRefusedError(), True),
        (TimeoutError(), True),
        (smtplib.SMTPServerDisconnected(), True),
        (smtplib.SMTPConnectError(421, b"busy"), True),
        (smtplib.SMTPAuthenticationError(535, b"bad login"), False),
        (smtplib.SMTPSenderRefused(553, b"no", "app@example.com"), False),
        (smtplib.SMTPNotSupportedError(), False),
        (ValueError(), False),
    ],
)
def test_is_mail_failure_blames_only_the_server(exc: Exception, counts: bool) -> None:
    """Transport trouble counts; a login, sender or feature problem is the project's, not the server's."""
    from django_stability.breakers.integrations import is_mail_failure

    assert is_mail_failure(exc) is counts

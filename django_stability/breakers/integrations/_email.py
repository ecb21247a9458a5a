"""The email breaker: an email backend that sends through another one, behind a breaker."""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from typing import Any

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage
from django.utils.module_loading import import_string

from django_stability.breakers._breaker import CircuitBreaker
from django_stability.breakers._errors import CircuitOpenError
from django_stability.breakers.integrations import _guard

# SMTP replies that blame the server, not the message: service not
# available (421), local error in processing (451), insufficient storage (452).
_SERVER_TROUBLE = frozenset({421, 451, 452})


def is_mail_failure(exc: BaseException) -> bool:
    """Whether ``exc`` says the mail server could not be reached or cannot take mail now.

    Socket errors, refused connections, timeouts, TLS failures, a dropped
    connection and the replies 421, 451 and 452 count. A refused recipient
    or sender, a rejected message or a failed login is the message's or the
    configuration's problem and does not.

    .. versionadded:: 0.1
    """
    if isinstance(exc, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError):
        return True
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code in _SERVER_TROUBLE
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return any(code in _SERVER_TROUBLE for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPException):
        return False
    return isinstance(exc, OSError)


class BreakerEmailBackend(BaseEmailBackend):
    """An email backend that opens connections and sends messages through a breaker.

    ``EMAIL_BACKEND = "django_stability.breakers.integrations.BreakerEmailBackend"``
    (or, from Django 6.1, ``MAILERS = {"default": {"BACKEND": ...}}``) sends
    with Django's SMTP backend behind the breaker ``"email"``. To wrap
    another backend or use another breaker, subclass it and point the
    setting at the subclass::

        class TransactionalEmail(BreakerEmailBackend):
            wrapped_backend = "myproject.mail.ProviderBackend"
            breaker = "email:provider"

    or give ``wrapped_backend`` / ``breaker`` in the mailer's ``OPTIONS``
    (Django 6.1) or to ``get_connection()``. Other options and keyword
    arguments (``host``, ``port``...) go to the wrapped backend.

    While the breaker is open, :meth:`send_messages` raises
    :class:`CircuitOpenError`, or returns 0 with ``fail_silently=True``; the
    wrapped backend's errors are raised (or, with ``fail_silently``, 0 is
    returned) as usual, and count when :func:`is_mail_failure` says so.

    Args:
        fail_silently: Return 0 instead of raising when mail cannot be sent.
        wrapped_backend: Dotted path of the backend that sends.
        breaker: The breaker's name or object.
        alias: The ``MAILERS`` alias (Django 6.1 passes it); handed on to
            the wrapped backend.
        **kwargs: The wrapped backend's own arguments (``host``, ``port``...).

    .. versionadded:: 0.1
    """

    wrapped_backend = "django.core.mail.backends.smtp.EmailBackend"
    breaker: str | CircuitBreaker = "email"

    def __init__(
        self,
        fail_silently: bool = False,
        *,
        wrapped_backend: str | None = None,
        breaker: str | CircuitBreaker | None = None,
        alias: str | None = None,
        **kwargs: Any,
    ) -> None:
        # Django 6.1's MAILERS builds backends with their alias and OPTIONS as
        # keyword arguments (and deprecates fail_silently on the base class);
        # older versions with get_connection()'s. Both reach here.
        if alias is None:
            super().__init__()
        else:
            super().__init__(alias=alias)
        self.fail_silently = fail_silently
        backend = import_string(wrapped_backend or self.wrapped_backend)
        # The wrapped backend is never silent (its default), so that failures
        # can be counted; fail_silently is honoured here instead.
        if alias is not None:
            kwargs["alias"] = alias
        self.wrapped: BaseEmailBackend = backend(**kwargs)
        if breaker is not None:
            self.breaker = breaker

    def _silenced(self, exc: Exception) -> bool:
        return self.fail_silently and isinstance(exc, CircuitOpenError | OSError)

    def open(self) -> bool | None:
        """Open the wrapped backend's connection through the breaker."""
        try:
            return _guard.call(
                _guard.resolve(self.breaker), is_mail_failure, self.wrapped.open
            )
        except Exception as exc:
            if self._silenced(exc):
                return None
            raise

    def close(self) -> None:
        """Close the wrapped backend's connection (not a call the breaker judges)."""
        self.wrapped.close()

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        """Send through the wrapped backend; the number of messages sent.

        Raises:
            CircuitOpenError: the breaker is open (unless ``fail_silently``).
        """
        if not email_messages:
            return 0
        try:
            sent = _guard.call(
                _guard.resolve(self.breaker),
                is_mail_failure,
                self.wrapped.send_messages,
                email_messages,
            )
        except Exception as exc:
            if self._silenced(exc):
                return 0
            raise
        return int(sent or 0)

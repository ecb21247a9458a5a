"""The email breaker: an email backend that sends through another one, behind a breaker."""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Sequence
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

    Connection errors and the replies 421, 451 and 452 count; a refused
    recipient, a rejected message or a failed login does not.

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

    Sends with Django's SMTP backend behind the breaker ``"email"`` unless a
    subclass, the mailer's ``OPTIONS`` or ``get_connection()`` names another
    ``wrapped_backend`` or ``breaker``. While the breaker is open,
    :meth:`send_messages` raises :class:`CircuitOpenError` (returns 0 with
    ``fail_silently``).

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
        self._guard = _guard.Guard(self.breaker, is_mail_failure, self._failed)

    def _failed(self, func: Callable[..., Any], miss: Any, exc: Exception) -> Any:
        """``miss`` when ``fail_silently`` hides ``exc``; raises it otherwise."""
        if self.fail_silently and isinstance(exc, CircuitOpenError | OSError):
            return miss
        raise exc

    def open(self) -> bool | None:
        """Open the wrapped backend's connection through the breaker."""
        return self._guard.call(None, self.wrapped.open)

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
        return int(self._guard.call(0, self.wrapped.send_messages, email_messages) or 0)

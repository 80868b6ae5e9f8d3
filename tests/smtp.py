"""A real SMTP server for tests: mail goes through Django's SMTP backend over a socket.

Use the ``smtp_server`` fixture (``from tests.smtp import smtp_server``): it starts an
``aiosmtpd`` server on a free local port, points Django's SMTP e-mail backend at it and
collects every received message, parsed with the ``email`` package::

    def test_mail(smtp_server, ...):
        ...
        message = smtp_server.wait_for(1)[0]
        assert message["To"] == "a@example.com"
        assert "https://" in smtp_server.text(message)
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


@dataclass
class ReceivedMail:
    """What the server received: parsed messages plus the SMTP envelope."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)  # (MAIL FROM, RCPT TO)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    host: str = "127.0.0.1"
    port: int = 0

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
            self.envelopes.clear()

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        """The messages, once at least ``count`` arrived (the server runs in its own thread)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} e-mail(s), received {len(self.messages)}")

    def to(self, address: str) -> list[EmailMessage]:
        address = address.lower()
        with self._lock:
            return [m for m in self.messages if address in (m.get("To") or "").lower()]

    @staticmethod
    def text(message: EmailMessage) -> str:
        """The plain-text body (the text/plain part of a multipart message)."""
        part = message.get_body(preferencelist=("plain", "html"))
        return part.get_content() if part is not None else ""

    @staticmethod
    def html(message: EmailMessage) -> str:
        part = message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else ""


class _Handler:
    def __init__(self, box: ReceivedMail):
        self.box = box

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls it by this name
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self.box._lock:
            self.box.messages.append(message)
            self.box.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    """Start a local SMTP server and route Django's e-mail to it; yields a ``ReceivedMail``."""
    box = ReceivedMail()
    port = _free_port()
    controller = Controller(_Handler(box), hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    box.port = port
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    try:
        yield box
    finally:
        controller.stop()

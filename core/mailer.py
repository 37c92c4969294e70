"""Outgoing mail: written to the log by default, sent over SMTP when configured."""

import asyncio
import logging
import smtplib
from email.message import EmailMessage
from typing import Protocol

from core.config import Settings

log = logging.getLogger(__name__)


class MailError(Exception):
    """The mail could not be handed over."""


class Mailer(Protocol):
    async def send(self, to: str, subject: str, body: str) -> None:
        """Hand the mail over, or raise MailError."""


class LogMailer:
    """For a machine with no mail set up: the operator reads the mail in the log."""

    async def send(self, to: str, subject: str, body: str) -> None:
        log.info("mail to %s: %s\n%s", to, subject, body)


class SmtpMailer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.settings.mail_from
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        try:
            await asyncio.to_thread(self.deliver, message)
        except (OSError, smtplib.SMTPException) as error:
            raise MailError(f"SMTP {self.settings.smtp_host}: {error}") from error

    def deliver(self, message: EmailMessage) -> None:
        s = self.settings
        with smtplib.SMTP(s.smtp_host or "", s.smtp_port, timeout=30) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password or "")
            smtp.send_message(message)


def mailer_from_settings(settings: Settings) -> Mailer:
    return SmtpMailer(settings) if settings.smtp_host else LogMailer()

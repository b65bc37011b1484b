"""The mailer's settings: the SMTP server and the default sender, checked once when the service
starts (a bad one stops it there). Defaults are in mailer/config.yaml."""

from __future__ import annotations

from email.headerregistry import Address
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

from common.settings import Port, Seconds, ServiceSettings, one_of
from mailer.mail import parse_mailbox

ENCRYPTIONS = ("none", "tls", "ssl")


def _empty_means_none(value: object) -> object:
    # MAIL_ENCRYPTION="" (a variable set but left blank) means no encryption, as unset does.
    return value or "none"


def _mailbox(value: str) -> str:
    return parse_mailbox(value).addr_spec


class SmtpSettings(ServiceSettings):
    """The keys are MAIL_* and FROM_*; the attributes say what they are to an SMTP client."""

    service = "mailer"

    host: str = Field(alias="MAIL_HOST", min_length=1)
    port: Port = Field(alias="MAIL_PORT")
    encryption: Annotated[
        str, BeforeValidator(_empty_means_none), AfterValidator(one_of(*ENCRYPTIONS))
    ] = Field(alias="MAIL_ENCRYPTION")
    username: str = Field(alias="MAIL_USERNAME")
    password: str = Field(alias="MAIL_PASSWORD", repr=False)
    # Seconds to connect, and seconds for the SMTP conversation after that.
    timeout: Seconds = Field(alias="MAIL_TIMEOUT")
    from_name: str = Field(alias="FROM_NAME")
    from_address: Annotated[str, AfterValidator(_mailbox)] = Field(alias="FROM_ADDRESS")

    @property
    def default_sender(self) -> Address:
        """The sender of a mail whose request names none."""
        return Address(display_name=self.from_name, addr_spec=self.from_address)

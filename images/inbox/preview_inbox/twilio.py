"""The part of Twilio's Messages API (2010-04-01) that apps call to send an SMS.

The app points its Twilio API base URL at the inbox. The inbox checks a send request the way
Twilio does for the mistakes an app can make on its own side (no credentials, no recipient,
no sender, no body, a body over 1,600 characters), keeps the message, and answers with a
message resource of the same shape Twilio returns. Nothing is sent anywhere.
"""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl

from .store import Capture, SmsMessage

API_VERSION = "2010-04-01"
MAX_BODY_CHARS = 1600
# How much of a send request the inbox reads, whatever INBOX_MAX_BODY_BYTES says of webhooks.
# A valid request is far smaller: 1,600 characters of four UTF-8 bytes each, percent-encoded,
# come to 19,200 bytes, and the other parameters are short.
MAX_FORM_BYTES = 65_536
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

# The GSM 03.38 default alphabet, and its extension table whose characters count twice.
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True, slots=True)
class TwilioError:
    """An error as Twilio reports it: an HTTP status and a numbered code."""

    status: int
    code: int
    message: str

    def as_json(self) -> dict[str, Any]:
        """The error body Twilio sends."""
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }


NOT_AUTHENTICATED = TwilioError(401, 20003, "Authenticate")
NO_RECIPIENT = TwilioError(400, 21604, "A 'To' phone number is required.")
NO_SENDER = TwilioError(400, 21603, "A 'From' phone number is required.")
NO_BODY = TwilioError(400, 21602, "Message body is required.")
BODY_TOO_LONG = TwilioError(
    400, 21617, "The concatenated message body exceeds the 1600 character limit."
)
PARAMETER_TOO_LONG = TwilioError(400, 21658, "Parameter exceeded character limit")


def not_found(path: str) -> TwilioError:
    """The error Twilio gives for a resource it does not have."""
    return TwilioError(404, 20404, f"The requested resource {path} was not found")


def new_message_sid() -> str:
    """A message SID: "SM" and 32 hexadecimal digits."""
    return f"SM{secrets.token_hex(16)}"


def form_fields(content_type: str | None, body: bytes) -> list[tuple[str, str]]:
    """The fields of a form-encoded request body.

    Twilio reads only form-encoded parameters; a JSON body reads as no parameters at all,
    which is why an app that sends JSON gets "A 'To' phone number is required.".
    """
    media_type = (content_type or FORM_CONTENT_TYPE).split(";")[0].strip().lower()
    if media_type != FORM_CONTENT_TYPE:
        return []
    return parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)


def check_send_request(
    fields: list[tuple[str, str]], has_credentials: bool, truncated: bool
) -> TwilioError | None:
    """The error Twilio would answer to this send request, or None if it would accept it.

    `truncated` says the form was longer than MAX_FORM_BYTES, so `fields` hold its start only.
    The checks run in this order: credentials, body length, a form cut short (some other
    parameter is far too long), recipient, sender, body.
    """
    values = dict(fields)
    has_media = any(name == "MediaUrl" and value for name, value in fields)
    checks = [
        (not has_credentials, NOT_AUTHENTICATED),
        (len(values.get("Body", "")) > MAX_BODY_CHARS, BODY_TOO_LONG),
        (truncated, PARAMETER_TOO_LONG),
        (not values.get("To"), NO_RECIPIENT),
        (not values.get("From") and not values.get("MessagingServiceSid"), NO_SENDER),
        (not values.get("Body") and not has_media and not values.get("ContentSid"), NO_BODY),
    ]
    return next((error for failed, error in checks if failed), None)


def build_message(
    account_sid: str, fields: list[tuple[str, str]], error: TwilioError | None
) -> SmsMessage:
    """The message the inbox keeps for a send request, accepted or refused."""
    values = dict(fields)
    body = values.get("Body", "")
    return SmsMessage(
        sid=new_message_sid(),
        account_sid=account_sid,
        to=values.get("To", ""),
        sender=values.get("From", ""),
        body=body,
        messaging_service_sid=values.get("MessagingServiceSid") or None,
        media_urls=tuple(value for name, value in fields if name == "MediaUrl" and value),
        status="queued" if error is None else "rejected",
        error_code=None if error is None else error.code,
        error_message=None if error is None else error.message,
        num_segments=segment_count(body),
    )


def segment_count(body: str) -> int:
    """How many SMS segments a body takes: GSM-7 when it can, UCS-2 otherwise."""
    if not body:
        return 1
    if all(char in _GSM_BASIC or char in _GSM_EXTENDED for char in body):
        septets = sum(2 if char in _GSM_EXTENDED else 1 for char in body)
        return 1 if septets <= 160 else -(-septets // 153)
    # UCS-2 counts UTF-16 code units: a character outside the BMP takes two.
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else -(-units // 67)


def message_resource(capture: Capture) -> dict[str, Any]:
    """The message resource Twilio returns for a created (or fetched) message."""
    sms = capture.sms
    if sms is None:
        raise ValueError(f"capture {capture.seq} is not an SMS")
    created = format_datetime(datetime.fromtimestamp(capture.received, UTC))
    base = f"/{API_VERSION}/Accounts/{sms.account_sid}/Messages/{sms.sid}"
    return {
        "account_sid": sms.account_sid,
        "api_version": API_VERSION,
        "body": sms.body,
        "date_created": created,
        "date_sent": None,
        "date_updated": created,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": sms.sender or None,
        "messaging_service_sid": sms.messaging_service_sid,
        "num_media": str(len(sms.media_urls)),
        "num_segments": str(sms.num_segments),
        "price": None,
        "price_unit": "USD",
        "sid": sms.sid,
        "status": sms.status,
        "subresource_uris": {"media": f"{base}/Media.json"},
        "to": sms.to,
        "uri": f"{base}.json",
    }


def message_list(account_sid: str, captures: list[Capture]) -> dict[str, Any]:
    """A one-page list of message resources, as Twilio's read endpoint returns it."""
    uri = f"/{API_VERSION}/Accounts/{account_sid}/Messages.json?PageSize=50&Page=0"
    messages = [message_resource(capture) for capture in captures[:50]]
    return {
        "end": max(len(messages) - 1, 0),
        "first_page_uri": uri,
        "messages": messages,
        "next_page_uri": None,
        "page": 0,
        "page_size": 50,
        "previous_page_uri": None,
        "start": 0,
        "uri": uri,
    }

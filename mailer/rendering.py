"""Turn a message into the HTML and plain-text bodies of a mail, from the files in templates/.

The message is user input. The HTML template escapes it (autoescape on), so `<script>` arrives as
text, never as markup. Mail clients ignore or strip `<style>` blocks, so premailer copies the
template's CSS into `style` attributes; the `<style>` block and the class names stay for the
clients that do read them (media queries cannot be inlined).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from premailer import Premailer

TEMPLATES = Path(__file__).with_name("templates")
HTML_TEMPLATE = "mail.html.jinja"
PLAIN_TEMPLATE = "mail.plain.jinja"

_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    # Escaping is on for anything not known to be plain text: a new template is safe by default.
    autoescape=select_autoescape(
        enabled_extensions=("html.jinja",), disabled_extensions=("plain.jinja",), default=True
    ),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n+")


@dataclass(frozen=True)
class RenderedMail:
    plain: str
    html: str


def paragraphs(message: str) -> list[str]:
    """Blank lines separate paragraphs; single line breaks stay inside one (CSS pre-line)."""
    text = message.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    return [part for part in _PARAGRAPH_BREAK.split(text) if part.strip()]


def inline_css(html: str) -> str:
    return Premailer(
        html,
        keep_style_tags=True,
        remove_classes=False,
        strip_important=False,
        # Never fetch anything while rendering: no network, no files named by the document.
        allow_network=False,
        allow_loading_external_files=False,
        cssutils_logging_level=logging.ERROR,
    ).transform()


def render(subject: str, message: str) -> RenderedMail:
    context = {"subject": subject, "message": message, "paragraphs": paragraphs(message)}
    html = _environment.get_template(HTML_TEMPLATE).render(context)
    plain = _environment.get_template(PLAIN_TEMPLATE).render(context)
    return RenderedMail(plain=plain, html=inline_css(html))

"""HTML and plain-text bodies: templates, escaping and CSS inlining."""

import cssutils
import pytest
from lxml import html as lxml_html

from mailer.rendering import TEMPLATES, inline_css, paragraphs, render
from testing.ports import free_port


def template_rules() -> dict[str, dict[str, tuple[str, str]]]:
    """The CSS of the HTML template: selector -> {property: (value, priority)}."""
    source = (TEMPLATES / "mail.html.jinja").read_text()
    css = source.split("<style>", 1)[1].split("</style>", 1)[0]
    sheet = cssutils.parseString(css)
    return {
        rule.selectorText: declarations(rule.style)
        for rule in sheet.cssRules
        if rule.type == rule.STYLE_RULE
    }


def declarations(style) -> dict[str, tuple[str, str]]:
    return {prop.name: (prop.value, prop.priority) for prop in style.getProperties()}


def inline_style(element) -> dict[str, tuple[str, str]]:
    return declarations(cssutils.parseStyle(element.get("style")))


@pytest.fixture
def document():
    rendered = render(subject="Hello", message="First <b>line</b>\nsame paragraph\n\nSecond")
    return lxml_html.document_fromstring(rendered.html)


def test_paragraph_styles_are_inlined_from_the_template_css(document):
    expected = template_rules()[".paragraph"]
    elements = document.find_class("paragraph")

    assert len(elements) == 2
    for element in elements:
        assert inline_style(element) == expected


def test_important_is_kept_in_the_inlined_styles(document):
    (first, _) = document.find_class("paragraph")

    assert inline_style(first)["color"] == ("#1f2937", "important")


def test_classes_and_the_style_block_stay_for_clients_that_read_them(document):
    (style,) = document.iter("style")

    assert "@media (max-width: 480px)" in style.text
    assert document.find_class("card")[0].get("style")


def test_the_message_is_escaped_in_html():
    rendered = render(subject="<i>Hi</i>", message="<script>alert('x')</script>")
    document = lxml_html.document_fromstring(rendered.html)

    assert "&lt;script&gt;alert('x')&lt;/script&gt;" in rendered.html
    assert list(document.iter("script", "i")) == []
    assert document.find_class("paragraph")[0].text == "<script>alert('x')</script>"


def test_the_plain_part_is_the_message_as_written():
    rendered = render(subject="Hi", message="<script>alert('x')</script> & Grüße")

    assert rendered.plain == "<script>alert('x')</script> & Grüße\n"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("one", ["one"]),
        ("one\ntwo", ["one\ntwo"]),
        ("one\n\ntwo", ["one", "two"]),
        ("one\r\n\r\ntwo\r\nthree", ["one", "two\nthree"]),
        ("\n\none\n \n\n\ntwo\n", ["one", "two"]),
    ],
)
def test_blank_lines_separate_paragraphs(message, expected):
    assert paragraphs(message) == expected


def test_inlining_never_fetches_linked_stylesheets(tmp_path):
    local = tmp_path / "red.css"
    local.write_text("p { color: red }")
    page = (
        "<html><head>"
        f'<link rel="stylesheet" href="{local}">'
        f'<link rel="stylesheet" href="http://127.0.0.1:{free_port()}/red.css">'
        "</head><body><p>x</p></body></html>"
    )

    document = lxml_html.document_fromstring(inline_css(page))

    assert document.find(".//p").get("style") is None

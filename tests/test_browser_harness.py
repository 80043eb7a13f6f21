"""The browser harness (tests/browser.py) proves itself on small pages written here:
what it reports a page did, the page did; what it does not report, the page did not do.
Otherwise a test of the report that finds "no request, no error, no dialog" would pass
whatever the page did."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import browser
from tests.browser import Browser, Call, is_blank, pdf_paper, print_to_pdf, read_png

# One worker runs the whole module: its store and its browser are made once.
pytestmark = pytest.mark.xdist_group("browser-harness")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """One headless Chromium for the whole module."""
    with Browser() as started:
        yield started


def page(folder: Path, body: str, head: str = "") -> Path:
    """A small HTML page in ``folder``."""
    path = folder / "page.html"
    path.write_text(
        f'<!doctype html><html><head><meta charset="utf-8">{head}</head><body>{body}</body></html>',
        encoding="utf-8",
    )
    return path


def test_requests_beyond_the_page_are_reported_and_never_reach_anywhere(
    chromium: Browser, tmp_path: Path
) -> None:
    chromium.open(
        page(
            tmp_path,
            '<img src="http://example.com/x.png">'
            "<script>fetch('https://example.org').then("
            "() => document.title = 'reached', () => document.title = 'blocked')</script>",
        )
    )
    assert chromium.requests() == ["http://example.com/x.png", "https://example.org/"]
    assert chromium.evaluate("return document.title") == "blocked"
    assert chromium.evaluate("return document.images[0].naturalWidth") == 0
    # A blocked request is an error in the console, as a failed load is in a browser.
    assert any("example.com/x.png" in message for message in chromium.console_errors())


def test_a_page_that_cannot_be_shown_is_an_error_not_an_empty_page(
    chromium: Browser, tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError):
        chromium.open(tmp_path / "missing.html")
    with pytest.raises(FileNotFoundError):
        print_to_pdf(tmp_path / "missing.html", tmp_path / "missing.pdf")
    # A page that sends the browser elsewhere leaves its error page showing.
    away = page(tmp_path, "<script>location.href = 'https://example.org/'</script>")
    with pytest.raises(AssertionError, match="could not show"):
        chromium.open(away)


def test_console_errors_are_reported_and_a_clean_page_reports_nothing(
    chromium: Browser, tmp_path: Path
) -> None:
    chromium.open(page(tmp_path, "<script>console.error('x')</script>"))
    errors = chromium.console_errors()
    assert len(errors) == 1 and errors[0].endswith('"x"')
    assert chromium.calls() == [Call("console.error", ("x",))]

    chromium.open(page(tmp_path, "<p>Nothing to see.</p><script>let quiet = 1;</script>"))
    assert chromium.console_errors() == []
    assert chromium.requests() == []
    assert chromium.calls() == []


def test_an_uncaught_exception_is_a_console_error(chromium: Browser, tmp_path: Path) -> None:
    chromium.open(page(tmp_path, "<script>undefinedFunction()</script>"))
    assert any("undefinedFunction" in message for message in chromium.console_errors())


def test_dialogs_printing_and_console_calls_are_recorded_and_open_nothing(
    chromium: Browser, tmp_path: Path
) -> None:
    chromium.open(
        page(
            tmp_path,
            "<script>alert(1); confirm('sure?'); prompt('name'); print();"
            "console.log('hello', {a: 1})</script>",
        )
    )
    assert chromium.calls() == [
        Call("alert", ("1",)),
        Call("confirm", ("sure?",)),
        Call("prompt", ("name",)),
        Call("print", ()),
        Call("console.log", ("hello", '{"a":1}')),
    ]
    # No dialog is left open: the page still answers.
    assert chromium.evaluate("return 1 + 1") == 2


def test_an_attribute_handler_that_fires_is_recorded(chromium: Browser, tmp_path: Path) -> None:
    chromium.open(page(tmp_path, '<img src="x" onerror="alert(document.domain)">'))
    assert [call.name for call in chromium.calls()] == ["alert"]
    assert chromium.requests() == [(tmp_path / "x").as_uri()]  # a file beside it counts


def test_content_security_policy_refusals_are_counted(chromium: Browser, tmp_path: Path) -> None:
    chromium.open(
        page(
            tmp_path,
            '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">',
            head='<meta http-equiv="Content-Security-Policy" content="img-src \'none\'">',
        )
    )
    assert [call.name for call in chromium.calls()] == ["securitypolicyviolation"]
    assert chromium.calls()[0].args[0] == "img-src"
    assert [message for message in chromium.console_errors() if "Content Security" in message]


def test_a_coloured_page_is_not_blank_and_is_as_wide_as_asked(
    chromium: Browser, tmp_path: Path
) -> None:
    chromium.open(
        page(
            tmp_path,
            "<h1>Recoveries</h1><p>Some text, in a colour of its own.</p>",
            head="<style>body { background: #33aa66; color: #fff; margin: 0 }"
            " p { height: 1500px }</style>",
        )
    )
    for width, height, mobile in [(1280, 900, False), (390, 844, True)]:
        shot = tmp_path / f"shot-{width}.png"
        size = chromium.screenshot(shot, width, height, mobile=mobile)
        assert size[0] == width and size[1] > height  # the whole page, not the screen only
        assert not is_blank(shot)
        image = read_png(shot)
        assert image.pixel(width - 1, size[1] - 1)[:3] == (0x33, 0xAA, 0x66)


def test_a_white_page_is_blank(chromium: Browser, tmp_path: Path) -> None:
    chromium.open(page(tmp_path, "", head="<style>body { background: #fff }</style>"))
    shot = tmp_path / "white.png"
    assert chromium.screenshot(shot, 1280, 900) == (1280, 900)
    assert is_blank(shot)


def test_the_emulated_colour_scheme_reaches_the_page(chromium: Browser, tmp_path: Path) -> None:
    chromium.open(page(tmp_path, "<p>Hi</p>"))
    dark = "return matchMedia('(prefers-color-scheme: dark)').matches"
    assert chromium.evaluate(dark) is False
    chromium.color_scheme("dark")
    assert chromium.evaluate(dark) is True


def test_a_two_page_document_prints_on_two_pages(chromium: Browser, tmp_path: Path) -> None:
    two = page(tmp_path, '<p>One</p><p style="break-before: page">Two</p>')
    pdf = tmp_path / "two.pdf"
    assert print_to_pdf(two, pdf) == 2
    assert pdf_paper(pdf) == "Letter"  # Chromium's command line knows no other paper
    chromium.open(two)
    for paper in ("A4", "Letter"):
        assert chromium.print_pdf(pdf, paper) == 2
        assert pdf_paper(pdf) == paper


def test_a_missing_browser_skips_on_a_desk_and_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(browser, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no-chromium missing"):
        browser.require_chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI installs chromium"):
        browser.require_chromium()


def test_artefacts_go_where_ci_says_else_to_the_temporary_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RECOVER_ARTEFACTS", str(tmp_path / "kept"))
    assert browser.artefacts_dir() == tmp_path / "kept" and (tmp_path / "kept").is_dir()
    monkeypatch.delenv("RECOVER_ARTEFACTS")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)  # gettempdir() reads TMPDIR again
    assert browser.artefacts_dir() == tmp_path / "recover-artefacts"

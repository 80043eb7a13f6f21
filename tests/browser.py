"""A real headless Chromium for the tests of pages ``recover`` writes (the monthly
report): Debian's ``chromium``, driven through its own ``chromedriver``, both at fixed
paths so that Selenium Manager never looks for (or downloads) another.

The browser has no way out: every request goes to a proxy on the discard port, where
nothing listens, and no host name resolves, so a page that asks for anything beyond
its own file gets an error instead of reaching the network. :class:`Browser` records
what a loaded page tried (:meth:`~Browser.requests`), what it logged as an error
(:meth:`~Browser.console_errors`), and what its scripts called (:meth:`~Browser.calls`):
``alert``, ``confirm``, ``prompt`` and ``print`` are replaced before any script of the
page runs, so none of them can open a dialog, and ``console`` calls and Content
Security Policy violations are counted beside them.

Screenshots are PNG files; :func:`is_blank` reads their pixels with the standard
library alone (Chromium writes 8-bit RGB or RGBA, not interlaced). PDFs are printed by
Chromium's own ``--print-to-pdf`` (:func:`print_to_pdf`, on the paper it chooses) or
by the driven browser on a paper asked for (:meth:`Browser.print_pdf`), and their pages
counted with pypdf. Tests save screenshots in :func:`artefacts_dir`, outside the
repository, for CI to keep.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import struct
import subprocess
import tempfile
import zlib
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urldefrag

import pytest

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

# Seconds: a net for a browser that hangs, never a measure of speed.
SAFETY = 60

# Selenium Manager (the binary that finds and downloads browsers and drivers) reads this:
# with the driver's path given it is never started, and should it ever be, it downloads
# nothing.
os.environ.setdefault("SE_OFFLINE", "true")

# A browser of its own: no first-run pages, no updates, sync or background fetches,
# nothing drawn by a GPU, no sandbox (CI runs as root in a container), and /tmp rather
# than a small /dev/shm.
QUIET = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
# No way out: every request goes to a proxy on the discard port, where nothing listens,
# no name resolves, and WebRTC may not send UDP around the proxy.
OFFLINE = (
    "--proxy-server=http://127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
)

Paper = Literal["A4", "Letter"]
# Width and height, in centimetres.
PAPERS: dict[Paper, tuple[float, float]] = {"A4": (21.0, 29.7), "Letter": (21.59, 27.94)}
_POINTS_PER_CM = 72 / 2.54

# URLs that are no request to anywhere: inline data, and the browser's own pages.
_NOT_REQUESTS = ("data:", "blob:", "about:", "chrome:", "chrome-untrusted:", "devtools:")

# Run in every new document before any script of its own: the dialogs and printing are
# replaced by recorders, console calls and CSP violations are recorded too.
_RECORDER = """
(() => {
  const calls = [];
  Object.defineProperty(window, "__calls", { value: calls });
  const text = (value) => {
    try { return typeof value === "string" ? value : JSON.stringify(value) ?? String(value); }
    catch (error) { return String(value); }
  };
  const record = (name, args) => calls.push({ name, args: Array.from(args, text) });
  for (const name of ["alert", "confirm", "prompt", "print"]) {
    window[name] = function (...args) { record(name, args); };
  }
  for (const level of ["log", "info", "warn", "error", "debug"]) {
    const original = console[level];
    console[level] = function (...args) {
      record("console." + level, args);
      return original.apply(this, args);
    };
  }
  document.addEventListener("securitypolicyviolation", (event) => {
    record("securitypolicyviolation", [event.violatedDirective, event.blockedURI]);
  }, true);
})();
"""

# Resolves once the page has drawn twice more and a moment has passed: what a page
# starts on load (a fetch, an image) has been asked for by then.
_SETTLE = """
const done = arguments[arguments.length - 1];
requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 100)));
"""


def require_chromium() -> None:
    """Skip the test when this machine has no Chromium or ChromeDriver, unless it runs
    in CI (``$CI`` set), which installs both (``.ci/run``): there a missing browser is
    a failure, never a quiet skip."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if not missing:
        return
    reason = f"headless Chromium is not installed ({', '.join(missing)} missing)"
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"{reason}; CI installs chromium and chromium-driver (see .ci/run)")
    pytest.skip(f"{reason}: apt-get install chromium chromium-driver")


def artefacts_dir() -> Path:
    """Where tests leave files for CI to keep (screenshots): ``$RECOVER_ARTEFACTS``,
    else ``recover-artefacts`` in the temporary folder; made if missing."""
    folder = Path(
        os.environ.get("RECOVER_ARTEFACTS")
        or os.path.join(tempfile.gettempdir(), "recover-artefacts")
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass(frozen=True)
class Call:
    """A call a page's script made to a recorded function, its arguments as text."""

    name: str
    args: tuple[str, ...] = ()


class Browser:
    """One headless Chromium, driven through ChromeDriver, in a fresh profile that is
    deleted when the browser closes. Use it as a context manager; :meth:`open` a page,
    then ask what the page did since."""

    def __init__(self) -> None:
        """Nothing starts until the browser is entered."""
        self._profile: str | None = None
        self._driver: WebDriver | None = None
        self._page = ""
        self._console: list[str] = []
        self._requests: list[str] = []

    def __enter__(self) -> Browser:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        require_chromium()
        self._profile = tempfile.mkdtemp(prefix="recover-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in (*QUIET, *OFFLINE, f"--user-data-dir={self._profile}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        try:
            self._driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
            self._driver.execute_cdp_cmd(
                "Page.addScriptToEvaluateOnNewDocument", {"source": _RECORDER}
            )
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Quit the browser and its driver, and delete the profile."""
        if self._driver is not None:
            with contextlib.suppress(Exception):
                self._driver.quit()
            self._driver = None
        if self._profile is not None:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None

    @property
    def driver(self) -> WebDriver:
        """The Selenium driver, for what this class does not wrap."""
        if self._driver is None:
            raise RuntimeError("the browser is not running: use it in a with block")
        return self._driver

    # -- loading a page and what it did --------------------------------------------
    def open(self, page: Path) -> None:
        """Load a file in the browser, on a plain desktop screen in light mode, and
        wait until it has loaded and settled; what it does is recorded from now on."""
        self.viewport(1280, 900)
        self.color_scheme("light")
        self._drain()  # whatever earlier pages (or the browser's own start) did
        self._console.clear()
        self._requests.clear()
        self._page = _uri_of(page)
        self.driver.get(self._page)
        # A page the browser could not show (unreadable, or one that sent it elsewhere)
        # leaves the browser's error page in its place, and no error is told.
        shown = self.evaluate("return location.href")
        if urldefrag(shown).url != self._page:
            raise AssertionError(f"the browser could not show {page} (it shows {shown})")
        self.settle()

    def settle(self) -> None:
        """Wait until the page has drawn twice more and a moment has passed."""
        self.driver.execute_async_script(_SETTLE)

    def console_errors(self) -> list[str]:
        """The messages the page logged at the error level since it was opened: its
        scripts' ``console.error``, uncaught exceptions, and resources that failed to
        load (a blocked request, a CSP refusal)."""
        self._drain()
        return list(self._console)

    def requests(self) -> list[str]:
        """Every URL the page asked for since it was opened, other than its own file
        (inline ``data:`` and the browser's own pages aside), in the order asked: from
        the browser's network log and from the page's own list of resources."""
        self._drain()
        listed = self.evaluate("return performance.getEntriesByType('resource').map(e => e.name)")
        found: dict[str, None] = {}
        for url in [*self._requests, *listed]:
            if not url.startswith(_NOT_REQUESTS) and urldefrag(url).url != self._page:
                found[url] = None
        return list(found)

    def calls(self) -> list[Call]:
        """The recorded calls the page's scripts made since it was opened, in order:
        ``alert``, ``confirm``, ``prompt``, ``print``, ``console.log`` (and its other
        levels), and a ``securitypolicyviolation`` for each CSP refusal."""
        made = self.evaluate("return window.__calls || []")
        return [Call(call["name"], tuple(call["args"])) for call in made]

    def _drain(self) -> None:
        """Move what the driver's logs gathered into this page's records."""
        for entry in self.driver.get_log("browser"):
            if entry["level"] == "SEVERE":
                self._console.append(entry["message"])
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            params = message.get("params", {})
            if message["method"] == "Network.requestWillBeSent":
                self._requests.append(params["request"]["url"])
            elif message["method"] == "Network.webSocketCreated":
                self._requests.append(params["url"])

    # -- looking at it -------------------------------------------------------------
    def evaluate(self, script: str, *args: Any) -> Any:
        """Run ``script`` (a function body: ``return ...``) in the page."""
        return self.driver.execute_script(script, *args)

    def viewport(self, width: int, height: int, *, mobile: bool = False) -> None:
        """Show the page on a screen of exactly ``width`` x ``height`` CSS pixels, one
        device pixel each; ``mobile`` as a phone (its viewport meta tag is obeyed, and
        scroll bars float over the page)."""
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
        )

    def color_scheme(self, scheme: Literal["light", "dark"]) -> None:
        """Make the page see the reader's system set to a light or a dark scheme."""
        self.driver.execute_cdp_cmd(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
        )

    def screenshot(
        self, path: Path, width: int, height: int, *, mobile: bool = False
    ) -> tuple[int, int]:
        """Save the whole page, as seen on a ``width`` x ``height`` screen (see
        :meth:`viewport`), as a PNG at ``path``: ``width`` wide (anything wider is cut
        off), as tall as the page. Returns the image's width and height."""
        self.viewport(width, height, mobile=mobile)
        self.settle()
        tall = self.evaluate("return document.documentElement.scrollHeight")
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": max(tall, height), "scale": 1},
            },
        )
        path.write_bytes(base64.b64decode(shot["data"]))
        image = read_png(path)
        return image.width, image.height

    def print_pdf(self, path: Path, paper: Paper = "A4") -> int:
        """Print the page as the browser's print dialog would on ``paper`` (default
        margins, no background graphics) to a PDF at ``path``; returns its pages."""
        from selenium.webdriver.common.print_page_options import PrintOptions

        options = PrintOptions()
        options.page_width, options.page_height = PAPERS[paper]
        path.write_bytes(base64.b64decode(self.driver.print_page(options)))
        return pdf_pages(path)


# -- printing with Chromium's own command line -----------------------------------------
def print_to_pdf(page: Path, path: Path, *, timeout: float = SAFETY) -> int:
    """Print ``page`` with ``chromium --headless --print-to-pdf`` (no header or footer,
    no network, a fresh profile) to a PDF at ``path``; returns its pages. Chromium's
    command line has no choice of paper: it prints on US Letter unless the page's CSS
    asks for a size (``@page { size: ... }``); :meth:`Browser.print_pdf` takes one."""
    require_chromium()
    uri = _uri_of(page)  # Chromium prints its error page for a file it cannot read
    path.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="recover-chromium-") as profile:
        command = [
            str(CHROMIUM),
            *QUIET,
            *OFFLINE,
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={path}",
            uri,
        ]
        # A session of its own, so that on a hang the whole browser (every process it
        # started) is stopped, not only the first.
        with subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        ) as chromium:
            try:
                _, errors = chromium.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(chromium.pid, signal.SIGKILL)
                chromium.communicate()
                raise AssertionError(f"chromium --print-to-pdf took over {timeout}s") from None
    if chromium.returncode != 0 or not path.exists():
        raise AssertionError(
            f"chromium --print-to-pdf failed (exit {chromium.returncode}):\n{errors}"
        )
    return pdf_pages(path)


def _uri_of(page: Path) -> str:
    """The ``file://`` URL of a page, which must be a file."""
    if not page.is_file():
        raise FileNotFoundError(f"no page at {page}")
    return page.resolve().as_uri()


def pdf_pages(path: Path) -> int:
    """How many pages the PDF at ``path`` has."""
    from pypdf import PdfReader

    return len(PdfReader(path).pages)


def pdf_paper(path: Path) -> str:
    """The paper of the PDF's first page: ``"A4"``, ``"Letter"``, or its size in
    centimetres (``"20.0x20.0 cm"``) when it is neither."""
    from pypdf import PdfReader

    box = PdfReader(path).pages[0].mediabox
    size = (float(box.width) / _POINTS_PER_CM, float(box.height) / _POINTS_PER_CM)
    for name, (width, height) in PAPERS.items():
        if abs(size[0] - width) < 0.1 and abs(size[1] - height) < 0.1:
            return name
    return f"{size[0]:.1f}x{size[1]:.1f} cm"


# -- pixels ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Png:
    """A PNG's pixels: ``rows`` of ``width`` pixels, each ``channels`` bytes (3: RGB,
    4: RGBA)."""

    width: int
    height: int
    channels: int
    rows: list[bytes]

    def pixel(self, x: int, y: int) -> tuple[int, ...]:
        """The channels of the pixel at column ``x`` of row ``y``."""
        start = x * self.channels
        return tuple(self.rows[y][start : start + self.channels])


# Colour types: 2 is RGB, 6 is RGBA.
_CHANNELS = {2: 3, 6: 4}


def read_png(path: Path) -> Png:
    """Decode the PNG at ``path``: 8-bit RGB or RGBA, not interlaced (what Chromium
    writes); anything else is refused with a ValueError."""
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    header = b""
    compressed = []
    position = 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            compressed.append(body)
        elif kind == b"IEND":
            break
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or colour not in _CHANNELS or interlace:
        raise ValueError(f"{path}: only 8-bit RGB or RGBA without interlacing is read")
    channels = _CHANNELS[colour]
    rows = _unfiltered(zlib.decompress(b"".join(compressed)), width * channels, channels)
    return Png(width, height, channels, rows[:height])


def _unfiltered(raw: bytes, stride: int, step: int) -> list[bytes]:
    """Undo the filter of every scanline (PNG specification, section 9)."""
    # "Up" adds each byte to the one above, modulo 256: done on whole rows at once as
    # integers, the top bit of each byte kept out of the addition so no carry spills.
    low = int.from_bytes(b"\x7f" * stride, "big")
    high = int.from_bytes(b"\x80" * stride, "big")
    above = bytes(stride)
    rows = []
    for start in range(0, len(raw), stride + 1):
        kind, line = raw[start], raw[start + 1 : start + 1 + stride]
        if kind == 0:
            row = line
        elif kind == 1:  # Sub: a running sum along each channel
            out = bytearray(stride)
            for channel in range(step):
                sums = accumulate(line[channel::step], _add_bytes)
                out[channel::step] = bytes(sums)
            row = bytes(out)
        elif kind == 2:  # Up
            a, b = int.from_bytes(line, "big"), int.from_bytes(above, "big")
            row = (((a & low) + (b & low)) ^ ((a ^ b) & high)).to_bytes(stride, "big")
        else:  # Average (3) or Paeth (4): byte by byte
            row = _predicted(kind, line, above, step)
        rows.append(row)
        above = row
    return rows


def _add_bytes(a: int, b: int) -> int:
    """Two bytes added, modulo 256."""
    return (a + b) & 0xFF


def _predicted(kind: int, line: bytes, above: bytes, step: int) -> bytes:
    """A scanline filtered with Average or Paeth, unfiltered."""
    out = bytearray(line)
    for i in range(len(out)):
        left = out[i - step] if i >= step else 0
        up = above[i]
        if kind == 3:
            guess = (left + up) >> 1
        else:
            corner = above[i - step] if i >= step else 0
            total = left + up - corner
            to_left, to_up, to_corner = abs(total - left), abs(total - up), abs(total - corner)
            if to_left <= to_up and to_left <= to_corner:
                guess = left
            elif to_up <= to_corner:
                guess = up
            else:
                guess = corner
        out[i] = (out[i] + guess) & 0xFF
    return bytes(out)


def is_blank(path: Path) -> bool:
    """Whether every pixel of the PNG at ``path`` is the same colour."""
    image = read_png(path)
    first = image.rows[0]
    return first == first[: image.channels] * image.width and all(
        row == first for row in image.rows
    )

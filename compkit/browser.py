"""Headless Chromium for compkit's pages: PDF statements (``--pdf``) and the browser tests.

compkit drives the system's Chromium (Debian/Ubuntu: ``apt-get install chromium``; found at
``/usr/bin/chromium``, ``chromium-browser`` or ``google-chrome``, or the path in ``COMPKIT_CHROMIUM``) through the
``playwright`` package (a dependency; it downloads no browser of its own here). Where Chromium is missing,
:func:`chromium_path` returns None and :class:`BrowserMissing` says what to install.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compkit.errors import CompkitError
from compkit.i18n import M_

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions"]


class BrowserMissing(CompkitError):
    """Headless Chromium (or the playwright package) is not available on this machine."""


def chromium_path() -> str | None:
    """The Chromium executable to use, or None where there is none."""
    env = os.environ.get("COMPKIT_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    for c in CANDIDATES:
        if Path(c).is_file():
            return c
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def missing_reason() -> str | None:
    """Why pages cannot be rendered here (None when they can)."""
    if chromium_path() is None:
        return M_("headless Chromium not found (looked for {paths} and $COMPKIT_CHROMIUM); install it with "
                  "'apt-get install chromium fonts-noto-cjk'", paths=", ".join(CANDIDATES))
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return M_("the playwright package is not installed (pip install playwright)")
    return None


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium browser (playwright), closed on exit. Raises BrowserMissing."""
    reason = missing_reason()
    if reason:
        raise BrowserMissing(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageCheck:
    """What a page looked like in the browser."""

    path: Path
    title: str
    headings: list[str]
    console_errors: list[str]
    fonts: list[str]
    screenshot: Path | None = None
    text: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _fonts_used(page: Any) -> list[str]:
    """The font families the renderer actually used for the page's text (Chrome DevTools Protocol)."""
    client = page.context.new_cdp_session(page)
    client.send("DOM.enable")
    client.send("CSS.enable")
    doc = client.send("DOM.getDocument", {"depth": -1})
    used: dict[str, int] = {}
    nodes = client.send("DOM.querySelectorAll", {"nodeId": doc["root"]["nodeId"],
                                                 "selector": "h1, h2, h3, p, td, th, li, text, span"})
    for node_id in nodes["nodeIds"][:400]:
        try:
            res = client.send("CSS.getPlatformFontsForNode", {"nodeId": node_id})
        except Exception:  # noqa: BLE001 - a node without text
            continue
        for f in res.get("fonts", []):
            used[f["familyName"]] = used.get(f["familyName"], 0) + int(f.get("glyphCount", 0))
    return [name for name, _ in sorted(used.items(), key=lambda kv: -kv[1])]


def check_pages(paths: Iterable[Path], screenshots: Path | None = None, width: int = 1200) -> list[PageCheck]:
    """Open each HTML file in headless Chromium: its title, h1-h3 headings, console errors (and page errors),
    the fonts used for its text; a full-page PNG screenshot in ``screenshots`` when given."""
    out = []
    with chromium() as browser:
        for path in paths:
            path = Path(path).resolve()
            page = browser.new_page(viewport={"width": width, "height": 900})
            errors: list[str] = []
            page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_timeout(200)
            headings = [h.strip() for h in page.locator("h1, h2, h3").all_inner_texts()]
            shot = None
            if screenshots is not None:
                screenshots.mkdir(parents=True, exist_ok=True)
                shot = screenshots / (path.stem + ".png")
                page.screenshot(path=str(shot), full_page=True)
            # the page's own errors, taken before the fonts are asked for: DevTools' CSS domain then makes
            # Chromium 150 log an error of its own for a file: page ("Unsafe attempt to load URL file:...
            # from frame with URL file:...", the same for an empty page), which is not the page's
            page_errors = list(errors)
            out.append(PageCheck(path=path, title=page.title(), headings=headings, console_errors=page_errors,
                                 fonts=_fonts_used(page), screenshot=shot, text=page.inner_text("body")))
            page.close()
    return out


def print_pdfs(pages: dict[Path, Path]) -> list[Path]:
    """Print each HTML file to a PDF (A4, the page's print stylesheet, backgrounds kept): ``{html: pdf}``."""
    written = []
    with chromium() as browser:
        page = browser.new_page()
        for html, pdf in pages.items():
            page.goto(Path(html).resolve().as_uri(), wait_until="load")
            page.emulate_media(media="print")
            page.pdf(path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True)
            written.append(Path(pdf))
        page.close()
    return written

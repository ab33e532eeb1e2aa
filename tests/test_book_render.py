"""Build the book with warnings as errors, then look at it in a real browser.

Headless Chromium (Debian's package, installed here when missing and possible) loads pages
from a local server; the test checks that MathJax typeset the formulas from the book's own
copy and that every image a page shows was loaded. A screenshot is kept in
_build/screenshots/ for a person to look at.
"""
from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
BIN = Path(sys.executable).parent

# Run in the page once it has loaded: how much math was typeset, which images failed.
PROBE = """
<script>
window.addEventListener('load', () => setTimeout(() => {
  const images = [...document.images];
  const report = {
    typeset: document.querySelectorAll('mjx-container').length,
    images: images.length,
    broken: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
  };
  const out = document.createElement('pre');
  out.id = 'render-report';
  out.textContent = JSON.stringify(report);
  document.body.appendChild(out);
}, 3000));
</script>
"""


@pytest.fixture(scope="module")
def built_book() -> Path:
    for step in (["tools/mathjax.py"], ["tools/figures.py"]):
        subprocess.run([sys.executable, *step], cwd=ROOT, check=True, capture_output=True)
    result = subprocess.run([str(BIN / "jupyter-book"), "build", ".", "-W", "-n", "--keep-going"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, "the book does not build cleanly:\n" + result.stdout[-3000:]
    assert (HTML / "index.html").exists()
    return HTML


def test_no_math_from_a_cdn(built_book):
    for page in built_book.rglob("*.html"):
        text = page.read_text(errors="replace")
        assert "cdn.jsdelivr.net" not in text and "mathjax@" not in text, page


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], capture_output=True)
        found = shutil.which("chromium")
    if not found:
        pytest.skip("headless Chromium is not installed and could not be installed "
                    "(apt-get install chromium)")
    return found


@pytest.fixture(scope="module")
def server(built_book):
    """Serve a copy of the built book on 127.0.0.1 with the probe script in every page."""
    site = Path(tempfile.mkdtemp(prefix="book-site-"))
    shutil.copytree(built_book, site, dirs_exist_ok=True)
    for page in site.rglob("*.html"):
        page.write_text(page.read_text(errors="replace").replace("</body>", PROBE + "</body>"))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    shutil.rmtree(site, ignore_errors=True)


def render(url: str, screenshot: Path | None = None) -> str:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--virtual-time-budget=15000", "--window-size=1280,1600"]
    with tempfile.TemporaryDirectory() as profile:
        flags.append(f"--user-data-dir={profile}")
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([chromium(), *flags, f"--screenshot={screenshot}", url],
                           capture_output=True, timeout=120)
        result = subprocess.run([chromium(), *flags, "--dump-dom", url], capture_output=True,
                                text=True, timeout=120)
    return result.stdout


def report(dom: str) -> dict:
    import json

    match = re.search(r'<pre id="render-report">(.*?)</pre>', dom, re.S)
    assert match, "the page never finished loading"
    return json.loads(match.group(1))


def test_math_is_typeset_in_the_browser(server):
    shot = SHOTS / "intro.png"
    dom = render(f"{server}/book/intro.html", screenshot=shot)
    result = report(dom)
    assert result["typeset"] >= 2, result  # the inline and the displayed formula
    text = re.sub(r"<(script|pre|style)[^>]*>.*?</\1>", "", dom, flags=re.S)
    for delimiter in ("$$", "\\[", "\\("):  # TeX left untypeset
        assert delimiter not in text, f"raw {delimiter} on the intro page"
    assert shot.exists() and shot.stat().st_size > 20_000


@pytest.mark.parametrize("page", ["notebooks/00_getting_started_pytorch.html",
                                  "book/01_dropout.html"])
def test_images_load(server, page):
    result = report(render(f"{server}/{page}"))
    assert result["images"] >= 1, f"{page} shows no image"
    assert not result["broken"], result["broken"]
    if page.startswith("book/"):
        assert result["typeset"] >= 10, result

"""Build the book with warnings as errors, then look at it in a real browser.

Headless Chromium (Debian's package, which `make browser` installs) loads pages
from a local server; the tests check that MathJax typeset the formulas from the book's own
copy, that every image a page shows was loaded, that nothing in a page's text column (a
displayed equation, a code block, a lab's output, a table, an image) is wider than the column,
and that every figure is shown large enough for its smallest text to be read.
Screenshots are kept in _build/screenshots/ for a person to look at.
"""
from __future__ import annotations

import functools
import http.server
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from conftest import allowed, check_ratchet

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
BIN = Path(sys.executable).parent

# Run in the page once it has loaded and MathJax has typeset it: how much math was typeset,
# which images failed, and which elements of the text column are wider than the column.
PROBE = """
<script>
function overflowing() {
  // The text column; an element overflows when its visible box ends right of the column's
  // content edge, or when its content is wider than its own box (it scrolls or is clipped).
  const column = document.querySelector('article.bd-article') || document.querySelector('main');
  if (!column) return ['no article element: cannot measure the column'];
  const edge = column.getBoundingClientRect().right
      - parseFloat(getComputedStyle(column).paddingRight);
  const tex = new Map();
  const doc = window.MathJax && MathJax.startup && MathJax.startup.document;
  if (doc) for (const item of doc.getMathItemsWithin(column)) tex.set(item.typesetRoot, item.math);
  const squash = text => text.replace(/\\s+/g, ' ').trim().slice(0, 160);
  const describe = el => {
    const tag = el.tagName.toLowerCase();
    if (tag === 'mjx-container') return 'equation ' + squash(tex.get(el) || el.textContent);
    if (tag === 'img') return 'image ' + el.getAttribute('src');
    if (tag === 'table') return 'table starting ' + squash(el.rows.length ? el.rows[0].textContent : '');
    if (tag === 'pre' && el.closest('.cell_input')) return 'lab code starting ' + squash(el.textContent);
    return tag + ' starting ' + squash(el.textContent);
  };
  const found = [];
  for (const el of column.querySelectorAll('mjx-container, pre, table, img')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;  // not displayed (e.g. a closed toggle)
    const drawn = el.tagName === 'MJX-CONTAINER'
        ? (el.querySelector('mjx-math') || el).getBoundingClientRect() : box;
    const beyond = Math.round(Math.max(box.right, drawn.right) - edge);
    const hidden = el.tagName === 'MJX-CONTAINER'
        ? Math.round(drawn.width - el.clientWidth) : el.scrollWidth - el.clientWidth;
    const inline = el.tagName === 'MJX-CONTAINER' && el.getAttribute('display') !== 'true';
    const clipped = inline ? 0 : hidden;  // an inline formula's box is the formula's
    if (beyond > 1 || clipped > 1) {
      const width = Math.round(drawn.width) + ' px';
      found.push(`${describe(el)} (${width} wide; ` + (beyond > 1
          ? `ends ${beyond} px right of the column)` : `${clipped} px of it scroll out of view)`));
    }
  }
  return found;
}
window.addEventListener('load', () => setTimeout(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  await document.fonts.ready;
  const images = [...document.images];
  const column = document.querySelector('article.bd-article') || document.querySelector('main');
  const report = {
    typeset: document.querySelectorAll('mjx-container').length,
    images: images.length,
    broken: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
    overflow: overflowing(),
    // each image of the text column as shown: its address and its natural and shown widths
    figures: column ? [...column.querySelectorAll('img')]
        .filter(i => i.getBoundingClientRect().width > 0 && i.naturalWidth > 0)
        .map(i => ({src: i.currentSrc, natural: i.naturalWidth,
                    shown: i.getBoundingClientRect().width})) : [],
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
    for step in (["tools/mathjax.py"], ["tools/figures.py"], ["tools/scoreboard.py"]):
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
    """Headless Chromium, which `make browser` (run by `make test`) installs where it can."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("headless Chromium is not installed: `make browser` installs it "
                    "(as root, apt-get install chromium)")
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


def render(url: str, screenshot: Path | None = None, width: int = 1280) -> str:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--virtual-time-budget=15000", f"--window-size={width},1600"]
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
    import html
    import json

    match = re.search(r'<pre id="render-report">(.*?)</pre>', dom, re.S)
    assert match, "the page never finished loading"
    return json.loads(html.unescape(match.group(1)))  # the DOM escapes TeX's & and <


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


# Every theory page in the table of contents (the generated scoreboard page too).
THEORY_PAGES = sorted({"book/intro.html"} | {
    f"{name}.html" for name in re.findall(r"file:\s*(book/\S+)", (ROOT / "_toc.yml").read_text())})

# The text column is narrowest, 612 px, in a 1200-px window, the smallest that still shows the
# table of contents on both sides (1280 px gives 676 px; a narrower window hides the sidebars
# and widens the column again).
NARROWEST = 1200


def page_report(server: str, page: str, width: int = NARROWEST) -> dict:
    """The probe's report of ``page`` at ``width`` px, rendered once for all the tests."""
    return _rendered_report(server, page, width)


@functools.lru_cache(maxsize=None)
def _rendered_report(server: str, page: str, width: int) -> dict:
    # one cache key per page and width, however the caller passed them
    return report(render(f"{server}/{page}", width=width))


def overflowing(server: str, page: str, width: int = NARROWEST) -> list[str]:
    """The elements of a page's text column that are wider than the column (an equation named
    by its TeX, an image by its address, a code block or table by its first words)."""
    return page_report(server, page, width)["overflow"]


LAB_PAGES = sorted(f"{name}.html" for name in
                   re.findall(r"file:\s*(notebooks/\S+)", (ROOT / "_toc.yml").read_text()))


@pytest.mark.parametrize("page", LAB_PAGES)
def test_lab_pages_fit_the_column(server, page):
    """Every code cell of a lab, formatted to 80 characters (make format), fits the narrowest
    text column without scrolling (book/_static/code-column.css sets its size), and so do its
    outputs: printed text, tables and figures."""
    wide = overflowing(server, page)
    code = [item for item in wide if item.startswith("lab code")]
    assert not code, f"{page} at {NARROWEST} px: code wider than the column:\n  " + \
        "\n  ".join(code)
    lab = page.rsplit("/", 1)[-1].replace(".html", ".ipynb")
    check_ratchet(wide, allowed(lab, "overflowing elements"), lab=lab,
                  problem=f"shows outputs wider than the column at {NARROWEST} px",
                  fix="print at most 80 characters a line and keep tables to a few columns",
                  table="BEFORE_THE_RULES")


@pytest.mark.parametrize("page", THEORY_PAGES)
def test_nothing_overflows_the_column(server, page):
    wide = overflowing(server, page)
    if wide:  # a picture for the person who fixes it
        shot = SHOTS / page.replace("/", "_").replace(".html", ".png")
        render(f"{server}/{page}", screenshot=shot, width=NARROWEST)
    assert not wide, f"{page} at {NARROWEST} px: wider than the text column:\n  " + "\n  ".join(wide)


# The smallest text a figure of the book may carry, in points: matplotlib's default tick labels
# (10 pt; the theory pages' figures use 12 pt and more), and the size it must show at on the
# page, in CSS pixels.
SMALLEST_PT, READABLE_PX = 10, 9.0


def png_dpi(data: bytes) -> float:
    """The resolution a PNG was saved at, from its pHYs chunk (matplotlib writes it); 72 dpi,
    a browser's assumption, when the chunk is missing."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    at = 8
    while at + 8 <= len(data):
        length, kind = int.from_bytes(data[at:at + 4], "big"), data[at + 4:at + 8]
        if kind == b"pHYs":
            per_unit, unit = int.from_bytes(data[at + 8:at + 12], "big"), data[at + 16]
            return per_unit * 0.0254 if unit == 1 else 72.0
        if kind == b"IDAT":
            break  # pHYs comes before the image data
        at += 12 + length
    return 72.0


def image_bytes(src: str) -> bytes:
    """An image's bytes from its address on the test server or a data: URI."""
    import base64
    import urllib.request

    if src.startswith("data:"):
        return base64.b64decode(src.split(",", 1)[1])
    with urllib.request.urlopen(src, timeout=30) as response:
        return response.read()


def text_px(src: str, natural: float, shown: float) -> float:
    """The size on the page, in CSS pixels, of SMALLEST_PT-point text in the image at ``src``,
    drawn ``natural`` pixels wide and shown ``shown`` wide."""
    data = image_bytes(src)
    dpi = png_dpi(data) if data[:4] == b"\x89PNG" else 72.0
    return SMALLEST_PT / 72 * dpi * shown / natural


def test_png_dpi_reads_matplotlibs_resolution(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(2, 1))
    for dpi in (100, 200):
        fig.savefig(tmp_path / f"{dpi}.png", dpi=dpi)
        assert png_dpi((tmp_path / f"{dpi}.png").read_bytes()) == pytest.approx(dpi, abs=0.1)
    plt.close(fig)
    # 10-pt text at 100 dpi is 13.9 px; shown at 612 of 944 px it is 9.0 px
    assert text_px((tmp_path / "100.png").as_uri(), 944, 612) == pytest.approx(
        10 / 72 * 100 * 612 / 944, rel=1e-3)
    with pytest.raises(ValueError, match="not a PNG"):
        png_dpi(b"GIF89a")


@pytest.mark.parametrize("page", THEORY_PAGES + LAB_PAGES)
def test_figures_are_shown_large_enough_to_read(server, page):
    """Every figure on every page is shown at a scale at which its smallest text (10 pt at the
    resolution it was saved at) reads at 9 px or more in the narrowest column. A figure may
    also appear smaller (the key figure of a chapter's summary box is a preview) if the page
    shows it readably elsewhere."""
    largest = {}
    for figure in page_report(server, page)["figures"]:
        if figure["shown"] >= largest.get(figure["src"], {"shown": 0})["shown"]:
            largest[figure["src"]] = figure
    small = []
    for figure in largest.values():
        px = text_px(figure["src"], figure["natural"], figure["shown"])
        if px < READABLE_PX:
            name = "an image in the page" if figure["src"].startswith("data:") \
                else figure["src"].rsplit("/", 1)[-1]
            small.append(f"{name}: {figure['natural']} px shown at {figure['shown']:.0f} px, "
                         f"its 10-pt text at {px:.1f} px")
    if page.startswith("notebooks/"):  # labs drawn before the rule keep theirs for now
        lab = page.rsplit("/", 1)[-1].replace(".html", ".ipynb")
        check_ratchet(small, allowed(lab, "wide figures"), lab=lab,
                      problem=f"shows figures too small to read at {NARROWEST} px",
                      fix="draw them at most 944 px wide", table="BEFORE_THE_RULES")
    else:
        assert not small, f"{page} at {NARROWEST} px: figures too small to read:\n  " + \
            "\n  ".join(small)

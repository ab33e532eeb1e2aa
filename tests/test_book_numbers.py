"""A theory page types no number that a lab recorded: the {measured} role inserts it.

A decimal number in the prose of book/NN_*.md (math included, code left out) that equals, at
the precision it is printed with, a value in results/NN_*.json for either framework is a
recorded result typed by hand, and goes stale when a re-run changes it. The values of a
chapter's supplementary files, results/NN_*.<name>.json written by a script in experiments/,
count too. Such a number must be written as {measured}`chapter/metric` (book/_ext/measured.py).
A number with one significant digit (0.5, 0.02, 0.3) is not taken for a result: the pages use
such numbers for rates, thresholds and the data's parameters, and the role prints every
result with at least two.
That every such reference resolves is checked by tests/test_measured.py.
"""
import json
import re
import sys
from pathlib import Path

import pytest

from conftest import recorded_results
from helpers.results import FRAMEWORKS, results_dir

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from helpers.recorded import load_recorded  # noqa: E402


# Typed numbers that may equal a recorded value, (page, number) -> the metric they equal: a
# coincidence, or a recorded result inside math, where the role cannot go.
ALLOWED = {
    # Hinton and Salakhutdinov's (2006) PCA error, which the lab's PCA reproduces
    ("02_autoencoders", "13.87"): "pca_sq_err_k30",
    # the dimension count 30/784 = 0.038, derived on the page, which PCA's noise share meets
    ("02_autoencoders", "0.038"): "noise_share_pca_k30",
    # PacGAN's GAN on the ring, 6.3 modes (Lin et al., 2018), which PyTorch's grid HQ rounds to
    ("06_mode_collapse", "6.3"): "grid_gan_high_quality_pct",
    # PacGAN3's ring high-quality share, 97.7% (Lin et al., 2018), which TensorFlow's best rounds to
    ("06_mode_collapse", "97.7"): "ring_pac2_mbstd_high_quality_pct",
    # VEEGAN's unrolled GAN on the ring, 7.6 modes (Srivastava et al., 2017), which
    # TensorFlow's ten-step unrolled GAN equals
    ("06_mode_collapse", "7.6"): "ring_unrolled10_modes",
    # PacGAN4's grid modes, 24.8 (Lin et al., 2018), which a wall time in seconds rounds to
    ("06_mode_collapse", "24.8"): "grid_gan_seconds",
}

NUMBER = re.compile(r"(?<![\w.])(?:\d{1,3}(?:,\d{3})+|\d+)\.\d+(?!\w|\.\d)")
INLINE_CODE = re.compile(r"(`+).*?\1", re.DOTALL)  # code spans and role contents
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*(\S*)")
PROSE_DIRECTIVES = re.compile(r"\{(?!code|literalinclude|sourcecode)[\w-]+\}")


def prose(markdown: str) -> str:
    """The page without code blocks, code spans, role contents and comments."""
    kept, fences = [], []  # fences: the open fences, (marker, holds code)
    for line in markdown.splitlines():
        match = FENCE.match(line)
        stripped = line.strip()
        if fences and stripped.startswith(fences[-1][0]) and not stripped.strip(fences[-1][0][0]):
            fences.pop()
        elif any(code for _, code in fences):
            pass
        elif match:  # a {figure} or {admonition} fence holds prose; a plain or {code-cell} one code
            fences.append((match[1], not PROSE_DIRECTIVES.match(match[2])))
        else:
            kept.append(line)
    return INLINE_CODE.sub(" ", COMMENT.sub(" ", "\n".join(kept)))


def typed_results(markdown: str, results: dict) -> list[tuple[str, str, str]]:
    """(number, metric, framework) for each typed number equal to a recorded value."""
    found = []
    for number in NUMBER.findall(prose(markdown)):
        if len(re.sub(r"\D", "", number).lstrip("0")) < 2:  # 0.5, 0.02: a rate or a threshold
            continue
        decimals = len(number.split(".")[1])
        for framework in FRAMEWORKS:
            for metric, value in results.get(framework, {}).items():
                if f"{value:,.{decimals}f}".replace(",", "") == number.replace(",", ""):
                    found.append((number, metric, framework))
    return found


CHAPTERS = sorted(page.stem for page in (ROOT / "book").glob("[0-9][0-9]_*.md")
                  if page.stem in load_recorded(results_dir()))


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_theory_page_types_no_recorded_result(chapter):
    results = recorded_results(chapter)
    page = (ROOT / "book" / f"{chapter}.md").read_text()
    typed = [f"{number} (= {metric}, {framework})"
             for number, metric, framework in typed_results(page, results)
             if (chapter, number) not in ALLOWED]
    assert not typed, (f"book/{chapter}.md types recorded results; write them as "
                       f"{{measured}}`{chapter}/metric` (`{chapter}.<name>/metric` for those "
                       f"of results/{chapter}.<name>.json): " + ", ".join(typed))


@pytest.mark.parametrize("chapter, number", sorted(ALLOWED))
def test_allowed_numbers_are_still_coincidences(chapter, number):
    """An entry whose number left the page, or no longer equals its metric, is removed."""
    results = recorded_results(chapter)
    page = (ROOT / "book" / f"{chapter}.md").read_text()
    metrics = {metric for n, metric, _ in typed_results(page, results) if n == number}
    assert ALLOWED[chapter, number] in metrics, (
        f"ALLOWED[{chapter!r}, {number!r}] no longer matches a number on book/{chapter}.md")


def test_supplementary_results_are_checked():
    """Every value of a results/NN_*.<name>.json is among those the page is checked against."""
    for path in results_dir().glob("[0-9][0-9]_*.*.json"):
        chapter = path.name.split(".")[0]
        merged = recorded_results(chapter)
        for framework, values in json.loads(path.read_text()).items():
            if framework in FRAMEWORKS:
                assert values.items() <= merged[framework].items(), (path.name, framework)


def test_matcher_on_constructed_text():
    results = {"torch": {"err": 1.2345, "nll": 1234.567, "rate": 0.2},
               "tensorflow": {"err": 1.3, "nll": 1234.5, "rate": 0.2}}
    text = "\n".join([
        "Test error 1.23 / 1.30%, nll 1,234.57, rate $p = 0.2$.",  # 0.2: one significant digit
        "Not results: 1.4 and 1.236, 2.3, v1.23.4, x1.23, 1234.8, 3.14, 1.3x.",
        "Inserted: {measured}`09_x/err` and `code 1.23`.",
        "```python",
        "lr = 1.23",
        "```",
        "````{figure} f.png",
        "caption 1,234.50",
        "```",
        "x = 1.23",
        "```",
        "also 0.20",
        "````",
    ])
    assert [(n, m, f) for n, m, f in typed_results(text, results)] == [
        ("1.23", "err", "torch"), ("1.30", "err", "tensorflow"), ("1,234.57", "nll", "torch"),
        ("1,234.50", "nll", "tensorflow"),
        ("0.20", "rate", "torch"), ("0.20", "rate", "tensorflow")]

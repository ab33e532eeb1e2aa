"""make mutation's configuration: every module and test file it names exists, the equivalent
mutants file parses and names only mutants of those modules, the tool is pinned exactly, and
make test does not run it."""
import re
import tomllib
from pathlib import Path

from tools.mutation import CONFIG, EQUIVALENT, load_equivalent, setup_cfg

ROOT = Path(__file__).resolve().parent.parent


def test_modules_and_their_tests_exist():
    config = tomllib.loads(CONFIG.read_text())
    assert 0 < config["goal"] <= 100
    for module, tests in config["modules"].items():
        assert (ROOT / module).is_file(), module
        assert tests and all((ROOT / t).is_file() for t in tests), (module, tests)


def test_equivalent_mutants_belong_to_mapped_modules_and_give_a_reason():
    modules = {m[:-3].replace("/", ".") for m in tomllib.loads(CONFIG.read_text())["modules"]}
    equivalent = load_equivalent(EQUIVALENT)
    for name, reason in equivalent.items():
        assert re.fullmatch(r"[\w.]+\.x\w+__mutmut_\d+", name), name
        assert name.rsplit(".", 1)[0] in modules, name
        assert len(reason) > 10, name


def test_mutmut_is_pinned_and_not_part_of_make_test():
    pins = [line for line in (ROOT / "requirements-mutation.txt").read_text().splitlines()
            if line and not line.startswith("#")]
    assert pins and all(re.fullmatch(r"[\w.-]+==[\w.]+", p) for p in pins)
    assert not any(p.startswith("mutmut") for p in (ROOT / "requirements.txt").read_text().split())
    makefile = (ROOT / "Makefile").read_text()
    test_rule = re.search(r"^test:.*\n(\t.*\n)*", makefile, re.M).group(0)
    assert "mutation" not in test_rule


def test_setup_cfg_maps_the_module_to_its_tests_only():
    cfg = setup_cfg("helpers/fid.py", ["tests/test_fid.py"])
    assert "only_mutate=\n    helpers/fid.py" in cfg
    assert "pytest_add_cli_args_test_selection=\n    tests/test_fid.py\n" in cfg

"""helpers.code.code_key: the hash of the code that trains a model, following own code only."""
import importlib
import itertools
import json
import sys
import textwrap
import types

import pytest

from helpers.code import code_key

OWN = "own_lab"  # the module name the code under test is defined in, counted as own


CELLS = itertools.count()


def define(source: str, module: str = OWN, **names) -> dict:
    """Run ``source`` as if it were a notebook cell of ``module``; its names, by name. Each
    cell gets a file name of its own, as a notebook's cells do: code run from the shared name
    "<string>" could find the lines another exec left in linecache under that name."""
    namespace = {"__name__": module, **names}
    exec(compile(textwrap.dedent(source), f"<cell {next(CELLS)}>", "exec"), namespace)
    return namespace


def key(*objects):
    return code_key(*objects, own=(OWN,))


def test_the_same_code_gives_the_same_key_and_a_changed_constant_another():
    a = define("def train(m):\n    return m * 2\n")["train"]
    b = define("def train(m):\n    return m * 2\n")["train"]
    c = define("def train(m):\n    return m * 3\n")["train"]
    assert key(a) == key(b)
    assert key(a) != key(c)


def test_a_function_it_calls_counts_and_so_does_what_that_calls():
    source = """
        def inner(x):
            return x + {k}
        def step(x):
            return inner(x)
        def train(m):
            return step(m)
    """
    one, two = (define(source.format(k=k))["train"] for k in (1, 2))
    assert key(one) != key(two)


def test_a_lambda_and_its_closure_count():
    make = """
        def fit(m):
            return m + {k}
        def make_train(fit_fn):
            return lambda m: fit_fn(m)  # fit reaches the lambda only through its closure
        train = make_train(fit)
        del fit
    """
    one, two = (define(make.format(k=k))["train"] for k in (1, 2))
    assert key(one) != key(two)


def test_library_code_is_not_followed():
    fn = define("def train(m):\n    return json.dumps(m)\n", json=json)["train"]
    before = key(fn)
    original = json.dumps
    try:
        json.dumps = lambda m: "other"  # a library function replaced: not part of the key
        assert key(fn) == before
    finally:
        json.dumps = original


def test_an_own_module_reached_by_attribute_is_followed(monkeypatch):
    helper = types.ModuleType(f"{OWN}.loops")
    helper.fit = define("def fit(m):\n    return m\n", module=f"{OWN}.loops")["fit"]
    fn = define("def train(m):\n    return loops.fit(m)\n", loops=helper)["train"]
    before = key(fn)
    helper.fit = define("def fit(m):\n    return m + 1\n", module=f"{OWN}.loops")["fit"]
    assert key(fn) != before


def test_a_models_own_classes_count_and_library_layers_do_not():
    torch = pytest.importorskip("torch")
    source = """
        class Scale(torch.nn.Module):
            def forward(self, x):
                return x * {k}
    """
    one, two = (define(source.format(k=k), torch=torch)["Scale"] for k in (1, 2))
    train = define("def train(m):\n    return m\n")["train"]
    wrap = torch.nn.Sequential
    assert key(train, wrap(torch.nn.Linear(2, 2), one())) != \
        key(train, wrap(torch.nn.Linear(2, 2), two()))
    # library layers only: the architecture is the config's business
    assert key(train, wrap(torch.nn.Linear(2, 2))) == key(train, wrap(torch.nn.Linear(3, 3)))


def test_comments_docstrings_and_layout_do_not_count(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    module = tmp_path / "own_fmt.py"

    def key_of(text):
        module.write_text(textwrap.dedent(text))
        sys.modules.pop("own_fmt", None)
        mod = importlib.import_module("own_fmt")
        return code_key(mod.train, own=("own_fmt",))

    plain = key_of("def train(m):\n    return m + 1\n")
    assert key_of('''
        def train(m):
            """Trains m."""
            # one step
            return (
                m + 1
            )
    ''') == plain
    assert key_of("def train(m):\n    return m + 2\n") != plain


@pytest.mark.parametrize("objects, own, error, message", [
    ((), ("x",), ValueError, "at least one"),
    ((len,), (), ValueError, "own must name"),
    ((len,), ("",), ValueError, "own must name"),
    ((3,), ("x",), TypeError, "functions, classes and models"),
])
def test_bad_input_is_refused(objects, own, error, message):
    with pytest.raises(error, match=message):
        code_key(*objects, own=own)


def test_methods_properties_and_partials_are_followed():
    source = """
        import functools
        def helper(x):
            return x + {k}
        class Net:
            scale = 2
            @property
            def size(self):
                return helper(1)
            @staticmethod
            def make():
                return helper(2)
            @classmethod
            def build(cls):
                return helper(3)
            def forward(self, x):
                return x
        train = functools.partial(lambda fn, m: fn(m), helper)
        bound = Net().forward
    """
    one, two = (define(source.format(k=k)) for k in (1, 2))
    assert key(one["Net"]) != key(two["Net"])  # reached through a property and the like
    assert key(one["train"]) != key(two["train"])  # a partial's function argument
    assert key(one["bound"]) == key(two["bound"])  # forward itself does not call helper
    changed = define(source.format(k=1).replace("scale = 2", "scale = 3"))
    assert key(changed["Net"]) != key(one["Net"])  # a class constant counts

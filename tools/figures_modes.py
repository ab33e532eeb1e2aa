"""Figures of chapter 6 (mode collapse), computed when the book is built.

The conventions are those of tools/figures.py: drawn from code, never from typed-in numbers,
6.3 inches wide with no text under 12 pt, saved at 200 dpi under book/figures/ (not
committed). Every figure is checked before it is saved: samples of the benchmarks against the
exact laws derived on the page, the worked example of alternating gradient steps against its
linearisation, and the packed total variations against brute-force enumeration.
"""
from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import scipy.stats  # noqa: E402
from matplotlib.patches import Circle  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tools.figure_style import FONT, STYLE, WIDTH, draw, save  # noqa: E402
from helpers.collapse import EVAL_POINTS, HQ_RADIUS, TRUE_HQ_PROBABILITY, evaluate  # noqa: E402
from helpers.mixtures import BENCHMARKS, sample  # noqa: E402
from helpers.mode_plots import plot_points  # noqa: E402



Z = 4.0         # a Monte-Carlo mean must lie within Z standard errors of its exact value
REPEATS = 2_000  # independent sets of EVAL_POINTS true samples per benchmark


# ---------------------------------------------------------------------------------------------
# The benchmarks and what true samples score on them
# ---------------------------------------------------------------------------------------------

def check_hq_probability() -> None:
    """P(|x - mu| <= 3 sigma) for a 2-D isotropic Gaussian: the chi-square(2) cdf at 9, which is
    the exponential cdf 1 - exp(-9/2); and by integrating the density in polar coordinates."""
    exact = 1.0 - math.exp(-HQ_RADIUS ** 2 / 2)
    assert math.isclose(TRUE_HQ_PROBABILITY, exact, rel_tol=1e-15)
    assert math.isclose(scipy.stats.chi2.cdf(HQ_RADIUS ** 2, df=2), exact, rel_tol=1e-12)
    r = np.linspace(0.0, HQ_RADIUS, 20_001)  # integral of r exp(-r^2/2) dr, the angle done
    assert math.isclose(np.trapezoid(r * np.exp(-r ** 2 / 2), r), exact, rel_tol=1e-7)
    # the one-dimensional "3 sigma" rule is a different number: 99.73 %
    assert abs(scipy.stats.norm.cdf(3) - scipy.stats.norm.cdf(-3) - exact) > 8e-3


def standardised_offsets(points: np.ndarray, name: str) -> np.ndarray:
    """(points - nearest mode) / sigma, (n, 2): every sample seen from its own mode."""
    bench = BENCHMARKS[name]
    x = points.astype(np.float64)
    nearest = np.linalg.norm(x[:, None, :] - bench.means[None], axis=2).argmin(axis=1)
    return (x - bench.means[nearest]) / bench.sigma


def benchmarks(path: Path) -> None:
    """The ring and the grid, 2,500 true samples each with the 3-sigma circles, and every sample
    seen from its nearest mode in units of sigma."""
    check_hq_probability()
    rng = np.random.default_rng(6)
    sd = math.sqrt(TRUE_HQ_PROBABILITY * (1 - TRUE_HQ_PROBABILITY) / EVAL_POINTS)
    panels = {}
    for name in ("ring", "grid"):
        points = sample(name, EVAL_POINTS, rng)
        report = evaluate(points, name)
        bench = BENCHMARKS[name]
        offsets = standardised_offsets(points, name)
        outside = np.hypot(offsets[:, 0], offsets[:, 1]) > HQ_RADIUS
        # true samples: every mode captured, the high-quality share where the binomial law says
        assert report.modes == bench.n_modes, report
        assert abs(report.high_quality_pct / 100 - TRUE_HQ_PROBABILITY) < Z * sd, report
        # the offsets reproduce helpers.collapse.evaluate's count of high-quality points
        assert int(outside.sum()) == EVAL_POINTS - int(report.counts.sum())
        # the modes are far apart in sigma: the nearest mode is the one a sample came from
        gaps = np.linalg.norm(bench.means[:, None] - bench.means[None], axis=2)
        assert gaps[gaps > 0].min() / bench.sigma > 10 * HQ_RADIUS
        panels[name] = (points, report, offsets, outside)

    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(2, 2, figsize=(WIDTH, 6.9), layout="constrained")
        for column, name in enumerate(("ring", "grid")):
            points, report, offsets, outside = panels[name]
            bench = BENCHMARKS[name]
            top, bottom = axes[0, column], axes[1, column]
            plot_points(points, name, ax=top,
                        title=f"{name}: K = {bench.n_modes}, σ = {bench.sigma:g}")
            top.tick_params(labelsize=FONT)
            inside = ~outside
            bottom.scatter(offsets[inside, 0], offsets[inside, 1], s=3, alpha=0.35, color="C0",
                           linewidths=0)
            bottom.scatter(offsets[outside, 0], offsets[outside, 1], s=14, color="C1",
                           label=f"outside: {outside.sum()}")
            bottom.add_patch(Circle((0, 0), HQ_RADIUS, fill=False, color="C3", lw=1.2))
            bottom.set_xlim(-4.6, 4.6)
            bottom.set_ylim(-4.6, 4.6)
            bottom.set_aspect("equal")
            bottom.set_xticks([-3, 0, 3])
            bottom.set_yticks([-3, 0, 3])
            bottom.set_xlabel("(x − nearest mode) / σ")
            bottom.set_title(f"{report.high_quality_pct:.2f}% high quality")
            bottom.legend(loc="upper right", frameon=False, handletextpad=0.1,
                          borderaxespad=0.1)
        save(fig, path)


def true_scores(path: Path) -> None:
    """What a perfect generator scores: the high-quality share of 2,500 true samples against the
    binomial law, and twice the number of high-quality points times the reverse KL against the
    chi-square law with K - 1 degrees of freedom."""
    rng = np.random.default_rng(60)
    hq, g = {}, {}
    for name in ("ring", "grid"):
        reports = [evaluate(sample(name, EVAL_POINTS, rng), name) for _ in range(REPEATS)]
        counts = np.array([int(r.counts.sum()) for r in reports])
        hq[name] = counts
        g[name] = np.array([2 * int(r.counts.sum()) * r.reverse_kl for r in reports])
        # the count of high-quality points is Binomial(2500, 1 - e^-4.5): mean and variance
        p = TRUE_HQ_PROBABILITY
        mean, var = EVAL_POINTS * p, EVAL_POINTS * p * (1 - p)
        assert abs(counts.mean() - mean) < Z * math.sqrt(var / REPEATS), (name, counts.mean())
        assert abs(counts.var(ddof=1) / var - 1) < Z * math.sqrt(2 / (REPEATS - 1)), name
        assert all(r.modes == BENCHMARKS[name].n_modes for r in reports)
        # 2 m KL(histogram || uniform) is the G statistic: close to chi-square with K - 1 degrees
        # of freedom, so E[reverse KL] is about (K - 1) / (2 m); 2 % allows for the O(1/m) rest
        dof = BENCHMARKS[name].n_modes - 1
        error = g[name].std(ddof=1) / math.sqrt(REPEATS)
        assert abs(g[name].mean() - dof) < Z * error + 0.02 * dof, (name, g[name].mean(), dof)

    with plt.rc_context(STYLE):
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(WIDTH, 7.2), layout="constrained")
        p = TRUE_HQ_PROBABILITY
        low, high = int(min(c.min() for c in hq.values())), int(max(c.max() for c in hq.values()))
        k = np.arange(low - 3, min(high + 4, EVAL_POINTS + 1))
        edges = np.append(k, k[-1] + 1) - 0.5
        for name, color in (("ring", "C0"), ("grid", "C2")):
            top.hist(100 * hq[name] / EVAL_POINTS, bins=100 * edges / EVAL_POINTS,
                     histtype="step", color=color, linewidth=1.4,
                     label=f"{name}: {REPEATS:,} sets of {EVAL_POINTS:,} true samples")
        top.plot(100 * k / EVAL_POINTS, REPEATS * scipy.stats.binom.pmf(k, EVAL_POINTS, p),
                 "o", color="0.15", markersize=3.5, label="binomial law")
        top.axvline(100 * p, color="C3", linestyle="--",
                    label=f"100 (1 − e$^{{-4.5}}$) = {100 * p:.2f}%")
        top.set_xlabel("high-quality samples, %")
        top.set_ylabel("sets")
        top.set_title("the high-quality share of a perfect generator")
        top.legend(loc="upper left", frameon=True, framealpha=1.0, edgecolor="none")
        top.set_ylim(0, top.get_ylim()[1] * 1.9)
        grid = np.linspace(0, max(np.quantile(v, 0.999) for v in g.values()), 400)
        for name, color in (("ring", "C0"), ("grid", "C2")):
            dof = BENCHMARKS[name].n_modes - 1
            bottom.hist(g[name], bins=50, density=True, histtype="step", color=color,
                        linewidth=1.4, label=f"{name}: 2m · reverse KL")
            bottom.plot(grid, scipy.stats.chi2.pdf(grid, dof), color=color, linestyle="--",
                        label=f"chi-square, {dof} degrees of freedom")
        bottom.set_xlabel("2m · reverse KL  (m = number of high-quality samples)")
        bottom.set_ylabel("density")
        bottom.set_title("the reverse KL of a perfect generator is not 0")
        bottom.legend(loc="upper right", frameon=False)
        save(fig, path)


# ---------------------------------------------------------------------------------------------
# The worked example: two modes, a table of discriminator values, alternating gradient steps
# ---------------------------------------------------------------------------------------------

def _sigmoid(t):
    return 1.0 / (1.0 + np.exp(-t))


def game_step(state: np.ndarray, eta_d: float, eta_g: float, alternate: bool = True) -> np.ndarray:
    """One round of the two-mode game; state = (w_a, w_b, s).

    The discriminator's values are D = sigmoid(w), one per mode; the data put 1/2 on each mode
    and the generator s on mode a. The discriminator takes a gradient ascent step on
    V = sum_k p_k log D_k + q_k log(1 - D_k); the generator then moves s along the gradient of
    its non-saturating objective s log D_a + (1 - s) log D_b, using the new D if it alternates,
    the old one if the steps are simultaneous, and s is clipped to [0, 1].
    """
    w, s = state[:2], state[2]
    p, q = np.array([0.5, 0.5]), np.array([s, 1 - s])
    d = _sigmoid(w)
    w_new = w + eta_d * (p * (1 - d) - q * d)
    d_seen = _sigmoid(w_new) if alternate else d
    s_new = float(np.clip(s + eta_g * (np.log(d_seen[0]) - np.log(d_seen[1])), 0.0, 1.0))
    return np.array([w_new[0], w_new[1], s_new])


def linear_map(eta_d: float, eta_g: float, alternate: bool = True) -> np.ndarray:
    """The derived linearisation around D = 1/2, s = 1/2 in (a, sigma) = (w_a - w_b, s - 1/2)."""
    if alternate:
        return np.array([[1 - eta_d / 4, -eta_d],
                         [eta_g / 2 * (1 - eta_d / 4), 1 - eta_d * eta_g / 2]])
    return np.array([[1 - eta_d / 4, -eta_d], [eta_g / 2, 1.0]])


def radius(matrix: np.ndarray) -> float:
    return float(np.abs(np.linalg.eigvals(matrix)).max())


def check_linearisation(eta_d: float, eta_g: float, alternate: bool) -> None:
    """The Jacobian of game_step at the equilibrium, by central differences, has the eigenvalues
    of linear_map plus 1 - eta_d/4 (the direction w_a + w_b, which the generator never sees)."""
    centre, h = np.array([0.0, 0.0, 0.5]), 1e-6
    jac = np.empty((3, 3))
    for j in range(3):
        step = np.zeros(3)
        step[j] = h
        jac[:, j] = (game_step(centre + step, eta_d, eta_g, alternate)
                     - game_step(centre - step, eta_d, eta_g, alternate)) / (2 * h)
    found = np.sort_complex(np.linalg.eigvals(jac))
    expected = np.sort_complex(np.append(np.linalg.eigvals(linear_map(eta_d, eta_g, alternate)),
                                         1 - eta_d / 4))
    assert np.allclose(found, expected, atol=1e-6), (eta_d, eta_g, alternate, found, expected)


def chase(path: Path) -> None:
    """The two-mode game under alternating gradient steps: the generator's share of mode a for a
    small and a large generator step, and the spectral radius of the linearised round."""
    eta_d = 1.0
    threshold = (8 - eta_d) / eta_d      # alternating rounds are stable iff eta_d (1 + eta_g) < 8
    small, large = 2.0, 8.0
    for eta_g in (0.3, small, large, 20.0):
        for alternate in (True, False):
            check_linearisation(eta_d, eta_g, alternate)
    # the derived thresholds: eta_g = (8 - eta_d) / eta_d alternating, 1/2 simultaneous
    for d in (0.25, 0.5, 1.0, 2.0):
        t = (8 - d) / d
        assert radius(linear_map(d, t * 0.999)) < 1 < radius(linear_map(d, t * 1.001)), d
        assert np.isclose(np.linalg.det(linear_map(d, 3.0)), 1 - d / 4)
        assert radius(linear_map(d, 0.499, False)) < 1 < radius(linear_map(d, 0.501, False)), d
    rounds = 40
    runs = {}
    for eta_g in (small, large):
        state = np.array([0.0, 0.0, 1.0])    # complete collapse onto mode a, D undecided
        history = [state]
        for _ in range(rounds):
            state = game_step(state, eta_d, eta_g)
            history.append(state)
        runs[eta_g] = np.array(history)
    long = np.array([0.0, 0.0, 1.0])
    for _ in range(2_000):
        long = game_step(long, eta_d, small)
    assert abs(long[2] - 0.5) < 1e-9 and np.allclose(_sigmoid(long[:2]), 0.5, atol=1e-9)
    hop = runs[large][:, 2]
    assert radius(linear_map(eta_d, small)) < 1 < radius(linear_map(eta_d, large))
    assert np.all(np.isin(hop[-20:], (0.0, 1.0))) and np.all(np.diff(hop[-20:]) != 0), hop
    assert abs(hop[-20:].mean() - 0.5) < 1e-12   # time-averaged, it covers both modes evenly

    with plt.rc_context(STYLE):
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(WIDTH, 6.9), layout="constrained")
        t = np.arange(rounds + 1)
        top.plot(t, runs[small][:, 2], "o-", color="C0", markersize=4,
                 label=f"generator step {small:g}: the chase dies out")
        top.plot(t, runs[large][:, 2], "s-", color="C1", markersize=4, linewidth=0.9,
                 label=f"generator step {large:g}: it hops every round")
        top.axhline(0.5, color="0.5", linestyle=":", linewidth=1)
        top.set_xlabel("round (one discriminator step, then one generator step)")
        top.set_ylabel("generator's share of mode a")
        top.set_title(f"two modes, discriminator step {eta_d:g}, start: all on mode a")
        top.set_ylim(-0.05, 1.45)
        top.set_yticks([0, 0.5, 1])
        top.legend(loc="upper right", frameon=False)
        etas = np.geomspace(0.05, 50, 300)
        top_radius = [radius(linear_map(eta_d, e)) for e in etas]
        bottom.plot(etas, top_radius, color="C0", label="alternating steps")
        bottom.plot(etas, [radius(linear_map(eta_d, e, False)) for e in etas], color="C1",
                    linestyle="--", label="simultaneous steps")
        bottom.axhline(1.0, color="0.5", linestyle=":", linewidth=1)
        bottom.axvline(threshold, color="C0", linewidth=0.8)
        bottom.text(threshold * 1.1, 0.62, f"{threshold:g}", color="C0")
        bottom.axvline(0.5, color="C1", linewidth=0.8)
        bottom.text(0.5 * 1.1, 0.62, "1/2", color="C1")
        bottom.set_xscale("log")
        bottom.set_ylim(0.5, 2.5)
        bottom.set_xlabel("generator step")
        bottom.set_ylabel("spectral radius")
        bottom.set_title("linearised round: above 1 the equilibrium is unstable")
        bottom.legend(loc="upper left", frameon=False)
        save(fig, path)


# ---------------------------------------------------------------------------------------------
# Packing: the total variation of m-sample packs, collapsed against spread-out generators
# ---------------------------------------------------------------------------------------------

K_PACK = 8
P_PACK = np.full(K_PACK, 1 / K_PACK)
COLLAPSED = np.r_[np.full(6, 1 / 6), 0.0, 0.0]                   # misses two of the eight modes
SPREAD = np.r_[np.full(4, 3 / 16), np.full(4, 1 / 16)]           # keeps all eight, reweighted


def packed_tv_brute(p: np.ndarray, q: np.ndarray, m: int) -> float:
    """d_TV(p^m, q^m) over all K^m ordered packs, grouped by their counts per mode."""
    total = 0.0
    for counts in itertools.product(range(m + 1), repeat=len(p)):
        if sum(counts) != m:
            continue
        c = np.array(counts)
        ways = math.factorial(m) / np.prod([math.factorial(int(x)) for x in c])
        total += ways * abs(np.prod(p ** c) - np.prod(q ** c))
    return total / 2


def packed_tv_collapsed(m: np.ndarray) -> np.ndarray:
    """Derived on the page: 1 - (3/4)^m, the chance that a real pack hits a missing mode."""
    return 1 - 0.75 ** m


def packed_tv_spread(m: int) -> float:
    """Derived on the page: only the number j of draws in the heavy half matters,
    Binomial(m, 1/2) for the data against Binomial(m, 3/4) for the generator."""
    j = np.arange(m + 1)
    return 0.5 * float(np.abs(scipy.stats.binom.pmf(j, m, 0.5)
                              - scipy.stats.binom.pmf(j, m, 0.75)).sum())


def packing(path: Path) -> None:
    """d_TV(P^m, Q^m) against the pack size m for two generators at the same d_TV(P, Q)."""
    for q in (COLLAPSED, SPREAD):
        assert np.isclose(q.sum(), 1) and np.isclose(0.5 * np.abs(q - P_PACK).sum(), 0.25)
    packs = np.arange(1, 11)
    collapsed = packed_tv_collapsed(packs)
    spread = np.array([packed_tv_spread(int(m)) for m in packs])
    brute = range(1, 5)
    for m in brute:
        assert math.isclose(packed_tv_brute(P_PACK, COLLAPSED, m), collapsed[m - 1], rel_tol=1e-12)
        assert math.isclose(packed_tv_brute(P_PACK, SPREAD, m), spread[m - 1], rel_tol=1e-12)
    assert math.isclose(collapsed[0], spread[0]) and np.all(collapsed[1:] > spread[1:])
    assert np.all(np.diff(collapsed) > 0) and np.all(np.diff(spread) >= 0)

    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(WIDTH, 4.3), layout="constrained")
        ax.plot(packs, collapsed, "o-", color="C1",
                label="misses 2 of 8 modes: 1 − (3/4)$^m$")
        ax.plot(packs, spread, "s-", color="C0", label="all 8 modes, weights 3/16 and 1/16")
        ax.plot(list(brute), [packed_tv_brute(P_PACK, SPREAD, m) for m in brute], "x",
                color="0.1", markersize=9, label="enumerating every pack")
        ax.plot(list(brute), [packed_tv_brute(P_PACK, COLLAPSED, m) for m in brute], "x",
                color="0.1", markersize=9)
        ax.set_xlabel("pack size m")
        ax.set_ylabel("d$_{TV}$(P$^m$, Q$^m$)")
        ax.set_xticks(packs)
        ax.set_ylim(0, 1.05)
        ax.set_title("two generators at total variation 1/4 from the ring's modes")
        ax.legend(loc="lower right", frameon=False)
        save(fig, path)


# ---------------------------------------------------------------------------------------------
# What the labs' generators produced, from the points they stored
# ---------------------------------------------------------------------------------------------

RESULTS = ROOT / "results"


def stored_scores(framework: str) -> tuple[dict, dict, dict]:
    """The stored final points of one lab, re-scored: (points, benchmarks, mean scores).

    Checks that the scores recomputed from the stored points are the ones the lab recorded in
    results/06_mode_collapse.json, so the figure and the page's numbers are the same runs.
    """
    from helpers.point_files import load_points
    from helpers.recorded import load_recorded

    points, benches, _ = load_points(RESULTS / f"06_mode_collapse_samples_{framework}.npz")
    recorded = load_recorded(RESULTS)["06_mode_collapse"][framework]
    means = {}
    for (name, method), seeds in points.items():
        reports = [evaluate(p, benches[name]) for p in seeds]
        means[(name, method)] = (float(np.mean([r.modes for r in reports])),
                                 float(np.mean([r.high_quality_pct for r in reports])))
        for metric, value in zip(("modes", "high_quality_pct"), means[(name, method)]):
            stored = recorded[f"{name}_{method}_{metric}"]
            assert math.isclose(value, stored, rel_tol=1e-9, abs_tol=1e-9), (name, method, metric)
    return points, benches, means


def measured(path: Path, framework: str = "torch") -> None:
    """Seed 0 of the plain GAN and of the best method on each benchmark (PyTorch lab)."""
    points, benches, means = stored_scores(framework)
    names = [name for name in BENCHMARKS if (name, "gan") in points]
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(len(names), 2, figsize=(WIDTH, WIDTH / 2 * len(names) + 0.4),
                                 layout="constrained", squeeze=False)
        for row, name in zip(axes, names):
            best = max((m for n, m in means if n == name), key=lambda m: means[(name, m)])
            for ax, method in zip(row, ("gan", best)):
                report = evaluate(points[(name, method)][0], benches[name])
                plot_points(points[(name, method)][0], benches[name], ax=ax,
                            title=f"{name}, {method}: {report.modes} modes, "
                                  f"{report.high_quality_pct:.0f}%")
                ax.tick_params(labelsize=FONT)
        save(fig, path)


FIGURES = {"06_benchmarks.png": benchmarks, "06_true_scores.png": true_scores,
           "06_chase.png": chase, "06_packing.png": packing}
if (RESULTS / "06_mode_collapse_samples_torch.npz").exists():  # drawn once the lab has run
    FIGURES["06_measured.png"] = measured


def main() -> None:
    draw(FIGURES)


if __name__ == "__main__":
    main()

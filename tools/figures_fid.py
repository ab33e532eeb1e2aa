"""Figures of chapter 7 (the Fréchet Inception Distance), computed when the book is built.

The conventions are those of tools/figures.py: drawn from code, never from typed-in numbers,
6.3 inches wide with no text under 12 pt, saved at 200 dpi under book/figures/ (not
committed). Each figure samples Gaussian "features" whose distribution is known, so every
plotted Monte-Carlo average has an exact value to be checked against before it is saved.
"""
from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tools.figure_style import STYLE, WIDTH, draw, save  # noqa: E402
from helpers import fid  # noqa: E402



D = 16          # dimension of the Gaussian features of both figures
Z = 4.0         # a Monte-Carlo mean must lie within Z standard errors of its exact value


def gaussians() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Two fixed Gaussians in D dimensions, (mean (D,), covariance (D, D)) each, with unequal,
    non-commuting covariances (geometric spectra in random orientations) and a shifted mean."""
    rng = np.random.default_rng(7)
    pair = []
    for scale, ratio, shift in ((2.0, 0.8, 0.0), (1.5, 0.85, 0.3)):
        rotation, _ = np.linalg.qr(rng.standard_normal((D, D)))
        sigma = (rotation * (scale * ratio ** np.arange(D))) @ rotation.T
        pair.append((shift * rng.standard_normal(D), (sigma + sigma.T) / 2))
    return pair[0], pair[1]


def check_closed_form(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """The chapter's derivations, checked on one pair: returns the Fréchet distance."""
    value = fid.frechet_distance(mu1, s1, mu2, s2)
    # The optimal map T = S^-1 (S s2 S)^(1/2) S^-1 with S = s1^(1/2): symmetric, it carries s1
    # to s2, and its coupling's cost E|X - T X|^2 is the formula.
    w, v = np.linalg.eigh(s1)
    root = (v * np.sqrt(w)) @ v.T
    inverse = (v / np.sqrt(w)) @ v.T
    wm, vm = np.linalg.eigh(root @ s2 @ root)
    t = inverse @ ((vm * np.sqrt(wm)) @ vm.T) @ inverse
    assert np.allclose(t, t.T, atol=1e-10) and np.linalg.eigvalsh(t).min() > 0
    assert np.allclose(t @ s1 @ t, s2, atol=1e-10)
    cost = (mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(s1 @ t)
    assert np.isclose(cost, value, rtol=1e-10)
    # The eigenvalues of the non-symmetric product s1 s2 are those of L^T s2 L (Cholesky
    # s1 = L L^T): real and positive, up to rounding.
    lam = np.linalg.eigvals(s1 @ s2)
    lower = np.linalg.cholesky(s1)
    assert np.abs(lam.imag).max() < 1e-10 * np.abs(lam).max()
    assert np.allclose(np.sort(lam.real), np.linalg.eigvalsh(lower.T @ s2 @ lower), atol=1e-12)
    # One dimension: (m1 - m2)^2 + (s1 - s2)^2 in terms of standard deviations.
    assert np.isclose(fid.frechet_distance([0.3], [[4.0]], [-0.2], [[0.25]]), 0.5**2 + 1.5**2)
    return value


def identical_slope(sigma: np.ndarray) -> float:
    """k in E FID_N = k / N + O(1/N^2) for two independent samples of N from N(mu, sigma):
    3 tr sigma + sum over i != j of l_i l_j / (l_i + l_j), l the eigenvalues of sigma."""
    lam = np.linalg.eigvalsh(sigma)
    pairs = np.outer(lam, lam) / (lam[:, None] + lam[None, :])
    return float(3 * lam.sum() + pairs.sum() - np.trace(pairs))


def sample_fids(rng: np.random.Generator, first: tuple, second: tuple, n: int,
                reps: int) -> tuple[np.ndarray, np.ndarray]:
    """FIDs of ``reps`` independent pairs of samples of size n, and their mean terms
    |mu1_hat - mu2_hat|^2; each (reps,)."""
    factors = [np.linalg.cholesky(sigma) for _, sigma in (first, second)]
    fids, mean_terms = np.empty(reps), np.empty(reps)
    for r in range(reps):
        (x, y) = (mu + rng.standard_normal((n, D)) @ factor.T
                  for (mu, _), factor in zip((first, second), factors))
        m1, m2 = x.mean(axis=0), y.mean(axis=0)
        fids[r] = fid.frechet_distance(m1, np.cov(x, rowvar=False), m2, np.cov(y, rowvar=False))
        mean_terms[r] = (m1 - m2) @ (m1 - m2)
    return fids, mean_terms


def fid_bias(path: Path) -> None:
    """FID_N against 1/N for Gaussian features: the predicted leading bias for one distribution
    against itself, and the extrapolation to 1/N = 0 for two different ones."""
    first, second = gaussians()
    exact = check_closed_form(*first, *second)
    rng = np.random.default_rng(0)
    sizes = np.array([50, 100, 200, 400, 800])
    reps = 600
    slope = identical_slope(first[1])
    cases = {"same": (first, first, 0.0), "different": (first, second, exact)}
    means, errors = {}, {}
    for name, (p, q, limit) in cases.items():
        means[name], errors[name] = np.empty(len(sizes)), np.empty(len(sizes))
        for i, n in enumerate(sizes):
            fids, mean_terms = sample_fids(rng, p, q, int(n), reps)
            means[name][i], errors[name][i] = fids.mean(), fids.std(ddof=1) / np.sqrt(reps)
            # The mean term's bias is exact: E|mu1_hat - mu2_hat|^2 = |mu1 - mu2|^2 + (tr s1 + tr s2)/N.
            expected = (p[0] - q[0]) @ (p[0] - q[0]) + (np.trace(p[1]) + np.trace(q[1])) / n
            error = mean_terms.std(ddof=1) / np.sqrt(reps)
            assert abs(mean_terms.mean() - expected) < Z * error, (name, n, mean_terms.mean(), expected)
            assert means[name][i] > limit   # Jensen: FID_N is biased upwards
    # One distribution against itself: the leading term k/N, to Z standard errors plus 3 % for
    # the O(1/N^2) rest.
    predicted = slope / sizes
    assert np.all(np.abs(means["same"] - predicted) < Z * errors["same"] + 0.03 * predicted), \
        (means["same"], predicted)
    # Two different distributions: a weighted straight line in 1/N (Chong and Forsyth) meets
    # 1/N = 0 at the exact distance.
    inverse = 1.0 / sizes
    design = np.stack([np.ones_like(inverse), inverse], axis=1) / errors["different"][:, None]
    coef, *_ = np.linalg.lstsq(design, means["different"] / errors["different"], rcond=None)
    intercept_error = np.sqrt(np.linalg.inv(design.T @ design)[0, 0])
    assert abs(coef[0] - exact) < Z * intercept_error + 1e-3 * exact, (coef, exact, intercept_error)

    with plt.rc_context(STYLE):
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(WIDTH, 7.4), sharex=True,
                                          layout="constrained")
        grid = np.linspace(0, inverse.max() * 1.05, 50)
        top.errorbar(inverse, means["same"], yerr=2 * errors["same"], fmt="o", color="0.15",
                     markersize=4, capsize=3, label=f"mean of {reps} Monte-Carlo FIDs (±2 s.e.)")
        top.plot(grid, slope * grid, color="C0", label="predicted leading term $k/N$")
        top.plot(grid, 2 * np.trace(first[1]) * grid, color="C1", linestyle="--",
                 label=r"mean term alone, $2\,\mathrm{tr}\,\Sigma/N$")
        top.set_title(f"one Gaussian against itself, d = {D}: the limit is 0")
        top.set_ylabel("FID")
        top.legend(loc="upper left", frameon=False)
        bottom.errorbar(inverse, means["different"], yerr=2 * errors["different"], fmt="o",
                        color="0.15", markersize=4, capsize=3,
                        label=f"mean of {reps} Monte-Carlo FIDs (±2 s.e.)")
        bottom.plot(grid, coef[0] + coef[1] * grid, color="C0",
                    label=f"straight line in 1/N, to 1/N = 0: {coef[0]:.3f}")
        bottom.axhline(exact, color="C3", linestyle=":", linewidth=1.2)
        bottom.plot([0], [exact], marker="*", markersize=13, color="C3", linestyle="none",
                    label=f"exact distance of the two Gaussians: {exact:.3f}")
        bottom.set_title("two different Gaussians: extrapolating to infinitely many samples")
        bottom.set_xlabel("1 / N (N samples from each distribution)")
        bottom.set_ylabel("FID")
        bottom.set_xlim(-0.0008, inverse.max() * 1.05)
        bottom.legend(loc="upper left", frameon=False)
        save(fig, path)


def _raw_moments(mu: np.ndarray, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """E x (D,), E x x^T (D, D) and E x (x) x (x) x (D, D, D) for x ~ N(mu, sigma)."""
    second = sigma + np.outer(mu, mu)
    third = (np.einsum("i,j,k->ijk", mu, mu, mu) + np.einsum("i,jk->ijk", mu, sigma)
             + np.einsum("j,ik->ijk", mu, sigma) + np.einsum("k,ij->ijk", mu, sigma))
    return mu, second, third


def cubic_kernel_mean(p: tuple, q: tuple) -> float:
    """E k(x, y) for independent x ~ p, y ~ q and k(x, y) = (x.y / D + 1)^3.

    (1 + u)^3 = 1 + 3u + 3u^2 + u^3 with u = x.y / D, and E (x.y)^r pairs the r-th raw moment
    tensors of p and q, because x and y are independent."""
    a, b = _raw_moments(*p), _raw_moments(*q)
    return float(1 + sum(c * np.sum(m * n) / D**r
                         for r, (c, m, n) in enumerate(zip((3, 3, 1), a, b), start=1)))


def cubic_kernel_self(p: tuple) -> float:
    """E k(x, x) = E (|x|^2 / D + 1)^3 for x ~ N(mu, sigma), from the cumulants of the quadratic
    form |x|^2: kappa_r = 2^(r-1) (r-1)! (tr sigma^r + r mu^T sigma^(r-1) mu)."""
    mu, sigma = p
    power = [np.eye(D), sigma, sigma @ sigma, sigma @ sigma @ sigma]
    k1, k2, k3 = (2 ** (r - 1) * np.prod(range(1, r)) * (np.trace(power[r]) + r * mu @ power[r - 1] @ mu)
                  for r in (1, 2, 3))
    m1, m2, m3 = k1, k2 + k1**2, k3 + 3 * k2 * k1 + k1**3
    return float(m3 / D**3 + 3 * m2 / D**2 + 3 * m1 / D + 1)


def _cube(k: np.ndarray) -> np.ndarray:
    return k * k * k   # two products: much faster than a float power


def kid_bias(path: Path) -> None:
    """The unbiased MMD^2 estimate of KID and the plug-in estimate against N, both against
    their exact expectations for Gaussian features."""
    p, q = gaussians()
    exact = cubic_kernel_mean(p, p) + cubic_kernel_mean(q, q) - 2 * cubic_kernel_mean(p, q)
    # The closed forms, against brute-force sampling of the kernel.
    rng = np.random.default_rng(1)
    draws = 200_000
    x = p[0] + rng.standard_normal((draws, D)) @ np.linalg.cholesky(p[1]).T
    y = q[0] + rng.standard_normal((draws, D)) @ np.linalg.cholesky(q[1]).T
    for sample, expected in ((((x * x).sum(1) / D + 1) ** 3, cubic_kernel_self(p)),
                             ((((x * y).sum(1) / D + 1) ** 3), cubic_kernel_mean(p, q))):
        assert abs(sample.mean() - expected) < Z * sample.std() / np.sqrt(draws), (sample.mean(), expected)
    # The plug-in (V-statistic) estimate keeps the pairs of a sample with itself; each set of
    # N adds (E k(x, x) - E k(x, x')) / N.
    excess = cubic_kernel_self(p) - cubic_kernel_mean(p, p) + cubic_kernel_self(q) - cubic_kernel_mean(q, q)

    # Kept small: the kernel matrices are N x N, and N = 10 < D shows that KID needs no
    # covariance of full rank.
    sizes = np.array([10, 20, 40, 80, 160])
    reps = np.array([4000, 3000, 1500, 800, 500])
    factors = [np.linalg.cholesky(sigma) for _, sigma in (p, q)]
    unbiased, plug_in = np.empty((2, len(sizes))), np.empty((2, len(sizes)))  # (mean, s.e.)
    for i, (n, r) in enumerate(zip(sizes, reps)):
        u, v = np.empty(r), np.empty(r)
        for j in range(r):
            x, y = (mu + rng.standard_normal((n, D)) @ f.T for (mu, _), f in zip((p, q), factors))
            kxx, kyy, kxy = (_cube((a @ b.T) / D + 1) for a, b in ((x, x), (y, y), (x, y)))
            v[j] = kxx.mean() + kyy.mean() - 2 * kxy.mean()
            u[j] = ((kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                    - 2 * kxy.mean())
            if j == 0:   # the book's implementation computes the same number
                assert np.isclose(fid.polynomial_mmd2(x, y), u[j], rtol=1e-9, atol=1e-12)
        for store, values in ((unbiased, u), (plug_in, v)):
            store[:, i] = values.mean(), values.std(ddof=1) / np.sqrt(r)
    assert np.all(np.abs(unbiased[0] - exact) < Z * unbiased[1]), (unbiased, exact)
    assert np.all(np.abs(plug_in[0] - exact - excess / sizes) < Z * plug_in[1]), (plug_in, excess)

    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(WIDTH, 4.6), layout="constrained")
        grid = np.geomspace(sizes.min() * 0.85, sizes.max() * 1.15, 100)
        ax.plot(grid, exact + excess / grid, color="C1", linestyle="--",
                label="plug-in, predicted: MMD² + excess / N")
        ax.errorbar(sizes, plug_in[0], yerr=2 * plug_in[1], fmt="s", color="C1", markersize=5,
                    capsize=3, label="plug-in estimate (pairs with themselves kept)")
        ax.axhline(exact, color="C0", label=f"exact MMD² of the two Gaussians: {exact:.3f}")
        ax.errorbar(sizes, unbiased[0], yerr=2 * unbiased[1], fmt="o", color="0.15", markersize=5,
                    capsize=3, label="unbiased estimate (KID), mean ± 2 s.e.")
        ax.set_xscale("log")
        ax.set_xticks(sizes, [str(n) for n in sizes])
        ax.minorticks_off()
        ax.set_xlabel("N samples from each distribution")
        ax.set_ylabel("MMD² estimate, cubic kernel")
        ax.set_title(f"Gaussian features, d = {D}: averages over repeated samples")
        ax.legend(loc="upper right", frameon=False)
        save(fig, path)


FIGURES = {"07_fid_bias.png": fid_bias, "07_kid_bias.png": kid_bias}


def main() -> None:
    draw(FIGURES)


if __name__ == "__main__":
    main()

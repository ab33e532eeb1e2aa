"""Figures of the theory pages, computed when the book is built (`make book` runs this).

Each function draws one figure from code and data, never from typed-in numbers, and saves it
under book/figures/, which is not committed; chapter 4's long-run figure reads the recorded
results and the paper numbers from results/. This file holds chapters 1-4; chapters 5, 6 and 7
have a module each (tools/figures_gan.py, figures_modes.py, figures_fid.py), as has the front
page (figures_intro.py), and `main` here draws them all. Sizes and the checks before saving are
in tools/figure_style.py.
"""
from __future__ import annotations

import functools
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import scipy.integrate  # noqa: E402
import scipy.stats  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from helpers import load_mnist  # noqa: E402
from helpers.recorded import load_recorded, read_file  # noqa: E402
from tools.figure_style import WIDTH, draw, save  # noqa: E402
from tools.scoreboard import load_scoreboard  # noqa: E402

@functools.cache
def mnist64(split: str) -> np.ndarray:
    """All images of a split as float64 (N, 784), loaded once for every figure; read-only."""
    x, _ = load_mnist(split)
    x = x.astype(np.float64)
    x.setflags(write=False)
    return x


def dropout_masks(path: Path) -> None:
    """One digit under inverted-dropout masks, and the binomial count of dropped units."""
    rng = np.random.default_rng(0)
    x, _ = load_mnist("test", subset=10, shape="image")
    digit = x[0]
    fig = plt.figure(figsize=(WIDTH, 5.0), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1.5])
    panels = [("input", digit)] + [
        (f"p = {p}\nkept ×{1 / (1 - p):g}", digit * (rng.random(digit.shape) >= p) / (1 - p))
        for p in (0.2, 0.5, 0.8)]
    for ax, (title, image) in zip(top.subplots(1, 4), panels):
        ax.imshow(np.minimum(image, 1.0), cmap="gray_r", vmin=0, vmax=1)  # scaled values saturate
        ax.set_title(title)
        ax.axis("off")
    n, p, draws = 784, 0.5, 20_000
    dropped = (rng.random((draws, n)) < p).sum(axis=1)
    ax = bottom.subplots()
    k = np.arange(dropped.min(), dropped.max() + 1)
    ax.hist(dropped, bins=np.append(k, k[-1] + 1) - 0.5, density=True, color="0.7",
            label=f"{draws:,} sampled masks")
    ax.plot(k, scipy.stats.binom.pmf(k, n, p), color="C0", label="Binomial(784, 0.5)")
    ax.axvline(n * p, color="C3", linestyle="--", label="k = pN = 392")
    ax.set_xlabel("units dropped out of 784, p = 0.5")
    ax.set_yticks([])
    ax.legend(loc="upper left", frameon=False)
    save(fig, path)


def pca_codes(path: Path) -> None:
    """The best linear autoencoder (PCA) at several code sizes: reconstructions and test MSE."""
    x_train, x_test = mnist64("train"), mnist64("test")  # (60000, 784), (10000, 784) in [0, 1]
    mean = x_train.mean(axis=0)
    centred = x_train - mean
    eigenvalues, eigenvectors = np.linalg.eigh(centred.T @ centred / len(centred))
    order = np.argsort(eigenvalues)[::-1]               # largest variance first
    eigenvalues, basis = np.clip(eigenvalues[order], 0, None), eigenvectors[:, order]
    d = x_train.shape[1]
    ks = np.array([0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, d])
    train_mse = np.array([eigenvalues[k:].sum() / d for k in ks])   # closed form
    test_coords = (x_test - mean) @ basis               # (10000, 784) principal coordinates
    test_mse = np.array([(test_coords[:, k:] ** 2).sum(axis=1).mean() / d for k in ks])  # what k leaves

    shown, codes = x_test[:7], (2, 8, 32, 128)
    fig = plt.figure(figsize=(WIDTH, 7.0), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 0.95])
    rows = [("input", shown)] + [
        (f"k = {k}", mean + (shown - mean) @ basis[:, :k] @ basis[:, :k].T) for k in codes]
    grid = top.subplots(len(rows), len(shown), gridspec_kw={"wspace": 0.04, "hspace": 0.04})
    for r, (label, images) in enumerate(rows):
        for c, image in enumerate(images):
            ax = grid[r, c]
            ax.imshow(np.clip(image, 0, 1).reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(label, rotation=0, ha="right", va="center")
    ax = bottom.subplots()
    ax.plot(ks[1:-1], train_mse[1:-1], marker="o", label="training set (closed form)")
    ax.plot(ks[1:-1], test_mse[1:-1], marker="s", linestyle="--", label="test set")
    ax.axhline(test_mse[0], color="0.5", linewidth=0.8, label=f"k = 0 (mean image): {test_mse[0]:.4f}")
    ax.set_xscale("log", base=2)
    ax.set_xticks(ks[1:-1:2], [str(k) for k in ks[1:-1:2]])
    ax.set_yscale("log")
    ax.set_xlabel("code size k")
    ax.set_ylabel("MSE per pixel")
    ax.legend(loc="lower left", frameon=False)
    save(fig, path)


def dropout_penalty(path: Path) -> None:
    """Where input dropout's penalty falls, the best linear map under it, and what dropout on a
    code costs: closed forms next to Monte Carlo estimates."""
    x = mnist64("train")
    second = x.T @ x / len(x)                            # S = E[x x^T], (784, 784)
    weight = np.diag(second)                             # E[x_j^2]: the penalty weight of pixel j
    active = weight > 0
    fig = plt.figure(figsize=(WIDTH, 6.4), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1.25])
    maps = top.subplots(1, 3)
    shown = maps[0].imshow(weight.reshape(28, 28), cmap="viridis", vmin=0, vmax=weight.max())
    maps[0].set_title("$E[x_j^2]$")
    top.colorbar(shown, ax=maps[0], shrink=0.8)
    for ax, p in zip(maps[1:], (0.2, 0.5)):
        lam = p / (1 - p)
        best = second @ np.linalg.pinv(second + lam * np.diag(weight))    # A* = S (S + lam diag S)^+
        shown = ax.imshow(np.where(active, np.diag(best), np.nan).reshape(28, 28), cmap="viridis",
                          vmin=0, vmax=1)
        ax.set_title(f"diag $A^\\star$, p = {p}")
    top.colorbar(shown, ax=maps[1:], shrink=0.8)
    for ax in maps:
        ax.axis("off")

    ax = bottom.subplots()
    rng = np.random.default_rng(0)
    rates = np.linspace(0.05, 0.9, 18)
    q = rates / (1 - rates)
    for i, r in enumerate((1, 2, 4)):
        gamma = r / (r + q)             # minimises the expected loss (1 - g)^2 + g^2 q / r
        ax.plot(rates, (1 - gamma) ** 2, color=f"C{i}", label=f"r = {r}")
        ax.plot(rates, q / (r + q), color=f"C{i}", linestyle="--")
        masks = rng.random((20_000, len(rates), r)) >= rates[None, :, None]    # Monte Carlo check
        coefficient = gamma * (masks / (1 - rates[None, :, None])).mean(axis=2)
        ax.plot(rates, ((1 - coefficient) ** 2).mean(axis=0), linestyle="none", marker=".", color="0.2")
    ax.plot([], [], color="0.2", linestyle="--", label="during training")
    ax.plot([], [], color="0.2", label="dropout off")
    ax.plot([], [], color="0.2", linestyle="none", marker=".", label="Monte Carlo")
    ax.set_xlabel("dropout rate p on the code")
    ax.set_ylabel("share of variance lost")
    ax.legend(ncols=2, loc="upper left", frameon=False)
    save(fig, path)


def vae_elbo(path: Path) -> None:
    """The ELBO and its gap on a one-dimensional latent-variable model, checked by numerical
    integration."""
    # p(z) = N(0, 1), p(x | z) = N(x; a z, s^2), one observed x. The posterior is Gaussian,
    # N(m, v), so one q in the Gaussian family closes the gap.
    a, s, x = 2.0, 1.0, 1.5
    v = 1.0 / (1.0 + a**2 / s**2)                       # posterior variance
    m = v * a * x / s**2                                # posterior mean

    def log_joint(z):                                   # log p(x, z) = log p(x | z) + log p(z)
        return scipy.stats.norm.logpdf(x, a * z, s) + scipy.stats.norm.logpdf(z)

    # log p(x) by quadrature, checked against the closed form N(x; 0, a^2 + s^2)
    evidence, _ = scipy.integrate.quad(lambda z: np.exp(log_joint(z)), -np.inf, np.inf, epsabs=1e-13)
    log_evidence = np.log(evidence)
    assert np.isclose(log_evidence, scipy.stats.norm.logpdf(x, 0.0, np.sqrt(a**2 + s**2)), atol=1e-9)

    def elbo(mu, sigma):
        """Closed form: E_q[log p(x | z)] - KL(N(mu, sigma^2) || N(0, 1))."""
        reconstruction = -0.5 * np.log(2 * np.pi * s**2) - ((x - a * mu) ** 2 + a**2 * sigma**2) / (2 * s**2)
        kl_prior = 0.5 * (mu**2 + sigma**2 - 1.0 - np.log(sigma**2))
        return reconstruction - kl_prior

    def kl_to_posterior(mu, sigma):
        """KL(q || p(z | x)) by quadrature, with log p(z | x) = log p(x, z) - log p(x)."""
        def integrand(z):
            log_q = scipy.stats.norm.logpdf(z, mu, sigma)
            return np.exp(log_q) * (log_q - log_joint(z) + log_evidence)
        value, _ = scipy.integrate.quad(integrand, mu - 12 * sigma, mu + 12 * sigma, epsabs=1e-12)
        return value

    fig, ax = plt.subplots(figsize=(WIDTH, 4.9), layout="constrained")
    mus = np.linspace(-1.0, 2.2, 200)
    checked = np.linspace(-0.8, 2.0, 15)
    widths = {1.0: "\\sigma_\\mathrm{post}", 0.5: "\\sigma_\\mathrm{post} / 2", 2.0: "2\\,\\sigma_\\mathrm{post}"}
    for i, (factor, width) in enumerate(widths.items()):
        sigma = factor * np.sqrt(v)
        ax.plot(mus, elbo(mus, sigma), color=f"C{i}", label=f"ELBO, $\\sigma_q = {width}$")
        right_side = np.array([log_evidence - kl_to_posterior(mu, sigma) for mu in checked])
        assert np.allclose(right_side, elbo(checked, sigma), atol=1e-6)   # the exact identity
        ax.plot(checked, right_side, linestyle="none", marker="o", markersize=3.5, color="0.15")
    ax.plot([], [], linestyle="none", marker="o", markersize=3.5, color="0.15",
            label="$\\log p(x) - \\mathrm{KL}(q \\,\\Vert\\, p(z|x))$")
    ax.axhline(log_evidence, color="C3", linestyle="--", linewidth=1, label="$\\log p(x)$")
    ax.axvline(m, color="0.6", linewidth=0.8, label=f"posterior mean, {m:.2f}")
    ax.set_xlim(-0.9, 2.1)
    ax.set_ylim(log_evidence - 4.0, log_evidence + 0.6)
    ax.set_xlabel("mean $\\mu_q$ of the Gaussian $q(z)$")
    ax.set_ylabel("nats")
    ax.set_title(f"$z \\sim N(0, 1)$, $x | z \\sim N({a:g} z, {s:g})$, observed x = {x:g}")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2, frameon=False)
    save(fig, path)


def vae_estimators(path: Path) -> None:
    """The spread of the reparameterised and the score-function gradient estimates, formulas
    checked by Monte Carlo."""
    # d/dmu E_{N(mu, sigma^2)}[(z - c)^2] = 2 (mu - c), estimated from one draw per estimate.
    # Reparameterisation: 2 (mu + sigma eps - c), variance 4 sigma^2.
    # Score function: (z - c)^2 eps / sigma, variance d^4 / sigma^2 + 14 d^2 + 15 sigma^2, d = mu - c.
    fig, ax = plt.subplots(figsize=(WIDTH, 4.9), layout="constrained")
    rng = np.random.default_rng(0)
    c, draws = 0.0, 20_000
    offsets = np.linspace(-3.0, 3.0, 200)
    shown = np.linspace(-3.0, 3.0, 13)
    for i, sigma in enumerate((0.3, 1.0)):
        ax.plot(offsets, np.full_like(offsets, 2 * sigma), color=f"C{i}")
        ax.plot(offsets, np.sqrt(offsets**4 / sigma**2 + 14 * offsets**2 + 15 * sigma**2),
                color=f"C{i}", linestyle="--")
        eps = rng.standard_normal((draws, len(shown)))
        mu = c + shown
        z = mu + sigma * eps
        reparam = 2 * (z - c)
        score = (z - c) ** 2 * eps / sigma
        for estimate in (reparam, score):
            error = estimate.std(axis=0) / np.sqrt(draws)
            assert np.all(np.abs(estimate.mean(axis=0) - 2 * shown) < 6 * error + 1e-12)   # unbiased
            ax.plot(shown, estimate.std(axis=0), linestyle="none", marker="o", markersize=3.5,
                    color="0.15")
    for i, sigma in enumerate((0.3, 1.0)):
        ax.plot([], [], color=f"C{i}", linewidth=4, label=f"$\\sigma$ = {sigma:g}")
    ax.plot([], [], color="0.3", label="reparameterisation")
    ax.plot([], [], color="0.3", linestyle="--", label="score function")
    ax.plot([], [], linestyle="none", marker="o", markersize=3.5, color="0.15",
            label=f"Monte Carlo, {draws:,} draws")
    ax.set_yscale("log")
    ax.set_xlabel("distance $\\mu - c$ from the minimum of $f(z) = (z - c)^2$")
    ax.set_ylabel("sd of a one-draw estimate")
    ax.set_title("estimates of $\\frac{d}{d\\mu}\\,E[(z - c)^2]$, $z \\sim N(\\mu, \\sigma^2)$")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2, frameon=False)
    save(fig, path)


def vae_long_run(path: Path) -> None:
    """Test NLL of the long GPU runs (experiments/vae_long.py) after each stage of Burda et
    al.'s schedule, beside the 50-epoch labs and the paper's numbers."""
    runs = read_file("04_vae.long")["runs"]
    lab = load_recorded()["04_vae"]["torch"]
    specs = load_scoreboard(ROOT / "results" / "scoreboard.json")["04_vae"]["metrics"]
    names = {"vae": "VAE (ELBO)", "iwae": "IWAE ($L_5$)"}
    fig, ax = plt.subplots(figsize=(WIDTH, 5.4), layout="constrained")
    for i, objective in enumerate(("vae", "iwae")):
        evaluations = runs[objective]["evaluations"]
        epochs = np.array([e["epoch"] for e in evaluations])
        nll = np.array([e["nll"] for e in evaluations])
        se = np.array([e["nll_se"] for e in evaluations])
        ax.fill_between(epochs, nll - se, nll + se, color=f"C{i}", alpha=0.25, linewidth=0)
        ax.plot(epochs, nll, color=f"C{i}", marker="o", markersize=4,
                label=f"{names[objective]}, GPU run, {epochs[-1]:,} epochs")
        ax.plot([50], [lab[f"{objective}_test_nll"]], color=f"C{i}", linestyle="none",
                marker="s", markersize=7, markerfacecolor="white", markeredgewidth=1.5)
        paper = specs[f"long_{objective}_nll"]["paper"]
        ax.axhline(paper["value"], color=f"C{i}", linestyle="--", linewidth=1)
        ax.annotate(f"Burda et al., {names[objective].split()[0]}: {paper['value']:.2f}",
                    (0, paper["value"]), xycoords=("axes fraction", "data"),
                    xytext=(4, -3 if objective == "iwae" else 3), textcoords="offset points",
                    va="top" if objective == "iwae" else "bottom", color=f"C{i}")
    spec = specs["long_vae_nll"]
    goal = spec["paper"]["value"] + spec["goal"]["within"]
    ax.axhline(goal, color="0.2", linestyle=":", linewidth=1.2, label=f"goal, {goal:.0f} nats")
    ax.plot([], [], color="0.3", linestyle="none", marker="s", markersize=7,
            markerfacecolor="white", markeredgewidth=1.5, label="the labs, 50 epochs on a CPU")
    schedule = sum(3 ** i for i in range(8))  # Burda et al.: 8 stages of 3**i epochs
    ax.axvline(schedule, color="0.6", linewidth=1)
    ax.annotate(f"{schedule:,} epochs:\nthe paper's run", (schedule, 1),
                xycoords=("data", "axes fraction"), xytext=(-4, -4), textcoords="offset points",
                ha="right", va="top", color="0.4")
    ax.set_xscale("log")
    ax.set_xlim(10, schedule * 1.25)
    ax.set_xticks([10, 30, 100, 300, 1000, 3000], ["10", "30", "100", "300", "1,000", "3,000"])
    ax.set_ylim(84, 106)
    ax.set_yticks(np.arange(84, 107, 2))
    ax.set_xlabel("epochs (log scale)")
    ax.set_ylabel("test NLL by $L_{5000}$, nats")
    ax.legend(loc="upper right", bbox_to_anchor=(1, 0.86), frameon=False)
    save(fig, path)


FIGURES = {"01_dropout_masks.png": dropout_masks, "02_pca_codes.png": pca_codes,
           "03_dropout_penalty.png": dropout_penalty, "04_elbo.png": vae_elbo,
           "04_estimators.png": vae_estimators, "04_long_run.png": vae_long_run}


def main() -> None:
    from tools import figures_fid, figures_gan, figures_intro, figures_modes

    draw({**figures_intro.FIGURES, **FIGURES, **figures_gan.FIGURES, **figures_modes.FIGURES,
          **figures_fid.FIGURES})


if __name__ == "__main__":
    main()

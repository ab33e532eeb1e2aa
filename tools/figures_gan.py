"""Figures of chapter 5 (generative adversarial networks), computed when the book is built.

The conventions are those of tools/figures.py: drawn from code, never from typed-in numbers,
6.3 inches wide with no text under 12 pt, saved at 200 dpi under book/figures/ (not
committed). Every curve is a closed form derived on the page, and every figure first checks
it against an independent numerical computation (finite differences, a numerical maximiser,
quadrature, sampling) before it is saved.
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
import scipy.optimize  # noqa: E402
import scipy.special  # noqa: E402
import scipy.stats  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from helpers.data import draw as draw_rows  # noqa: E402
from helpers.digits import load_samples  # noqa: E402
from tools.figure_style import STYLE, WIDTH, draw, save  # noqa: E402

LOG2 = np.log(2.0)
Z = 4.0         # a Monte-Carlo mean must lie within Z standard errors of its exact value


# --- The two generator losses as functions of the discriminator's logit a, D = sigmoid(a) ---

def minimax_loss(a: np.ndarray) -> np.ndarray:
    """log(1 - sigmoid(a)) = -softplus(a), written so that it never takes the log of 0."""
    return -np.logaddexp(0.0, a)


def non_saturating_loss(a: np.ndarray) -> np.ndarray:
    """-log sigmoid(a) = softplus(-a)."""
    return np.logaddexp(0.0, -a)


def generator_gradients(path: Path) -> None:
    """Both generator losses and their gradients with respect to D's logit, against D(G(z))."""
    s = np.geomspace(1e-4, 1 - 1e-4, 400)            # D(G(z)), the discriminator's verdict
    a = scipy.special.logit(s)
    assert np.allclose(scipy.special.expit(a), s, rtol=1e-12)
    # The stable forms are the textbook ones where the latter can be evaluated.
    assert np.allclose(minimax_loss(a), np.log1p(-s), rtol=1e-9, atol=1e-12)
    assert np.allclose(non_saturating_loss(a), -np.log(s), rtol=1e-9, atol=1e-12)
    # Derivatives with respect to the logit: d/da log(1 - s) = -s and d/da (-log s) = -(1 - s),
    # checked by central differences (error O(h^2), rounding O(eps / h)).
    h = 1e-5
    numeric = {name: (f(a + h) - f(a - h)) / (2 * h)
               for name, f in (("minimax", minimax_loss), ("non-saturating", non_saturating_loss))}
    closed = {"minimax": -s, "non-saturating": -(1 - s)}
    for name in closed:
        assert np.allclose(numeric[name], closed[name], rtol=1e-6, atol=1e-9), name
        assert np.all(numeric[name] < 0)   # both push the logit of a fake up
    # The chain rule the page uses: dL/ds * ds/da with ds/da = s (1 - s).
    assert np.allclose((-1 / (1 - s)) * s * (1 - s), closed["minimax"])
    assert np.allclose((-1 / s) * s * (1 - s), closed["non-saturating"])
    # When D rejects a fake with D(G(z)) = 0.001, the minimax gradient is 999 times smaller.
    ratio = numeric["non-saturating"] / numeric["minimax"]
    assert np.allclose(ratio, (1 - s) / s, rtol=1e-5)
    a3 = scipy.special.logit(1e-3)
    ratio3 = ((non_saturating_loss(a3 + h) - non_saturating_loss(a3 - h))
              / (minimax_loss(a3 + h) - minimax_loss(a3 - h)))
    assert abs(ratio3 / 999 - 1) < 1e-5, ratio3

    dots = slice(20, None, 40)
    with plt.rc_context(STYLE):
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(WIDTH, 7.0), sharex=True,
                                          layout="constrained")
        for ax in (top, bottom):
            ax.axvspan(s[0], 0.1, color="0.92", zorder=0)
        top.plot(s, minimax_loss(a), color="C3", label=r"minimax: $\log(1 - D(G(z)))$")
        top.plot(s, non_saturating_loss(a), color="C0",
                 label=r"non-saturating: $-\log D(G(z))$")
        top.set_ylabel("loss the generator\nminimises")
        top.set_title("D rejects the fakes (shaded): only one loss is steep there")
        top.legend(loc="upper right", frameon=False)
        for name, color in (("minimax", "C3"), ("non-saturating", "C0")):
            bottom.plot(s, np.abs(closed[name]), color=color,
                        label=("closed form: " + (r"$D(G(z))$" if name == "minimax"
                                                  else r"$1 - D(G(z))$")))
            bottom.plot(s[dots], np.abs(numeric[name][dots]), "o", color=color, markersize=5,
                        markerfacecolor="none")
        bottom.plot([], [], "o", color="0.3", markerfacecolor="none",
                    label="finite differences")
        bottom.set_xscale("log")
        bottom.set_xlabel("D(G(z)), the discriminator's probability that a fake is real")
        bottom.set_ylabel("|gradient| with respect\nto D's logit")
        bottom.set_ylim(-0.03, 1.08)
        bottom.legend(loc="center left", frameon=False)
        save(fig, path)


# --- A one-dimensional GAN with known densities ---

DATA = ((-2.0, 0.6), (2.0, 0.6))   # p_data: an equal mixture of two Gaussians (mean, sd)
GEN = (0.8, 1.1)                   # p_g: one Gaussian (mean, sd)


def log_normal(x: np.ndarray, mean: float, sd: float) -> np.ndarray:
    """log N(x; mean, sd^2), written out: scipy.stats is slow on the scalars quad passes."""
    return -0.5 * ((x - mean) / sd) ** 2 - np.log(sd) - 0.5 * np.log(2 * np.pi)


def log_p_data(x: np.ndarray) -> np.ndarray:
    parts = [log_normal(x, m, sd) for m, sd in DATA]
    return functools.reduce(np.logaddexp, parts) - np.log(len(DATA))


def log_p_gen(x: np.ndarray) -> np.ndarray:
    return log_normal(x, *GEN)


def value_at(log_d, log_p, log_q, lo=-30.0, hi=30.0) -> float:
    """V(D, G) = int p log D + q log(1 - D) dx by quadrature, for D given as log D (a function
    of x), p = exp(log_p) the data density and q = exp(log_q) the generator's."""
    def integrand(x):
        ld = log_d(x)
        return np.exp(log_p(x)) * ld + np.exp(log_q(x)) * np.log(-np.expm1(ld))
    value, _ = scipy.integrate.quad(integrand, lo, hi, points=[-2.0, 0.0, 2.0], limit=400,
                                    epsabs=1e-12, epsrel=1e-12)
    return value


def jsd(log_p, log_q, lo=-30.0, hi=30.0, points=(-2.0, 0.0, 2.0)) -> float:
    """JSD(p || q) = KL(p || m) / 2 + KL(q || m) / 2, m = (p + q) / 2, by quadrature."""
    value, _ = scipy.integrate.quad(lambda x: jsd_integrand(log_p(x), log_q(x)), lo, hi,
                                    points=list(points), limit=400, epsabs=1e-12, epsrel=1e-12)
    return value


def jsd_integrand(lp: np.ndarray, lq: np.ndarray) -> np.ndarray:
    """p log(p/m) / 2 + q log(q/m) / 2 from log densities (0 log 0 = 0)."""
    lm = np.logaddexp(lp, lq) - LOG2
    with np.errstate(invalid="ignore"):   # -inf - (-inf) where both vanish, masked below
        terms = [np.where(np.isneginf(l), 0.0, np.exp(l) * (l - lm)) for l in (lp, lq)]
    return 0.5 * (terms[0] + terms[1])


def optimal_discriminator(path: Path) -> None:
    """p_data, p_g, the optimal discriminator and the integrand of the JSD."""
    def log_d_star(x):   # log D* = log p_data - log(p_data + p_g)
        return log_p_data(x) - np.logaddexp(log_p_data(x), log_p_gen(x))

    grid = np.linspace(-5.0, 5.5, 1501)
    assert np.allclose(log_p_gen(grid), scipy.stats.norm.logpdf(grid, *GEN), rtol=1e-12)
    assert np.allclose(np.exp(log_p_data(grid)), np.mean(
        [scipy.stats.norm.pdf(grid, m, sd) for m, sd in DATA], axis=0), rtol=1e-12, atol=1e-300)

    # D* found numerically: at each x, maximise p log D + q log(1 - D) over the logit of D,
    # with no use of the formula; then compare with p / (p + q).
    xs = np.linspace(-4.0, 4.5, 35)
    numeric = np.empty_like(xs)
    for i, x in enumerate(xs):
        p, q = np.exp(log_p_data(x)), np.exp(log_p_gen(x))
        res = scipy.optimize.minimize_scalar(
            lambda t: -(p * -np.logaddexp(0, -t) + q * -np.logaddexp(0, t)) / (p + q),
            bounds=(-40, 40), method="bounded", options={"xatol": 1e-10})
        numeric[i] = scipy.special.expit(res.x)
    closed = np.exp(log_d_star(xs))
    assert np.allclose(numeric, closed, atol=1e-6), np.abs(numeric - closed).max()

    # V at D* against -log 4 + 2 JSD, both by quadrature, and the JSD by sampling.
    v_star = value_at(log_d_star, log_p_data, log_p_gen)
    divergence = jsd(log_p_data, log_p_gen)
    assert 0 < divergence < LOG2
    assert abs(v_star - (-np.log(4) + 2 * divergence)) < 1e-9, (v_star, divergence)
    rng = np.random.default_rng(0)
    n = 200_000
    from_data = (rng.choice([m for m, _ in DATA], n)
                 + rng.standard_normal(n) * DATA[0][1])   # both components share one sd
    from_gen = GEN[0] + GEN[1] * rng.standard_normal(n)
    terms = [lp - (np.logaddexp(lp, lq) - LOG2) for lp, lq in
             ((log_p_data(from_data), log_p_gen(from_data)),
              (log_p_gen(from_gen), log_p_data(from_gen)))]
    estimate = 0.5 * (terms[0].mean() + terms[1].mean())
    error = 0.5 * np.hypot(terms[0].std() / np.sqrt(n), terms[1].std() / np.sqrt(n))
    assert abs(estimate - divergence) < Z * error, (estimate, divergence, error)
    # D* is the best discriminator: changing its logit by eps * h(x) lowers V, by
    # eps^2 / 2 * int (p + q) D* (1 - D*) h^2 dx to second order.
    for h in (lambda x: np.sin(x), lambda x: np.exp(-x**2), lambda x: x / (1 + x**2)):
        eps = 1e-3
        log_d = (lambda x, h=h: -np.logaddexp(0.0, -(log_p_data(x) - log_p_gen(x) + eps * h(x))))
        drop = v_star - value_at(log_d, log_p_data, log_p_gen)
        curvature, _ = scipy.integrate.quad(
            lambda x: np.exp(np.logaddexp(log_p_data(x), log_p_gen(x)) + log_d_star(x))
            * (1 - np.exp(log_d_star(x))) * h(x) ** 2, -30, 30, points=[-2.0, 0.0, 2.0], limit=400)
        assert drop > 0 and abs(drop / (0.5 * eps**2 * curvature) - 1) < 2e-2, (drop, curvature)
    # At p_g = p_data, D* = 1/2 everywhere and V = -log 4.
    same = value_at(lambda x: np.full_like(np.asarray(x, float), -LOG2), log_p_data, log_p_data)
    assert abs(same + np.log(4)) < 1e-9

    # The integrand j lies between 0 and m log 2, and integrates to the JSD.
    lp, lq = log_p_data(grid), log_p_gen(grid)
    j = jsd_integrand(lp, lq)
    envelope = np.exp(np.logaddexp(lp, lq) - LOG2) * LOG2
    assert np.all(j >= -1e-15) and np.all(j <= envelope + 1e-15)
    assert abs(np.trapezoid(j, grid) - divergence) < 1e-4

    with plt.rc_context(STYLE):
        fig, (top, middle, bottom) = plt.subplots(3, 1, figsize=(WIDTH, 8.6), sharex=True,
                                                  layout="constrained")
        top.plot(grid, np.exp(lp), color="0.15", label=r"$p_\mathrm{data}$, two Gaussians")
        top.plot(grid, np.exp(lq), color="C1", label=r"$p_g$, one Gaussian")
        top.set_ylabel("density")
        top.legend(loc="upper left", frameon=False)
        middle.axhline(0.5, color="0.6", linestyle=":", linewidth=1)
        middle.plot(grid, np.exp(log_d_star(grid)), color="C0",
                    label=r"$D^* = p_\mathrm{data} / (p_\mathrm{data} + p_g)$")
        middle.plot(xs, numeric, "o", color="C0", markersize=5, markerfacecolor="none",
                    label="maximised numerically, point by point")
        middle.set_ylabel("optimal D")
        middle.set_ylim(-0.05, 1.32)
        middle.set_yticks([0, 0.5, 1])
        middle.legend(loc="upper left", frameon=False)
        bottom.fill_between(grid, j, color="C2", alpha=0.35, linewidth=0,
                            label=f"JSD integrand, area {divergence:.4f}")
        bottom.plot(grid, envelope, color="0.3", linestyle="--",
                    label=r"its ceiling $m \log 2$, $m = (p_\mathrm{data} + p_g)/2$")
        bottom.set_ylabel("nats per unit x")
        bottom.set_xlabel("x")
        bottom.set_ylim(0, envelope.max() * 1.45)
        bottom.legend(loc="upper left", frameon=False)
        bottom.set_title(rf"$V(D^*, G) = {v_star:.4f} = -\log 4 + 2 \times {divergence:.4f}$")
        save(fig, path)


# --- Saturation of the JSD when the two distributions stop overlapping ---

def uniform_jsd(theta: float) -> float:
    """JSD of U[0, 1] and U[theta, theta + 1] by quadrature (log densities -inf outside)."""
    def log_u(x, lo):
        inside = (x >= lo) & (x <= lo + 1)
        return np.where(inside, 0.0, -np.inf)
    value, _ = scipy.integrate.quad(
        lambda x: jsd_integrand(log_u(x, 0.0), log_u(x, theta)),
        min(0.0, theta), max(1.0, theta + 1), points=sorted({0.0, 1.0, theta, theta + 1}),
        limit=200, epsabs=1e-13)
    return value


def gaussian_jsd(theta: float, sd: float) -> float:
    """JSD of N(0, sd^2) and N(theta, sd^2) by quadrature."""
    return jsd(lambda x: log_normal(x, 0.0, sd), lambda x: log_normal(x, theta, sd),
               lo=-15 * sd, hi=theta + 15 * sd, points=sorted({0.0, theta / 2, theta}))


def gaussian_jsd_slope(theta: float, sd: float) -> float:
    """d JSD / d theta for N(0, sd^2) and N(theta, sd^2): with q the shifted density and
    m = (p + q) / 2, the terms in dm cancel and the slope is int dq/dtheta log(q / m) dx / 2,
    where dq/dtheta = q (x - theta) / sd^2."""
    def integrand(x):
        lp, lq = log_normal(x, 0.0, sd), log_normal(x, theta, sd)
        return 0.5 * np.exp(lq) * (x - theta) / sd**2 * (lq - np.logaddexp(lp, lq) + LOG2)
    value, _ = scipy.integrate.quad(integrand, -15 * sd, theta + 15 * sd,
                                    points=sorted({0.0, theta / 2, theta}), limit=400,
                                    epsabs=1e-12, epsrel=1e-10)
    return value


def jsd_saturation(path: Path) -> None:
    """JSD between a distribution and a shifted copy, against the shift: it stops at log 2."""
    thetas = np.linspace(0.0, 2.0, 161)
    # Uniforms: JSD = min(theta, 1) log 2, derived on the page.
    uniform = np.array([uniform_jsd(t) for t in thetas])
    assert np.allclose(uniform, np.minimum(thetas, 1.0) * LOG2, atol=1e-10)
    widths = (1.0, 0.3, 0.1)
    curves = {sd: np.array([gaussian_jsd(t, sd) for t in thetas]) for sd in widths}
    for sd, c in curves.items():
        assert abs(c[0]) < 1e-12 and np.all(np.diff(c) > -1e-10) and np.all(c < LOG2 + 1e-12)
        # Small shifts: JSD = theta^2 / (8 sd^2) + O(theta^4), the Fisher information 1 / sd^2.
        t = 0.02 * sd
        assert abs(gaussian_jsd(t, sd) / (t**2 / (8 * sd**2)) - 1) < 1e-3
        # Ten widths apart the two barely overlap: JSD is log 2 to within 1e-6, and its slope
        # (per width sd of shift) is below 1e-5, against 0.2 one width apart.
        far = gaussian_jsd(10 * sd, sd)
        assert LOG2 - far < 1e-6
        assert (gaussian_jsd(10.5 * sd, sd) - far) / 0.5 < 1e-5
        assert (gaussian_jsd(1.05 * sd, sd) - gaussian_jsd(sd, sd)) / 0.05 > 0.1
    slopes = {sd: np.array([gaussian_jsd_slope(t, sd) for t in thetas]) for sd in widths}
    for sd in widths:   # the slope formula against central differences of the JSD itself
        assert abs(slopes[sd][0]) < 1e-12   # symmetric in theta, so flat at 0
        for t in (0.5 * sd, sd, 2 * sd, 4 * sd):
            h = 1e-4 * sd
            fd = (gaussian_jsd(t + h, sd) - gaussian_jsd(t - h, sd)) / (2 * h)
            assert abs(fd - gaussian_jsd_slope(t, sd)) < 1e-6 / sd, (sd, t, fd)
    assert slopes[0.1][-1] < 1e-6 < slopes[1.0][-1]

    with plt.rc_context(STYLE):
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(WIDTH, 7.0), sharex=True,
                                          layout="constrained")
        top.axhline(LOG2, color="0.6", linestyle=":", linewidth=1)
        top.text(2.0, LOG2 - 0.02, "log 2", ha="right", va="top", color="0.3")
        top.plot(thetas, uniform, color="0.15", linestyle="--",
                 label=r"$U[0,1]$ and $U[\theta, \theta+1]$")
        gaussians = r"$\mathcal{N}(0, \sigma^2)$ and $\mathcal{N}(\theta, \sigma^2)$"
        for sd, color in zip(widths, ("C0", "C1", "C3")):
            first = gaussians if sd == widths[0] else "the same"
            top.plot(thetas, curves[sd], color=color, label=rf"{first}, $\sigma = {sd:g}$")
            bottom.plot(thetas, slopes[sd], color=color)
        top.set_ylabel("JSD (nats)")
        top.set_ylim(0, 0.8)
        top.legend(loc="lower right", frameon=False)
        bottom.plot([0, 1, 1, 2], [LOG2, LOG2, 0, 0], color="0.15", linestyle="--")
        bottom.set_ylabel(r"slope $d\,\mathrm{JSD} / d\theta$")
        bottom.set_xlabel(r"shift $\theta$ between the two distributions")
        save(fig, path)


# --- The labs' generated digits ---

SAMPLES = {"PyTorch lab": ROOT / "results" / "05_gan_samples_torch.npz",
           "TensorFlow lab": ROOT / "results" / "05_gan_samples_tensorflow.npz"}


def stored_digits(path: Path, shown: int = 30, seed: int = 0) -> None:
    """Digits of each lab's DCGAN, a seeded random draw from the samples its full run stored."""
    fig = plt.figure(figsize=(WIDTH, 3.6), layout="constrained")
    for sub, (title, file) in zip(fig.subfigures(1, 2, wspace=0.05), SAMPLES.items()):
        images, meta = load_samples(file)
        assert meta.get("generator", "").startswith("DCGAN"), (file.name, meta)
        assert len(images) >= shown, f"{file.name} holds {len(images)} digits, {shown} are shown"
        axes = sub.subplots(5, shown // 5)
        for ax, image in zip(axes.flat, draw_rows(shown, images, seed=seed)):
            ax.imshow(image, cmap="gray_r", vmin=0, vmax=255)
            ax.axis("off")
        sub.suptitle(f"{title}, {meta['epochs']} epochs")
    save(fig, path)


FIGURES = {"05_gan_gradients.png": generator_gradients,
           "05_gan_optimal_d.png": optimal_discriminator,
           "05_gan_saturation.png": jsd_saturation,
           "05_gan_samples.png": stored_digits}


def main() -> None:
    draw(FIGURES)


if __name__ == "__main__":
    main()

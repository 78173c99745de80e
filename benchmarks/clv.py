"""Fit BG/NBD, Pareto/NBD and Gamma-Gamma on simulated customer bases and print the times.

    .venv/bin/python -m benchmarks.clv --sizes 10000 100000 1000000
    .venv/bin/python -m benchmarks.clv --sizes 10000 100000 --lifetimes   # compare with lifetimes

Customers are simulated from the demo generator's truth (orchestration.synthetic.Truth:
BG/NBD r=1.3, alpha=5, a=0.5, b=9 in weeks; Gamma-Gamma p=3.5, q=4, gamma=9), with ages
up to three years and purchase dates cut to whole days, as real order data are (several
purchases on one day stay separate here). Pareto/NBD is fitted to the same BG/NBD data (a
misspecified but realistic use; only its speed is of interest here).

With --lifetimes the same data are fitted by lifetimes 0.11.3 in a side virtual environment
(LIFETIMES_VENV, default /tmp/lifetimes-venv, created on first use with pip; lifetimes needs
pandas < 2.1 and numpy < 2), and the script prints the time ratio and the largest parameter
difference. If it cannot be installed (no network, no wheels) the script says why and skips
the comparison. lifetimes fits BG/NBD and Gamma-Gamma by BFGS with autograd gradients (and
an autograd Hessian, as our times include one), Pareto/NBD by Nelder-Mead without a Hessian,
all on uncompressed rows. Our times are whole `fit` calls: input checks, grouping of
identical rows, the optimisation and the Hessian for the standard errors.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from orchestration.clv import bgnbd, gammagamma, paretonbd
from orchestration.synthetic import Truth

LIFETIMES_VENV = Path(os.environ.get("LIFETIMES_VENV", "/tmp/lifetimes-venv"))
LIFETIMES_REQUIREMENTS = ["lifetimes==0.11.3", "pandas<2.1", "numpy<2", "scipy<1.14"]
MAX_AGE_DAYS = 3 * 365
LIFETIMES_MAX_SIZE = 100_000  # Nelder-Mead on a million uncompressed rows takes too long

LIFETIMES_SCRIPT = """
import json, sys, time
import numpy as np
from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter
data = np.load(sys.argv[1])
x, t_x, T, z = data["x"], data["t_x"], data["T"], data["z"]
out = {}
for name, fitter, args in [
    ("bgnbd", BetaGeoFitter(), (x, t_x, T)),
    ("paretonbd", ParetoNBDFitter(), (x, t_x, T)),
    ("gammagamma", GammaGammaFitter(), (x[x > 0], z[x > 0])),
]:
    start = time.perf_counter()
    fitter.fit(*args)
    params = {("gamma" if k == "v" else k): float(v) for k, v in fitter.params_.items()}
    out[name] = {"seconds": time.perf_counter() - start, "params": params}
print(json.dumps(out))
"""


def simulate(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """x, t_x, T (weeks, from whole days) and mean repeat spend for n BG/NBD customers."""
    truth = Truth()
    rng = np.random.default_rng(seed)
    age_days = rng.integers(0, MAX_AGE_DAYS + 1, n)
    lam = rng.gamma(truth.bgnbd_r, 1 / truth.bgnbd_alpha, n) / 7  # per day
    p = rng.beta(truth.bgnbd_a, truth.bgnbd_b, n)
    x = np.zeros(n)
    last = np.zeros(n)
    clock = np.zeros(n)
    alive = np.arange(n)
    while alive.size:
        clock[alive] += rng.exponential(1.0, alive.size) / lam[alive]
        alive = alive[np.floor(clock[alive]) <= age_days[alive]]
        x[alive] += 1
        last[alive] = np.floor(clock[alive])
        alive = alive[rng.random(alive.size) >= p[alive]]
    nu = rng.gamma(truth.gg_q, 1 / truth.gg_gamma, n)
    total = rng.gamma(np.maximum(truth.gg_p * x, 1e-300), 1 / nu)
    z = np.where(x > 0, total / np.maximum(x, 1), 0.0)
    return {"x": x, "t_x": last / 7, "T": age_days / 7, "z": z}


def run_ours(data: dict[str, np.ndarray]) -> dict[str, dict]:
    out = {}
    for name, fit in [
        ("bgnbd", lambda d: bgnbd.fit(d["x"], d["t_x"], d["T"])),
        ("paretonbd", lambda d: paretonbd.fit(d["x"], d["t_x"], d["T"])),
        ("gammagamma", lambda d: gammagamma.fit(d["x"], d["z"])),
    ]:
        start = time.perf_counter()
        result = fit(data)
        out[name] = {
            "seconds": time.perf_counter() - start,
            "params": result.params,
            "unique": result.n_unique,
            "converged": result.converged,
        }
    return out


def lifetimes_python() -> tuple[Path | None, str]:
    """The side venv's python with lifetimes importable, or None and the reason."""
    python = LIFETIMES_VENV / "bin" / "python"
    check = [str(python), "-c", "import lifetimes, pandas; print(pandas.__version__)"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python, ""
    try:
        subprocess.run(
            [sys.executable, "-m", "venv", str(LIFETIMES_VENV)], check=True, capture_output=True
        )
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *LIFETIMES_REQUIREMENTS],
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        )
    except subprocess.CalledProcessError as error:
        tail = (error.stderr or "").strip().splitlines()[-3:]
        return None, f"installing {LIFETIMES_REQUIREMENTS} failed: {' | '.join(tail)}"
    except subprocess.TimeoutExpired:
        return None, "installing lifetimes took more than 10 minutes"
    if subprocess.run(check, capture_output=True).returncode != 0:
        return None, "lifetimes installed but does not import"
    return python, ""


def run_lifetimes(python: Path, data: dict[str, np.ndarray]) -> dict[str, dict]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.npz"
        np.savez(path, **data)
        done = subprocess.run(
            [str(python), "-c", LIFETIMES_SCRIPT, str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lifetimes", action="store_true", help="compare with lifetimes 0.11.3")
    args = parser.parse_args(argv)

    python = None
    if args.lifetimes:
        python, why = lifetimes_python()
        if python is None:
            print(f"lifetimes comparison skipped: {why}")

    print(f"{'customers':>10} {'model':<11} {'unique':>8} {'seconds':>8}  parameters")
    for n in args.sizes:
        data = simulate(n, args.seed)
        ours = run_ours(data)
        theirs = (
            run_lifetimes(python, data) if python is not None and n <= LIFETIMES_MAX_SIZE else {}
        )
        for model, result in ours.items():
            params = " ".join(f"{k}={v:.4g}" for k, v in result["params"].items())
            flag = "" if result["converged"] else "  (not converged)"
            print(
                f"{n:>10} {model:<11} {result['unique']:>8} {result['seconds']:>8.3f}  "
                f"{params}{flag}"
            )
            if model in theirs:
                other = theirs[model]
                diff = max(abs(other["params"][k] / v - 1) for k, v in result["params"].items())
                print(
                    f"{'':>10} {'lifetimes':<11} {'':>8} {other['seconds']:>8.3f}  "
                    f"time ratio lifetimes/ours {other['seconds'] / result['seconds']:.1f}, "
                    f"largest relative parameter difference {diff:.1e}"
                )


if __name__ == "__main__":
    main()

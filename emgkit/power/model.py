"""The data-generating model of a power analysis: cell means, variances and the test."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..errors import ConfigError, ModelError


@dataclass(repr=False)
class PowerModel:
    """A between-participant factor × within-participant condition design to simulate.

    Attributes
    ----------
    label : str
        Names the model (e.g. ``"muscle = corrugator"``).
    groups : list of str
        Levels of the between-participant factor, the reference (control) first.
    conditions : list of str
        Levels of the within-participant factor.
    means : ndarray, shape (n_groups, n_conditions)
        Cell means (outcome units).
    tau2, s2 : float
        Participant random-intercept variance and residual (trial) variance.
    design : ndarray, shape (n_groups, n_conditions, p)
        The analysis model's fixed-effects design row of each cell.
    contrasts : ndarray, shape (n_rows, p)
        The tested contrasts (treatment minus reference, per condition when the factors
        interact, else one averaged row), in the order of ``rows``.
    rows : list of (str, str | None)
        (treatment level, condition or None) of each contrast row.
    factor, by : str
        Column names of the between factor and the condition factor.
    """

    label: str
    groups: list
    conditions: list
    means: np.ndarray
    tau2: float
    s2: float
    design: np.ndarray
    contrasts: np.ndarray
    rows: list
    factor: str = "group"
    by: str = "condition"

    def __repr__(self):
        return (f"<PowerModel | {self.label}: {self.factor} {self.groups} × {self.by} "
                f"{self.conditions} | τ = {np.sqrt(self.tau2):.3g}, σ = {np.sqrt(self.s2):.3g} "
                f"| {len(self.rows)} contrast rows>")

    @property
    def effect_sd(self):
        """SD of standardised effects: sqrt(σ² + τ²), as the contrasts' effect sizes."""
        return float(np.sqrt(self.s2 + self.tau2))

    def row_index(self, at):
        """Index of the contrast row tested at condition ``at`` (first treatment level)."""
        for k, (_, cond) in enumerate(self.rows):
            if cond is None or cond == at:
                return k
        raise ConfigError(f"--at {self.by}={at!r}: {self.by} has the levels "
                          f"{', '.join(self.conditions)}.")

    def effect(self, at):
        """The tested contrast's size in the model (outcome units)."""
        return float(self.contrasts[self.row_index(at)] @ self._beta())

    def _beta(self):
        # cell means in the design's coding: least squares over the cells (exact for
        # the saturated model; the projection for additive ones)
        X = self.design.reshape(-1, self.design.shape[-1])
        return np.linalg.lstsq(X, self.means.ravel(), rcond=None)[0]

    def with_effect(self, at, effect=None, effect_sd=None):
        """The model with the tested contrast at ``at`` set to ``effect`` (outcome units)
        or ``effect_sd`` (SD units, see :attr:`effect_sd`), by moving the treatment cell
        (or, without an interaction, every treatment cell) by the difference."""
        if effect is None and effect_sd is None:
            return self
        target = effect if effect is not None else effect_sd * self.effect_sd
        shift = target - self.effect(at)
        means = self.means.copy()
        k = self.row_index(at)
        treat, cond = self.rows[k]
        g = self.groups.index(treat)
        if cond is None:
            means[g, :] += shift
        else:
            means[g, self.conditions.index(cond)] += shift
        return replace(self, means=means)


def from_fit(res, factor="group", by="condition", label=None):
    """A :class:`PowerModel` from a random-intercept :class:`~emgkit.stats.MixedResult`
    (the pilot): its fitted cell means, variances, design rows and contrast rows.

    Raises
    ------
    ModelError
        When the model is not a random-intercept model of ``factor`` (between) and ``by``
        (within) alone.
    """
    extra = [f for f in res.factors if f not in (factor, by)]
    if factor not in res.factors or by not in res.factors or extra or res.covariates \
            or res.crossed or res.Z.shape[1] != 1 or res.fit.get("engine") == "sparse":
        raise ModelError(f"Power by simulation needs a random-intercept model of {factor!r} "
                         f"× {by!r} only (e.g. 'score ~ {factor} * {by}'); the pilot model is "
                         f"{res.formula!r}.")
    data = res.data.reset_index(drop=True)
    groups = [str(v) for v in data[factor].cat.categories] \
        if hasattr(data[factor], "cat") else sorted(map(str, data[factor].unique()))
    conds = [str(v) for v in data[by].cat.categories] \
        if hasattr(data[by], "cat") else sorted(map(str, data[by].unique()))
    p = res.X.shape[1]
    design = np.full((len(groups), len(conds), p), np.nan)
    g_col, c_col = data[factor].astype(str).to_numpy(), data[by].astype(str).to_numpy()
    for i, g in enumerate(groups):
        for j, c in enumerate(conds):
            rows = np.flatnonzero((g_col == g) & (c_col == c))
            if not len(rows):
                raise ModelError(f"The pilot has no trials of {factor}={g!r} at {by}={c!r}.")
            design[i, j] = res.X[rows[0]]
    means = design @ res.beta
    interact = by in res.interacting(factor)
    contrasts, rows = [], []
    for i, g in enumerate(groups[1:], start=1):
        diff = design[i] - design[0]
        if interact:
            contrasts += list(diff)
            rows += [(g, c) for c in conds]
        else:
            contrasts.append(diff.mean(0))
            rows.append((g, None))
    return PowerModel(label=label or res.formula, groups=groups, conditions=conds,
                      means=means, tau2=float(res.G[0, 0]), s2=float(res.s2), design=design,
                      contrasts=np.array(contrasts), rows=rows, factor=factor, by=by)


def factorial_model(groups, conditions, means, tau, sigma, *, factor="group",
                    by="condition", label="declared model"):
    """A :class:`PowerModel` declared directly: the saturated ``factor × by`` model (the
    analysis ``score ~ group * condition``) with the given cell means, participant
    random-intercept SD ``tau`` and residual SD ``sigma``.

    Parameters
    ----------
    groups : list of str
        Levels of the between factor, the reference first.
    conditions : list of str
    means : array-like, shape (n_groups, n_conditions)
        Cell means (outcome units).
    tau, sigma : float
        SDs (outcome units).
    """
    means = np.asarray(means, float)
    if means.shape != (len(groups), len(conditions)):
        raise ConfigError(f"means: shape {means.shape} does not match {len(groups)} groups × "
                          f"{len(conditions)} conditions.")
    if not (tau >= 0 and sigma > 0):
        raise ConfigError(f"tau={tau!r}, sigma={sigma!r}: tau must be ≥ 0 and sigma > 0 "
                          f"(outcome units).")
    n_g, n_c = means.shape
    design = np.eye(n_g * n_c).reshape(n_g, n_c, n_g * n_c)  # one column per cell
    contrasts, rows = [], []
    for i, g in enumerate(groups[1:], start=1):
        contrasts += list(design[i] - design[0])
        rows += [(g, c) for c in conditions]
    return PowerModel(label=label, groups=list(groups), conditions=list(conditions),
                      means=means, tau2=float(tau) ** 2, s2=float(sigma) ** 2, design=design,
                      contrasts=np.array(contrasts), rows=rows, factor=factor, by=by)

"""Bootstrap confidence intervals: FID, KID, precision/recall, density/coverage.

One FID number hides its spread. The nonparametric bootstrap (Efron and
Tibshirani 1993, "An Introduction to the Bootstrap", ch. 6 and 13, the
percentile interval) estimates it from the sets at hand: draw the real and
the generated features with replacement, each set to its own size, compute
the metric on the resampled sets, repeat `num_resamples` times, and report
the (1 - ci) / 2 and (1 + ci) / 2 percentiles of the resampled values
around the value on the sets themselves.

  * Seeded: resample i draws its indices from numpy's Generator seeded by
    `seed`, reals first, then fakes; the same call gives the same interval.
  * `resample_reals=False` keeps the reals fixed (only the fakes vary): the
    spread of the score of this generator against this reference set. It
    is forced when only the reals' statistics are known (a TTUR .npz).
  * Precision/recall and density/coverage are means over images of
    per-image quantities (tf_gans.metrics.prdc.manifold_counts): whether a
    fake lies in the real manifold and in how many real balls, whether a
    real lies in the fake manifold and whether its ball holds a fake. The
    bootstrap resamples those quantities (fakes for precision and density,
    reals for recall and coverage), with the k-NN manifolds of the whole
    sets held: one distance pass, then resamples at no cost, at N = 50,000
    too. Rebuilding the manifolds from each resample was tried and
    rejected: a resample holds ~63% distinct points, its union of balls
    is smaller, and the resampled values sit below the value (on 400
    8-d Gaussians, precision 0.7375 fell above its whole 95% interval
    0.586-0.720), besides costing a full evaluation per resample. Holding
    the manifolds leaves out their own sampling spread, so these intervals
    are somewhat narrow: on that case (60 independent draws of both sets)
    the sd of precision was 0.028 and the held-manifold bootstrap's 0.022;
    for recall 0.0115 and 0.0112.
  * FID and KID: a resample holds each image 0, 1, 2, ... times (~63%
    distinct), which a covariance or an unbiased MMD reads as fewer, and
    repeated, samples: FID of a resample is biased upward, by more than the
    spread in high dimensions (64-d Gaussians, N = 1000: FID 3.32, the 95%
    percentile interval of 40 resamples 5.37-6.05, not holding it; 256-d,
    N = 2000: 21.38 against 37.86-39.49). Their intervals are therefore
    centred ('centred percentile'): the percentiles are shifted so that
    their median is the value, low = value - (median - q_lo), high = value +
    (q_hi - median). The width stays the resamples': nominal where the
    mean term of FID dominates (1-d test: a 90% interval held the closed
    form in 43 of 50 draws), wider where the covariance terms dominate, so
    conservative there: width / 3.92 was 0.17 against an sd of 0.118 over
    20 fresh draws in the 64-d case, 0.41 against 0.21 in the 256-d one.
    KID resamples before its own random subsets (each resample's subsets
    seeded anew).

An interval is for the value at this N (FID-10k's spread), not for the
infinite-sample score: FID at finite N is biased upward (see
tf_gans.metrics.fid_infinity).
"""

import dataclasses
from typing import Callable, Dict, Optional, Sequence

import numpy as np

from tf_gans.metrics import fid
from tf_gans.metrics import prdc

NUM_RESAMPLES = 100   # each costs one evaluation of the metric
CI = 0.95


@dataclasses.dataclass
class Interval:
  """A metric's value on the sets, and its bootstrap percentile interval."""
  value: float
  low: float
  high: float
  ci: float
  num_resamples: int
  seed: int
  resampled: str        # 'reals and fakes' or 'fakes'
  method: str           # 'percentile' or 'centred percentile'

  def to_dict(self) -> dict:
    return dataclasses.asdict(self)


# A statistic of (reals, fakes, real_ids, fake_ids) -> {name: value}; ids are the drawn indices.
Statistic = Callable[[np.ndarray, np.ndarray, Optional[np.ndarray], Optional[np.ndarray]],
                     Dict[str, float]]


def _check_ci(ci: float, num_resamples: int) -> None:
  if not 0.0 < ci < 1.0:
    raise ValueError(f'ci must be a coverage in (0, 1), e.g. 0.95; got {ci!r}.')
  if isinstance(num_resamples, bool) or int(num_resamples) != num_resamples or num_resamples < 2:
    raise ValueError(f'num_resamples must be an integer >= 2, got {num_resamples!r}.')


def bootstrap(statistic: Statistic, reals, fakes, ci: float = CI,
              num_resamples: int = NUM_RESAMPLES, seed: int = 0,
              resample_reals: bool = True, centre: bool = False) -> Dict[str, Interval]:
  """{name: Interval} of each value `statistic` returns, by the percentile bootstrap.

  Args:
    statistic: (reals, fakes, real_ids, fake_ids) -> {name: float}; called
      once on the sets (ids None) and once per resample (ids the drawn
      indices into the sets; real_ids None when the reals are not resampled).
    reals, fakes: arrays whose first axis is resampled.
    ci: coverage of the interval (0.95: the 2.5th and 97.5th percentiles).
    num_resamples: bootstrap resamples.
    seed: seed of the draws.
    resample_reals: draw the reals too (else only the fakes).
    centre: shift the percentiles so that their median is the value (for
      statistics a resample biases; see the module docstring).
  """
  _check_ci(ci, num_resamples)
  values = statistic(reals, fakes, None, None)
  rng = np.random.default_rng(seed)
  draws = {name: [] for name in values}
  for _ in range(int(num_resamples)):
    real_ids = rng.integers(0, len(reals), len(reals)) if resample_reals else None
    fake_ids = rng.integers(0, len(fakes), len(fakes))
    resampled = statistic(reals if real_ids is None else reals[real_ids], fakes[fake_ids],
                          real_ids, fake_ids)
    for name in values:
      draws[name].append(resampled[name])
  tail = 100.0 * (1.0 - ci) / 2.0
  out = {}
  for name, value in values.items():
    low, median, high = np.percentile(np.asarray(draws[name], np.float64),
                                      [tail, 50.0, 100.0 - tail])
    if centre:
      low, high = value - (median - low), value + (high - median)
    out[name] = Interval(float(value), float(low), float(high), float(ci), int(num_resamples),
                         int(seed), 'reals and fakes' if resample_reals else 'fakes',
                         'centred percentile' if centre else 'percentile')
  return out


def fid_interval(real, fake_features, ci: float = CI, num_resamples: int = NUM_RESAMPLES,
                 seed: int = 0, method: str = 'sqrtm',
                 resample_reals: bool = True) -> Interval:
  """FID and its interval. `real`: features [N_r, d], or statistics (mu, sigma) (fixed reals)."""
  fake_features = np.asarray(fake_features, np.float64)
  if isinstance(real, tuple) and len(real) == 2:
    mu_r, sigma_r = (np.asarray(a, np.float64) for a in real)

    def from_stats(_, fakes, __, ___):
      return {'fid': fid.frechet_distance(mu_r, sigma_r, *fid.statistics(fakes), method=method)}
    return bootstrap(from_stats, fake_features, fake_features, ci, num_resamples, seed,
                     resample_reals=False, centre=True)['fid']

  def from_features(reals, fakes, _, __):
    return {'fid': fid.frechet_distance(*fid.statistics(reals), *fid.statistics(fakes),
                                        method=method)}
  return bootstrap(from_features, np.asarray(real, np.float64), fake_features, ci, num_resamples,
                   seed, resample_reals, centre=True)['fid']


def kid_interval(real_features, fake_features, ci: float = CI,
                 num_resamples: int = NUM_RESAMPLES, seed: int = 0, num_subsets: int = 100,
                 max_subset_size: int = 1000, resample_reals: bool = True,
                 subset_seed: Optional[int] = None) -> Interval:
  """KID (the mean over subsets of fid.kernel_distance) and its interval.

  The value's subsets are seeded by `subset_seed` (default `seed`), resample
  i's by that + i.
  """
  first = seed if subset_seed is None else subset_seed
  counter = iter(range(1, int(num_resamples) + 1))

  def kid(reals, fakes, real_ids, fake_ids):
    draw = first if real_ids is None and fake_ids is None else first + next(counter)
    return {'kid': fid.kernel_distance(reals, fakes, num_subsets, max_subset_size,
                                       seed=draw).mean}
  return bootstrap(kid, np.asarray(real_features, np.float64),
                   np.asarray(fake_features, np.float64), ci, num_resamples, seed,
                   resample_reals, centre=True)['kid']


def intervals_from_counts(counts: Dict[str, np.ndarray], k: int, names: Sequence[str],
                          ci: float = CI, num_resamples: int = NUM_RESAMPLES, seed: int = 0,
                          resample_reals: bool = True) -> Dict[str, Interval]:
  """{name: Interval} of 'precision', 'recall', 'density', 'coverage' from prdc.manifold_counts.

  The per-image quantities are resampled, the manifolds held (module docstring).
  """
  unknown = set(names) - {'precision', 'recall', 'density', 'coverage'}
  if unknown:
    raise ValueError(f'unknown manifold metric(s) {sorted(unknown)}; expected precision, '
                     'recall, density, coverage.')
  per_real = np.stack([counts['real_in_fake'], counts['real_covered']], axis=1).astype(float)
  per_fake = counts['fake_in_real'].astype(np.float64)

  def statistic(reals, fakes, _, __):
    every = {'precision': float(np.mean(fakes > 0)), 'recall': float(np.mean(reals[:, 0])),
             'density': float(np.mean(fakes) / k), 'coverage': float(np.mean(reals[:, 1]))}
    return {name: every[name] for name in names}
  return bootstrap(statistic, per_real, per_fake, ci, num_resamples, seed, resample_reals)


def _manifold_intervals(real_features, fake_features, k: int, names, ci: float,
                        num_resamples: int, seed: int, resample_reals: bool,
                        block_elements: int) -> Dict[str, Interval]:
  _check_ci(ci, num_resamples)
  counts = prdc.manifold_counts(real_features, fake_features, k, block_elements)
  return intervals_from_counts(counts, k, names, ci, num_resamples, seed, resample_reals)


def precision_recall_interval(real_features, fake_features, k: int = prdc.PRECISION_RECALL_K,
                              ci: float = CI, num_resamples: int = NUM_RESAMPLES, seed: int = 0,
                              resample_reals: bool = True,
                              block_elements: int = prdc.BLOCK_ELEMENTS) -> Dict[str, Interval]:
  """{'precision': Interval, 'recall': Interval}, the k-NN manifolds held (module docstring)."""
  return _manifold_intervals(real_features, fake_features, k, ('precision', 'recall'), ci,
                             num_resamples, seed, resample_reals, block_elements)


def density_coverage_interval(real_features, fake_features, k: int = prdc.DENSITY_COVERAGE_K,
                              ci: float = CI, num_resamples: int = NUM_RESAMPLES, seed: int = 0,
                              resample_reals: bool = True,
                              block_elements: int = prdc.BLOCK_ELEMENTS) -> Dict[str, Interval]:
  """{'density': Interval, 'coverage': Interval}, the k-NN manifolds held (module docstring)."""
  return _manifold_intervals(real_features, fake_features, k, ('density', 'coverage'), ci,
                             num_resamples, seed, resample_reals, block_elements)

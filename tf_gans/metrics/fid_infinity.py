"""FID-infinity and IS-infinity: the scores extrapolated to infinitely many samples.

Chong and Forsyth (2020), "Effectively Unbiased FID and Inception Score and
where to find them", s3-4: FID_N and IS_N computed on N generated images are
biased, and the bias depends on the generator, so models cannot be compared
at one N. To first order the score is linear in 1/N,

  score_N = score_inf + slope / N,

so score_N is evaluated at several N and a least-squares line in 1/N is
extrapolated to 1/N = 0. As their `score_infinity.py`
(github.com/mchong6/FID_IS_infinity, `calculate_FID_infinity` /
`calculate_IS_infinity`):

  * N takes `num_points` = 15 values np.linspace(5000, num_images, 15),
    truncated to integers;
  * each FID_N / IS_N is computed on the first N of a fresh random
    permutation of all the generated features (a random subset without
    replacement, drawn anew for every N); the reals enter FID_N only
    through their fixed statistics (mu, sigma);
  * IS_N is computed in one split (their `calculate_inception_score(pred,
    num_splits=1)`), not the 10 of the improved-gan protocol;
  * the line is an ordinary least-squares fit with intercept (their sklearn
    LinearRegression) of the scores against 1/N, read at 1/N = 0.

They draw the generated images with Sobol latents; here the features are
given, so the subsets come from numpy's Generator seeded by `seed` (a
deviation of the random numbers only). `smallest` lets sets of fewer than
10,000 images use a smaller first N (the paper's 5000 needs the 50,000
images it evaluates).
"""

from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from tf_gans.metrics import fid
from tf_gans.metrics import inception_score

NUM_POINTS = 15     # Chong and Forsyth's num_points
SMALLEST = 5000     # their first N


def sample_counts(num_images: int, num_points: int = NUM_POINTS,
                  smallest: int = SMALLEST) -> np.ndarray:
  """The N of the fit: np.linspace(smallest, num_images, num_points) as integers (theirs)."""
  if num_points < 2:
    raise ValueError(f'the 1/N fit needs num_points >= 2, got {num_points}.')
  if smallest < 2 or smallest >= num_images:
    raise ValueError(f'the extrapolation evaluates N from smallest={smallest} to all '
                     f'{num_images} images: need 2 <= smallest < {num_images} (the paper uses '
                     f'{SMALLEST} of 50,000; lower smallest or give more images).')
  return np.linspace(smallest, num_images, num_points).astype(np.int64)


def extrapolate(counts: Sequence[int], scores: Sequence[float]) -> Tuple[float, float]:
  """(intercept, slope) of the least-squares line score = intercept + slope / N."""
  counts = np.asarray(counts, np.float64)
  scores = np.asarray(scores, np.float64)
  if counts.shape != scores.shape or counts.ndim != 1 or len(counts) < 2:
    raise ValueError(f'need >= 2 (N, score) pairs of one length, got {counts.shape} and '
                     f'{scores.shape}.')
  if len(np.unique(counts)) < 2:
    raise ValueError(f'the 1/N fit needs at least two different N, got {counts.tolist()}.')
  x = 1.0 / counts
  design = np.stack([np.ones_like(x), x], axis=1)
  (intercept, slope), *_ = np.linalg.lstsq(design, scores, rcond=None)
  return float(intercept), float(slope)


def _subsets(num: int, counts: np.ndarray, seed: int):
  rng = np.random.default_rng(seed)
  for n in counts:
    yield rng.permutation(num)[:n]


def _real_statistics(real) -> Tuple[np.ndarray, np.ndarray]:
  if isinstance(real, tuple) and len(real) == 2:
    return np.asarray(real[0], np.float64), np.asarray(real[1], np.float64)
  return fid.statistics(real)


def fid_infinity(real: Union[np.ndarray, Tuple[np.ndarray, np.ndarray]], fake_features,
                 seed: int = 0, num_points: int = NUM_POINTS, smallest: int = SMALLEST,
                 counts: Optional[Sequence[int]] = None,
                 method: str = 'sqrtm') -> Dict[str, Any]:
  """FID_inf of generated features against the reals (Chong and Forsyth 2020, s3.1).

  Args:
    real: real features [N_r, d], or their statistics (mu, sigma).
    fake_features: generated features [N, d].
    seed: seed of the random subsets.
    num_points, smallest: the N of the fit (`sample_counts`), unless
      `counts` gives them.
    method: fid.frechet_distance's 'sqrtm' (TTUR) or 'eigh' (faster).

  Returns:
    {'fid_inf', 'slope', 'counts': the N, 'fids': FID_N at each N}.
  """
  mu_r, sigma_r = _real_statistics(real)
  fake = np.asarray(fake_features)
  if fake.ndim != 2 or fake.shape[1] != mu_r.shape[0]:
    raise ValueError(f'fake_features must be [N, {mu_r.shape[0]}] to match the reals, got '
                     f'{fake.shape}.')
  counts = (sample_counts(len(fake), num_points, smallest) if counts is None
            else np.asarray(counts, np.int64))
  if counts.min() < 2 or counts.max() > len(fake):
    raise ValueError(f'counts must lie in [2, {len(fake)}], got {counts.tolist()}.')
  fids = [fid.frechet_distance(mu_r, sigma_r, *fid.statistics(fake[idx]), method=method)
          for idx in _subsets(len(fake), counts, seed)]
  intercept, slope = extrapolate(counts, fids)
  return {'fid_inf': intercept, 'slope': slope, 'counts': counts.tolist(),
          'fids': [float(v) for v in fids]}


def is_infinity(logits, seed: int = 0, num_points: int = NUM_POINTS, smallest: int = SMALLEST,
                counts: Optional[Sequence[int]] = None,
                probabilities: bool = False) -> Dict[str, Any]:
  """IS_inf of class predictions of generated images (Chong and Forsyth 2020, s3.2).

  Args:
    logits: [N, K] class logits (or p(y|x) rows if `probabilities`).
    seed, num_points, smallest, counts: as `fid_infinity`.

  Returns:
    {'is_inf', 'slope', 'counts', 'scores': IS_N (one split) at each N}.
  """
  logits = np.asarray(logits)
  if logits.ndim != 2:
    raise ValueError(f'logits must be [N, num_classes], got shape {logits.shape}.')
  counts = (sample_counts(len(logits), num_points, smallest) if counts is None
            else np.asarray(counts, np.int64))
  if counts.min() < 1 or counts.max() > len(logits):
    raise ValueError(f'counts must lie in [1, {len(logits)}], got {counts.tolist()}.')
  score = (inception_score.inception_score_from_probabilities if probabilities
           else inception_score.inception_score_from_logits)
  scores = [score(logits[idx], splits=1)[0] for idx in _subsets(len(logits), counts, seed)]
  intercept, slope = extrapolate(counts, scores)
  return {'is_inf': intercept, 'slope': slope, 'counts': counts.tolist(),
          'scores': [float(v) for v in scores]}

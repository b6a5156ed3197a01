"""Improved precision and recall, density and coverage: k-NN manifolds in feature space.

Precision and recall, Kynkaanniemi et al. (2019), "Improved Precision and
Recall Metric for Assessing Generative Models", s2 (k = 3): the real
manifold is the union of balls around each real feature with radius its
distance to its k-th nearest real neighbour (NND_k); the fake manifold
likewise. Precision is the share of fakes inside the real manifold (how
realistic the samples are); recall the share of reals inside the fake
manifold (how much of the data the samples cover).

Density and coverage, Naeem et al. (2020), "Reliable Fidelity and Diversity
Metrics for Generative Models", s3 eq. 4-5 (k = 5): density counts the
real balls each fake falls in, over k (expected 1 when both sets come from
one distribution, unbounded above); coverage is the share of reals whose
own ball holds at least one fake.

With R_i the k-th-neighbour radius of real i and F_j that of fake j:

  precision = mean_j [exists i: d(r_i, f_j) < R_i]
  recall    = mean_i [exists j: d(r_i, f_j) < F_j]
  density   = 1/k mean_j sum_i [d(r_i, f_j) < R_i]
  coverage  = mean_i [min_j d(r_i, f_j) < R_i]

Matched to the reference implementation of Naeem et al. (all four metrics),
clovaai/generative-evaluation-prdc `prdc/prdc.py` `compute_prdc` (pip
`prdc`; tests/metrics/test_crosscheck_prdc.py compares the two live):

  * the radius is the (k+1)-th smallest distance in the point's row of its
    own set's distance matrix, the point itself (distance 0) included, i.e.
    the k-th neighbour excluding itself; copies of the point count as
    neighbours at distance 0 (a set of one repeated feature has radii 0);
  * the ball test is strict (`<`). The original precision/recall code
    (github.com/kynkaat/improved-precision-and-recall-metric,
    `precision_recall.py` `ManifoldEstimator.evaluate`, on float32 squared
    distances) uses `<=`; the two differ only on exact ties, e.g. the recall
    of a set of one repeated image that equals a real (kept strict, as
    prdc);
  * Euclidean distances as sklearn's `euclidean_distances` computes them
    (||x||^2 - 2 x.y + ||y||^2, clipped at 0, in float64; a point's distance
    to itself exactly 0).

Unlike prdc (which builds three full N x N matrices: 20 GB each in float64
at N = 50,000), distances are computed in blocks of rows against the other
set, so memory is bounded by `block_elements` (see `_row_block`) whatever N.
numpy float64 was measured against TensorFlow on this project's 2-core
CPU machine (4000 x 4000 x 2048-d distances, loaded machine): numpy float64
2.7 s, TF float64 5.4 s, numpy float32 1.8 s, TF float32 0.6 s. float32
distances would move near-tie comparisons away from prdc's float64 ones, so
float64 numpy is used (exact agreement first). Measured here (2048-d
float64 features, loaded 2-core machine, tracemalloc peak of the metric
beyond its inputs): 2,500 + 2,500 features 3-4 s and 95 MB; 10,000 + 10,000
67-115 s and 128 MB. Time grows as N^2 (50,000 + 50,000: roughly half an
hour or more on such a CPU); memory stays at the block size.

`manifold_counts` returns the per-image quantities the four metrics
average; the bootstrap intervals (tf_gans.metrics.bootstrap) resample them.
`manifold_counts_per_k` gets them for several k from one set of distance
passes (evaluate's precision_recall at k = 3 and density_coverage at k = 5
share it).
"""

from typing import Dict, Sequence, Tuple

import numpy as np

PRECISION_RECALL_K = 3   # Kynkaanniemi et al. 2019 s4 (k = 3)
DENSITY_COVERAGE_K = 5   # Naeem et al. 2020 s4.2 (k = 5)
BLOCK_ELEMENTS = 1 << 23  # distances held at once per block (64 MiB in float64)


def _as_features(name: str, features) -> np.ndarray:
  features = np.asarray(features)
  if features.ndim != 2 or features.shape[1] == 0:
    raise ValueError(f'{name} must be a 2-D array [num_images, num_features], got shape '
                     f'{features.shape}.')
  if not np.issubdtype(features.dtype, np.number) or np.issubdtype(features.dtype,
                                                                   np.complexfloating):
    raise ValueError(f'{name} must be real-valued, got dtype {features.dtype}.')
  features = np.asarray(features, np.float64)    # no copy of float64 features
  if not np.all(np.isfinite(features)):
    raise ValueError(f'{name} contains non-finite values (nan or inf).')
  return features


def _check(real, fake, k: int):
  real = _as_features('real_features', real)
  fake = _as_features('fake_features', fake)
  if real.shape[1] != fake.shape[1]:
    raise ValueError(f'real_features and fake_features have different feature sizes: '
                     f'{real.shape[1]} vs {fake.shape[1]}.')
  if isinstance(k, bool) or int(k) != k or k < 1:
    raise ValueError(f'k must be a positive integer, got {k!r}.')
  for name, n in (('real_features', len(real)), ('fake_features', len(fake))):
    if n <= k:
      raise ValueError(f'{name} holds {n} features; a k = {k} nearest-neighbour radius needs '
                       f'at least {k + 1}.')
  return real, fake, int(k)


def _row_block(columns: int, block_elements: int) -> int:
  return max(1, int(block_elements) // max(columns, 1))


def _distances(x: np.ndarray, y: np.ndarray, xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
  """Euclidean distances [len(x), len(y)] as sklearn.metrics.euclidean_distances (float64)."""
  d2 = x @ y.T
  d2 *= -2.0
  d2 += xx[:, None]
  d2 += yy[None, :]
  np.maximum(d2, 0.0, out=d2)
  return np.sqrt(d2, out=d2)


def _radii(features: np.ndarray, ks: Tuple[int, ...], block_elements: int) -> np.ndarray:
  """[len(ks), N]: each feature's distance to its k-th neighbour (itself excluded), per k."""
  n = len(features)
  norms = np.einsum('ij,ij->i', features, features)
  radii = np.empty((len(ks), n))
  rows = _row_block(n, block_elements)
  kth = [k - 1 for k in ks]
  for first in range(0, n, rows):
    last = min(first + rows, n)
    block = _distances(features[first:last], features, norms[first:last], norms)
    block[np.arange(last - first), np.arange(first, last)] = np.inf
    radii[:, first:last] = np.partition(block, kth, axis=1)[:, kth].T
  return radii


def knn_radii(features, k: int, block_elements: int = BLOCK_ELEMENTS) -> np.ndarray:
  """Distance of each feature to its k-th nearest neighbour in the same set, excluding itself.

  prdc's `compute_nearest_neighbour_distances`: the (k+1)-th smallest of the
  row with the self-distance 0; here the self entry is set to +inf and the
  k-th smallest taken, which is the same value since no distance is below 0
  (copies of the point stay neighbours at distance 0, as in prdc).
  """
  features = _as_features('features', features)
  if len(features) <= k:
    raise ValueError(f'a k = {k} nearest-neighbour radius needs at least {k + 1} features, '
                     f'got {len(features)}.')
  return _radii(features, (int(k),), block_elements)[0]


def manifold_counts_per_k(real_features, fake_features, ks: Sequence[int],
                          block_elements: int = BLOCK_ELEMENTS
                          ) -> Dict[int, Dict[str, np.ndarray]]:
  """{k: manifold_counts(..., k)} for several k from one set of distance passes.

  The three distance passes (real-real, fake-fake, real-fake) dominate the
  cost and do not depend on k, so precision/recall (k = 3) and
  density/coverage (k = 5) of one evaluation share them.
  """
  for k in ks:
    if isinstance(k, bool) or int(k) != k or k < 1:
      raise ValueError(f'k must be a positive integer, got {k!r}.')
  ks = tuple(sorted({int(k) for k in ks}))
  if not ks:
    raise ValueError('ks must name at least one k.')
  real, fake, _ = _check(real_features, fake_features, ks[-1])
  real_radii = _radii(real, ks, block_elements)
  fake_radii = _radii(fake, ks, block_elements)
  real_norms = np.einsum('ij,ij->i', real, real)
  fake_norms = np.einsum('ij,ij->i', fake, fake)
  out = {k: {'fake_in_real': np.zeros(len(fake), np.int64),
             'real_in_fake': np.zeros(len(real), bool),
             'real_covered': np.zeros(len(real), bool)} for k in ks}
  rows = _row_block(len(fake), block_elements)
  for first in range(0, len(real), rows):
    last = min(first + rows, len(real))
    block = _distances(real[first:last], fake, real_norms[first:last], fake_norms)
    nearest = block.min(axis=1)
    for i, k in enumerate(ks):
      radius = real_radii[i, first:last]
      out[k]['fake_in_real'] += np.count_nonzero(block < radius[:, None], axis=0)
      out[k]['real_in_fake'][first:last] = np.any(block < fake_radii[i][None, :], axis=1)
      out[k]['real_covered'][first:last] = nearest < radius
  return out


def manifold_counts(real_features, fake_features, k: int,
                    block_elements: int = BLOCK_ELEMENTS) -> Dict[str, np.ndarray]:
  """The per-feature quantities the four metrics average, from one blocked pass.

  Returns a dict of arrays:
    'fake_in_real' [N_f]: how many real balls (radius R_i) hold each fake;
    'real_in_fake' [N_r]: whether any fake ball (radius F_j) holds each real;
    'real_covered' [N_r]: whether each real's ball holds its nearest fake.
  precision = mean(fake_in_real > 0), density = mean(fake_in_real) / k,
  recall = mean(real_in_fake), coverage = mean(real_covered).
  """
  (counts,) = manifold_counts_per_k(real_features, fake_features, (k,), block_elements).values()
  return counts


def values_from_counts(counts: Dict[str, np.ndarray], k: int) -> Dict[str, float]:
  """{'precision', 'recall', 'density', 'coverage'} from `manifold_counts` at k."""
  return {'precision': float(np.mean(counts['fake_in_real'] > 0)),
          'recall': float(np.mean(counts['real_in_fake'])),
          'density': float(np.mean(counts['fake_in_real']) / k),
          'coverage': float(np.mean(counts['real_covered']))}


def precision_recall(real_features, fake_features, k: int = PRECISION_RECALL_K,
                     block_elements: int = BLOCK_ELEMENTS) -> Dict[str, float]:
  """Improved precision and recall (Kynkaanniemi et al. 2019), k-NN radii in feature space.

  Args:
    real_features: [N_r, d] features of real images (e.g. Inception pool_3).
    fake_features: [N_f, d] features of generated images.
    k: the neighbour whose distance is a point's radius (paper: 3).
    block_elements: distances held in memory at once.

  Returns:
    {'precision': share of fakes in the real manifold,
     'recall': share of reals in the fake manifold}.
  """
  values = values_from_counts(manifold_counts(real_features, fake_features, k, block_elements), k)
  return {name: values[name] for name in ('precision', 'recall')}


def density_coverage(real_features, fake_features, k: int = DENSITY_COVERAGE_K,
                     block_elements: int = BLOCK_ELEMENTS) -> Dict[str, float]:
  """Density and coverage (Naeem et al. 2020, eq. 4-5), on real k-NN balls only.

  Returns:
    {'density': mean over fakes of the real balls holding them, over k,
     'coverage': share of reals whose ball holds a fake}.
  """
  values = values_from_counts(manifold_counts(real_features, fake_features, k, block_elements), k)
  return {name: values[name] for name in ('density', 'coverage')}

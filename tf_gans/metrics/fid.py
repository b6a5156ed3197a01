"""Frechet distance (FID) and kernel distance (KID) between feature statistics.

Frechet Inception Distance, Heusel et al. (2017), "GANs Trained by a Two
Time-Scale Update Rule Converge to a Local Nash Equilibrium" (TTUR), eq. 6:

  d^2((mu1, S1), (mu2, S2)) = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)),

computed as the TTUR `fid.py` `calculate_frechet_distance` does (the code
that PGGAN's `metrics/frechet_inception_distance.py` and the RGAN
`code/fid.py` use, github.com/tkarras/progressive_growing_of_gans and
github.com/AlexiaJM/RelativisticGAN):

  * mu = mean of the activations, S = np.cov(activations, rowvar=False)
    (ddof 1);
  * (S1 S2)^(1/2) by scipy.linalg.sqrtm; if it is not finite (a singular
    product), `eps` * I (1e-6) is added to both covariances and the square
    root retried, with a warning;
  * a complex result whose diagonal has an imaginary part above 1e-3
    (np.allclose(..., 0, atol=1e-3)) raises ValueError; otherwise the real
    part is kept.

The original calls `sqrtm(..., disp=False)` (which only silences scipy's
printed accuracy warning); SciPy 1.16 deprecated `disp`, so this module calls
`sqrtm(A)` with scipy's warnings silenced, which returns the same matrix.

The features come from any extractor: Inception pool_3 (2048-d) for FID
proper, or any Keras classifier's penultimate layer (`classifier_features`)
for a domain-specific "Frechet classifier distance". Statistics are stored
in the TTUR `.npz` format, keys `mu` and `sigma`.

Kernel Inception Distance, Binkowski et al. (2018), "Demystifying MMD GANs":
the unbiased MMD^2 estimate with the polynomial kernel
k(x, y) = (x.y / d + 1)^3, averaged over random subsets (module function
`kernel_distance`).

Only numpy and scipy are needed; `classifier_features` imports Keras lazily.
"""

import dataclasses
import os
import warnings
from typing import Callable, Optional, Tuple

import numpy as np
from scipy import linalg

EPS = 1e-6                 # diagonal offset of the TTUR retry
IMAG_ATOL = 1e-3           # tolerated |imag| on the diagonal of sqrtm(S1 S2)


def _as_activations(name: str, act) -> np.ndarray:
  """float64 [N, d] activations, finite, N >= 1."""
  act = np.asarray(act)
  if act.ndim != 2:
    raise ValueError(f'{name} must be a 2-D array [num_images, num_features], got shape '
                     f'{act.shape}; flatten pooled features first.')
  if act.shape[0] == 0 or act.shape[1] == 0:
    raise ValueError(f'{name} is empty (shape {act.shape}).')
  if not np.issubdtype(act.dtype, np.number) or np.issubdtype(act.dtype, np.complexfloating):
    raise ValueError(f'{name} must be real-valued, got dtype {act.dtype}.')
  act = act.astype(np.float64)
  if not np.all(np.isfinite(act)):
    raise ValueError(f'{name} contains non-finite values (nan or inf).')
  return act


def statistics(activations) -> Tuple[np.ndarray, np.ndarray]:
  """(mu, sigma) of activations [N, d]: the mean and np.cov(rowvar=False) (ddof 1), as TTUR.

  Raises:
    ValueError: for non-2-D, empty or non-finite activations, or N < 2 (no
      sample covariance).
  """
  act = _as_activations('activations', activations)
  if act.shape[0] < 2:
    raise ValueError(f'statistics need at least 2 activations for a covariance, got '
                     f'{act.shape[0]}.')
  return act.mean(axis=0), np.cov(act, rowvar=False)


def _check_stats(mu1, sigma1, mu2, sigma2):
  mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
  sigma1 = np.atleast_2d(sigma1).astype(np.float64)
  sigma2 = np.atleast_2d(sigma2).astype(np.float64)
  if mu1.ndim != 1 or mu1.shape != mu2.shape:
    raise ValueError(f'mean vectors must be 1-D of one length, got {mu1.shape} and {mu2.shape}.')
  d = mu1.shape[0]
  if sigma1.shape != (d, d) or sigma2.shape != (d, d):
    raise ValueError(f'covariances must be [{d}, {d}] to match the means, got {sigma1.shape} '
                     f'and {sigma2.shape}.')
  for name, a in (('mu1', mu1), ('mu2', mu2), ('sigma1', sigma1), ('sigma2', sigma2)):
    if not np.all(np.isfinite(a)):
      raise ValueError(f'{name} contains non-finite values.')
  return mu1, sigma1, mu2, sigma2


def _sqrtm(a: np.ndarray) -> np.ndarray:
  """scipy.linalg.sqrtm(a) without its printed / warned accuracy messages."""
  with warnings.catch_warnings(), np.errstate(all='ignore'):
    warnings.simplefilter('ignore')
    return linalg.sqrtm(a)


def _trace_sqrt_product_eigh(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
  """Tr (S1 S2)^(1/2) = Tr (S1^(1/2) S2 S1^(1/2))^(1/2) for symmetric PSD S1, S2, by eigh.

  The eigenvalues of S1 S2 equal those of the symmetric PSD matrix
  S1^(1/2) S2 S1^(1/2); rounding makes a few slightly negative, which are
  clipped to 0.
  """
  w, v = np.linalg.eigh(sigma1)
  root1 = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
  inner = root1 @ sigma2 @ root1
  ev = np.linalg.eigvalsh((inner + inner.T) * 0.5)
  return float(np.sum(np.sqrt(np.clip(ev, 0.0, None))))


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = EPS, method: str = 'sqrtm') -> float:
  """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 sqrtm(S1 S2)), exactly as TTUR's calculate_frechet_distance.

  Args:
    mu1, sigma1: mean [d] and covariance [d, d] of one feature set.
    mu2, sigma2: those of the other (e.g. the precomputed reference).
    eps: diagonal offset added to both covariances when sqrtm(S1 S2) is
      not finite (TTUR: 1e-6).
    method: 'sqrtm' (default) is the TTUR computation. 'eigh' computes the
      same trace from two symmetric eigendecompositions (see
      `_trace_sqrt_product_eigh`): much faster at d = 2048 (seconds instead
      of a minute or more on a small CPU) and never complex; it needs
      symmetric covariances and agrees with 'sqrtm' to ~1e-6 relative on
      well-conditioned statistics.

  Returns:
    The squared Frechet distance as a float (FID when the features are
    Inception pool_3).

  Raises:
    ValueError: mismatched shapes, non-finite statistics, an unknown
      method, non-symmetric covariances with 'eigh', a square root still
      not finite after the offset, or an imaginary diagonal part above 1e-3
      (the product is far from having a real square root).
  """
  mu1, sigma1, mu2, sigma2 = _check_stats(mu1, sigma1, mu2, sigma2)
  diff = mu1 - mu2
  if method == 'eigh':
    for name, s in (('sigma1', sigma1), ('sigma2', sigma2)):
      if not np.allclose(s, s.T, rtol=1e-10, atol=1e-12 * max(1.0, np.abs(s).max())):
        raise ValueError(f"method='eigh' needs symmetric covariances; {name} is not.")
    tr_covmean = _trace_sqrt_product_eigh(sigma1, sigma2)
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr_covmean)
  if method != 'sqrtm':
    raise ValueError(f"method must be 'sqrtm' (TTUR) or 'eigh', got {method!r}.")
  covmean = _sqrtm(sigma1.dot(sigma2))
  if not np.all(np.isfinite(covmean)):
    warnings.warn(f'Frechet distance: singular product of covariances; adding {eps} to their '
                  'diagonals (as TTUR does).', RuntimeWarning, stacklevel=2)
    offset = np.eye(sigma1.shape[0]) * eps
    covmean = _sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if not np.all(np.isfinite(covmean)):
      raise ValueError('Frechet distance: sqrtm(S1 S2) is not finite even with the eps offset.')
  if np.iscomplexobj(covmean):
    if not np.allclose(np.diagonal(covmean).imag, 0, atol=IMAG_ATOL):
      raise ValueError(f'Frechet distance: sqrtm(S1 S2) has an imaginary component of up to '
                       f'{np.max(np.abs(covmean.imag)):g} (tolerance {IMAG_ATOL} on the diagonal).')
    covmean = covmean.real
  return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def frechet_distance_from_activations(act1, act2, eps: float = EPS,
                                      method: str = 'sqrtm') -> float:
  """frechet_distance(*statistics(act1), *statistics(act2), eps, method)."""
  return frechet_distance(*statistics(act1), *statistics(act2), eps=eps, method=method)


def save_statistics(path, mu, sigma) -> None:
  """Writes (mu, sigma) as an uncompressed .npz with keys `mu` and `sigma` (the TTUR format).

  Missing parent folders are created; the file is written beside its final name and
  renamed in, so a kill never leaves a torn .npz that a later call would read as cached.
  """
  mu = np.asarray(mu, np.float64)
  sigma = np.asarray(sigma, np.float64)
  if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
    raise ValueError(f'expected mu [d] and sigma [d, d], got {mu.shape} and {sigma.shape}.')
  path = os.fspath(path)
  if not path.endswith('.npz'):
    raise ValueError(f'statistics files are .npz (the TTUR format), got {path!r}.')
  folder = os.path.dirname(os.path.abspath(path))
  os.makedirs(folder, exist_ok=True)
  partial = f'{path[:-len(".npz")]}.tmp-{os.getpid()}.npz'
  try:
    np.savez(partial, mu=mu, sigma=sigma)
    os.replace(partial, path)
  finally:
    if os.path.exists(partial):
      os.remove(partial)


def load_statistics(path) -> Tuple[np.ndarray, np.ndarray]:
  """(mu, sigma) from a TTUR-format .npz (e.g. fid_stats_cifar10_train.npz); no pickles."""
  with np.load(os.fspath(path), allow_pickle=False) as f:
    missing = {'mu', 'sigma'} - set(f.files)
    if missing:
      raise ValueError(f'{path}: not a statistics file, it lacks {sorted(missing)} (has '
                       f'{sorted(f.files)}).')
    mu, sigma = f['mu'].astype(np.float64), f['sigma'].astype(np.float64)
  if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
    raise ValueError(f'{path}: expected mu [d] and sigma [d, d], got {mu.shape} and '
                     f'{sigma.shape}.')
  return mu, sigma


class StatisticsAccumulator:
  """Running mean and covariance over minibatches of activations, in float64.

  Batches are merged with the pairwise update of Chan et al. (1979): each
  batch's mean and centred scatter matrix are combined with the running
  ones, which avoids the cancellation of sum(x x^T) - n mu mu^T. The
  result equals (mean, np.cov(rowvar=False)) of the concatenation to
  rounding.
  """

  def __init__(self):
    self.count = 0
    self._mean = None
    self._scatter = None

  def update(self, activations) -> None:
    act = _as_activations('activations', activations)
    if self._mean is not None and act.shape[1] != self._mean.shape[0]:
      raise ValueError(f'activations have {act.shape[1]} features, earlier batches '
                       f'{self._mean.shape[0]}.')
    n = act.shape[0]
    mean = act.mean(axis=0)
    centred = act - mean
    scatter = centred.T @ centred
    if self._mean is None:
      self.count, self._mean, self._scatter = n, mean, scatter
      return
    total = self.count + n
    delta = mean - self._mean
    self._scatter += scatter + np.outer(delta, delta) * (self.count * n / total)
    self._mean += delta * (n / total)
    self.count = total

  def result(self) -> Tuple[np.ndarray, np.ndarray]:
    """(mu, sigma) with sigma = scatter / (N - 1), as np.cov."""
    if self.count < 2:
      raise ValueError(f'need at least 2 activations for a covariance, got {self.count}.')
    return self._mean.copy(), self._scatter / (self.count - 1)


@dataclasses.dataclass
class KernelDistance:
  """KID: the mean and std over subsets of the unbiased MMD^2 estimate."""
  mean: float
  std: float
  num_subsets: int
  subset_size: int

  def to_dict(self) -> dict:
    return dataclasses.asdict(self)


def _polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
  """k(x, y) = (x . y / d + 1)^3, the KID kernel (Binkowski et al. 2018)."""
  return (x @ y.T / x.shape[1] + 1.0)**3


def mmd2_unbiased(x, y) -> float:
  """Unbiased MMD^2 of two samples with the cubic polynomial kernel.

    MMD^2_u = sum_{i!=j} k(x_i, x_j) / (m (m-1)) + sum_{i!=j} k(y_i, y_j) / (n (n-1))
              - 2 sum_{i,j} k(x_i, y_j) / (m n).
  """
  x = _as_activations('x', x)
  y = _as_activations('y', y)
  if x.shape[1] != y.shape[1]:
    raise ValueError(f'x and y have different feature sizes: {x.shape[1]} vs {y.shape[1]}.')
  m, n = len(x), len(y)
  if m < 2 or n < 2:
    raise ValueError(f'the unbiased MMD needs at least 2 samples per set, got {m} and {n}.')
  kxx = _polynomial_kernel(x, x)
  kyy = _polynomial_kernel(y, y)
  kxy = _polynomial_kernel(x, y)
  return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
               + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
               - 2.0 * kxy.mean())


def kernel_distance(act1, act2, num_subsets: int = 100, max_subset_size: int = 1000,
                    seed: int = 0) -> KernelDistance:
  """KID: unbiased polynomial-kernel MMD^2 averaged over random subsets.

  Each of `num_subsets` draws picks m = min(N1, N2, max_subset_size) rows of
  each set without replacement (numpy Generator seeded by `seed`) and
  computes `mmd2_unbiased`. Binkowski et al. report the mean and std.

  Returns:
    A `KernelDistance` (mean is ~0 for one distribution, > 0 otherwise;
    unlike FID it can be slightly negative).
  """
  act1 = _as_activations('act1', act1)
  act2 = _as_activations('act2', act2)
  if act1.shape[1] != act2.shape[1]:
    raise ValueError(f'act1 and act2 have different feature sizes: {act1.shape[1]} vs '
                     f'{act2.shape[1]}.')
  if num_subsets < 1 or max_subset_size < 2:
    raise ValueError(f'need num_subsets >= 1 and max_subset_size >= 2, got {num_subsets} and '
                     f'{max_subset_size}.')
  m = min(len(act1), len(act2), max_subset_size)
  rng = np.random.default_rng(seed)
  values = []
  for _ in range(num_subsets):
    x = act1[rng.choice(len(act1), m, replace=False)]
    y = act2[rng.choice(len(act2), m, replace=False)]
    values.append(mmd2_unbiased(x, y))
  return KernelDistance(float(np.mean(values)), float(np.std(values)), num_subsets, m)


FeatureFn = Callable[[np.ndarray], np.ndarray]


def classifier_features(model, layer: Optional[str] = None, batch_size: int = 256) -> FeatureFn:
  """A feature function images -> float64 [N, d] from any Keras classifier.

  Args:
    model: a built Keras model (e.g. `tf_gans.metrics.classifier`'s digit
      classifier), called in inference mode.
    layer: name of the layer whose output are the features; None takes the
      input of the last layer (the penultimate features before the logits).
    batch_size: images per forward pass.

  Returns:
    `features(images)`: images already in the model's input range ->
    float64 [N, d] (trailing feature axes flattened).
  """
  import keras  # pylint: disable=import-outside-toplevel
  if layer is None:
    if len(model.layers) < 2:
      raise ValueError(f'model {model.name!r} has {len(model.layers)} layer(s); name a layer.')
    output = model.layers[-1].input
  else:
    output = model.get_layer(layer).output
  inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
  extractor = keras.Model(inputs, output, name=f'{model.name}_features')

  def features(images) -> np.ndarray:
    images = np.asarray(images)
    if len(images) == 0:
      raise ValueError('features: no images.')
    out = []
    for start in range(0, len(images), batch_size):
      batch = extractor(images[start:start + batch_size], training=False)
      out.append(np.asarray(batch, np.float64).reshape(len(batch), -1))
    return np.concatenate(out)

  return features


def feature_statistics(feature_fn: FeatureFn, images, batch_size: int = 256
                       ) -> Tuple[np.ndarray, np.ndarray]:
  """(mu, sigma) of feature_fn over `images`, streamed in batches (float64)."""
  acc = StatisticsAccumulator()
  for start in range(0, len(images), batch_size):
    acc.update(feature_fn(images[start:start + batch_size]))
  return acc.result()

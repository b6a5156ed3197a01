"""Inception score, as the openai/improved-gan code computes it (Salimans et al. 2016).

  IS = exp( E_x KL( p(y|x) || p(y) ) ),

with p(y) the mean of p(y|x) over the split. The protocol of the original
`inception_score.py` `get_inception_score` (used unchanged by PGGAN as
`metrics/inception_score.py`):

  * class probabilities p(y|x) of every image (PGGAN: softmax of
    pool_3 @ W of the 2015-12-05 Inception graph, 1008 classes, no bias;
    50000 images);
  * the N predictions are cut into `splits` = 10 consecutive parts,
    part i = preds[i * N // splits : (i + 1) * N // splits];
  * per part: kl = mean_x sum_y p log p - p log p(y), score = exp(kl);
  * reported: the mean and the (population, ddof 0) std of the part scores.

Differences from the original: everything is float64, and 0 log 0 is taken
as 0 (the original evaluates p * (log p - log p(y)) directly, which is nan
for a probability that underflowed to exactly 0). From logits, log p(y|x)
is the log-softmax, so confident predictions keep their exact logs.

Any classifier works: `classifier_score(model, images)` takes a Keras model
whose outputs are logits (e.g. `tf_gans.metrics.classifier`'s digit
classifier, for an MNIST "classifier score", at most 10 there).
"""

from typing import Tuple

import numpy as np
from scipy import special

SPLITS = 10


def _check_splits(num: int, splits) -> int:
  if isinstance(splits, bool) or int(splits) != splits or splits < 1:
    raise ValueError(f'splits must be a positive integer, got {splits!r}.')
  if num < splits:
    raise ValueError(f'need at least one prediction per split: {num} predictions, {splits} '
                     'splits.')
  return int(splits)


def _as_matrix(name: str, a) -> np.ndarray:
  a = np.asarray(a)
  if a.ndim != 2 or a.shape[1] < 1:
    raise ValueError(f'{name} must be a 2-D array [num_images, num_classes], got shape '
                     f'{a.shape}.')
  if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
    raise ValueError(f'{name} must be real-valued, got dtype {a.dtype}.')
  a = a.astype(np.float64)
  if not np.all(np.isfinite(a)):
    raise ValueError(f'{name} contains non-finite values.')
  return a


def _score_from_log_probs(log_p: np.ndarray, splits: int) -> Tuple[float, float]:
  """Mean and std over splits of exp(mean_x KL(p(y|x) || p(y))), from log p(y|x)."""
  n = len(log_p)
  splits = _check_splits(n, splits)
  p = np.exp(log_p)
  scores = []
  for i in range(splits):
    part_p = p[i * n // splits:(i + 1) * n // splits]
    part_log_p = log_p[i * n // splits:(i + 1) * n // splits]
    # 0 log 0 = 0: a class with p(y|x) = 0 contributes nothing (and may have p(y) = 0).
    with np.errstate(divide='ignore', invalid='ignore'):
      log_marginal = np.log(part_p.mean(axis=0))
      terms = np.where(part_p > 0, part_p * (part_log_p - log_marginal[None, :]), 0.0)
    scores.append(np.exp(terms.sum(axis=1).mean()))
  return float(np.mean(scores)), float(np.std(scores))


def inception_score_from_logits(logits, splits: int = SPLITS) -> Tuple[float, float]:
  """(mean, std) of the Inception score over `splits` parts, from logits [N, K].

  The logits may be shifted per row (softmax invariance). See the module
  docstring for the protocol.
  """
  logits = _as_matrix('logits', logits)
  return _score_from_log_probs(special.log_softmax(logits, axis=1), splits)


def inception_score_from_probabilities(probs, splits: int = SPLITS,
                                       atol: float = 1e-3) -> Tuple[float, float]:
  """(mean, std) of the Inception score over `splits` parts, from p(y|x) [N, K].

  Raises:
    ValueError: if a probability is negative or a row does not sum to 1
      within `atol` (logits passed by mistake, say).
  """
  probs = _as_matrix('probs', probs)
  if np.any(probs < 0) or not np.allclose(probs.sum(axis=1), 1.0, rtol=0, atol=atol):
    raise ValueError('probs must be non-negative rows summing to 1 (got something else: '
                     'logits? use inception_score_from_logits).')
  with np.errstate(divide='ignore'):
    log_p = np.log(probs)
  return _score_from_log_probs(log_p, splits)


def classifier_logits(model, images, batch_size: int = 100) -> np.ndarray:
  """float64 [N, K] outputs of a Keras classifier (inference mode), in batches of `batch_size`."""
  images = np.asarray(images)
  if len(images) == 0:
    raise ValueError('classifier_logits: no images.')
  out = [np.asarray(model(images[start:start + batch_size], training=False), np.float64)
         for start in range(0, len(images), batch_size)]
  return np.concatenate(out)


def classifier_score(model, images, splits: int = SPLITS, batch_size: int = 100,
                     from_logits: bool = True) -> Tuple[float, float]:
  """Inception score with any Keras classifier: (mean, std) over `splits` parts.

  Args:
    model: Keras model mapping images (already in its input range) to
      logits, or to probabilities with from_logits=False.
    images: [N, ...] inputs, N >= splits.
    splits: 10 in the original protocol.
    batch_size: images per forward pass (the original used 100).
    from_logits: whether the model outputs logits (the digit classifier
      does) or probabilities.

  Returns:
    (mean, std): between 1 and the number of classes.
  """
  out = classifier_logits(model, images, batch_size)
  if from_logits:
    return inception_score_from_logits(out, splits)
  return inception_score_from_probabilities(out, splits)

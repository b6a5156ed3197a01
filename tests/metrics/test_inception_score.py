"""Inception score as openai/improved-gan computes it (tf_gans.metrics.inception_score)."""


import numpy as np
import pytest

from tf_gans.metrics import inception_score as score


def _ref_score(probs, splits=10):
  """The original formula verbatim in spirit: p * (log p - log mean p), exp of the mean sum."""
  n = len(probs)
  out = []
  for i in range(splits):
    part = probs[i * n // splits:(i + 1) * n // splits]
    kl = part * (np.log(part) - np.log(part.mean(axis=0, keepdims=True)))
    out.append(np.exp(kl.sum(axis=1).mean()))
  return np.mean(out), np.std(out)


def _softmax(logits):
  e = np.exp(logits - logits.max(axis=1, keepdims=True))
  return e / e.sum(axis=1, keepdims=True)


def test_uniform_predictions_score_one():
  mean, std = score.inception_score_from_probabilities(np.full((50, 7), 1 / 7))
  np.testing.assert_allclose([mean, std], [1.0, 0.0], atol=1e-12)
  mean, _ = score.inception_score_from_logits(np.zeros((50, 7)))
  np.testing.assert_allclose(mean, 1.0, atol=1e-12)


@pytest.mark.parametrize('k', [1, 3, 10])
def test_one_hot_predictions_spread_over_k_classes_score_k(k):
  labels = np.arange(10 * k * 4) % k              # every split holds each class equally often
  probs = np.eye(12)[labels]                      # exact zeros: 0 log 0 must count as 0
  mean, std = score.inception_score_from_probabilities(probs)
  np.testing.assert_allclose([mean, std], [k, 0.0], atol=1e-9)
  mean, _ = score.inception_score_from_logits(200.0 * probs)   # softmax underflows to 0
  np.testing.assert_allclose(mean, k, rtol=1e-9)


def test_matches_an_independent_numpy_computation():
  rng = np.random.default_rng(0)
  logits = 3 * rng.standard_normal((1003, 10))     # N not divisible by the splits
  probs = _softmax(logits)
  ref = _ref_score(probs)
  np.testing.assert_allclose(score.inception_score_from_logits(logits), ref, rtol=1e-10)
  np.testing.assert_allclose(score.inception_score_from_probabilities(probs), ref, rtol=1e-10)
  np.testing.assert_allclose(score.inception_score_from_logits(logits + 5.0), ref, rtol=1e-10)
  np.testing.assert_allclose(score.inception_score_from_logits(logits, splits=3),
                             _ref_score(probs, 3), rtol=1e-10)


def test_clear_errors():
  with pytest.raises(ValueError, match='per split'):
    score.inception_score_from_logits(np.zeros((5, 3)))
  with pytest.raises(ValueError, match='summing to 1'):
    score.inception_score_from_probabilities(np.ones((20, 3)))
  with pytest.raises(ValueError, match='2-D'):
    score.inception_score_from_logits(np.zeros(20))
  with pytest.raises(ValueError, match='splits'):
    score.inception_score_from_logits(np.zeros((20, 3)), splits=0)


def test_digit_classifier_scores_real_digits_high_and_noise_low(mnist_dir):
  from tf_gans import data  # pylint: disable=import-outside-toplevel
  from tf_gans.metrics import classifier  # pylint: disable=import-outside-toplevel
  train = data.load_source(f'mnist_idx:{mnist_dir}', 'test')
  held_out = data.load_source(f'mnist_idx:{mnist_dir}', 'train[:2000]')
  # One quick epoch (~8 s, ~96% held-out accuracy); its real-digit score is ~8.4 of at most 10.
  model = classifier.train_digit_classifier(train, epochs=1, batch_size=32)
  real = classifier.to_range(held_out.as_float(), (-1.0, 1.0))
  noise = np.random.default_rng(0).uniform(-1, 1, size=real.shape).astype(np.float32)
  real_mean, real_std = score.classifier_score(model, real)
  noise_mean, _ = score.classifier_score(model, noise)
  assert real_mean > 7.5 and real_std < 0.6
  assert noise_mean < 2.0
  assert real_mean <= 10.0 + 1e-9


def test_agrees_with_tfgan_classifier_score(tfgan):
  """TF-GAN's classifier_score_from_logits is exp(mean KL) of one split."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  logits = 2 * np.random.default_rng(1).standard_normal((500, 10))
  theirs = float(tfgan.eval.classifier_score_from_logits(tf.constant(logits)))
  ours, _ = score.inception_score_from_logits(logits, splits=1)
  np.testing.assert_allclose(ours, theirs, rtol=1e-5)


def test_splits_agree_with_tfgan_per_split(tfgan):
  """The 10-split protocol is TF-GAN's one-split score on each consecutive tenth,
  then the mean and (population) std of those ten scores."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  logits = 3 * np.random.default_rng(2).standard_normal((1000, 10)) + np.arange(10) / 4
  theirs = [float(tfgan.eval.classifier_score_from_logits(tf.constant(part)))
            for part in np.split(logits, 10)]
  mean, std = score.inception_score_from_logits(logits, splits=10)
  np.testing.assert_allclose(mean, np.mean(theirs), rtol=1e-5)
  np.testing.assert_allclose(std, np.std(theirs), rtol=1e-4)

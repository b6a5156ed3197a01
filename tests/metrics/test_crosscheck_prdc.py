"""tf_gans.metrics.prdc against the `prdc` pip package (clovaai/generative-evaluation-prdc), live.

`prdc.compute_prdc` builds full sklearn distance matrices; the project's
blocked computation must give the same four numbers on the same features.
"""

import numpy as np
import prdc as reference   # the test extra of setup.py installs it: no skip
import pytest

from tf_gans.metrics import prdc as ours


def _both(real, fake, k):
  want = reference.compute_prdc(real, fake, nearest_k=k)
  got = {**ours.precision_recall(real, fake, k), **ours.density_coverage(real, fake, k)}
  return got, want


@pytest.mark.parametrize('k', [3, 5])
def test_equal_to_prdc_on_shifted_gaussians(k):
  rng = np.random.default_rng(k)
  real = rng.standard_normal((600, 32))
  fake = rng.standard_normal((500, 32)) * 1.1 + 0.15
  got, want = _both(real, fake, k)
  for name in ('precision', 'recall', 'density', 'coverage'):
    assert abs(got[name] - float(want[name])) <= 1e-6, (name, got[name], want[name])
  assert 0 < got['precision'] < 1 and 0 < got['recall'] < 1


def test_equal_to_prdc_on_float32_inception_sized_features():
  rng = np.random.default_rng(11)
  real = np.abs(rng.standard_normal((300, 2048))).astype(np.float32)   # pool_3 is post-ReLU
  fake = (np.abs(rng.standard_normal((300, 2048))) * 1.05).astype(np.float32)
  got, want = _both(real, fake, 3)
  for name in ('precision', 'recall', 'density', 'coverage'):
    assert abs(got[name] - float(want[name])) <= 1e-6, (name, got[name], want[name])


def test_equal_to_prdc_with_ties_one_repeated_image():
  """Copies (distance 0) are neighbours in both: radii 0 for the collapsed set."""
  rng = np.random.default_rng(12)
  real = rng.standard_normal((200, 16))
  collapsed = np.repeat(real[3:4], 150, axis=0)
  for k in (3, 5):
    got, want = _both(real, collapsed, k)
    for name in ('precision', 'recall', 'density', 'coverage'):
      assert abs(got[name] - float(want[name])) <= 1e-6, (name, k, got[name], want[name])
    assert got['precision'] == 1.0 and got['recall'] <= 1 / 200

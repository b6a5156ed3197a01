"""Improved precision/recall and density/coverage (tf_gans.metrics.prdc)."""

import numpy as np
import pytest

from tf_gans.metrics import prdc


def _features(seed, n, d=8, shift=0.0, scale=1.0):
  return np.random.default_rng(seed).standard_normal((n, d)) * scale + shift


def _brute_radii(x, k):
  d = np.sqrt(((x[:, None, :] - x[None, :, :])**2).sum(-1))
  return np.sort(d, axis=1)[:, k]           # column 0 is the point itself


def _brute_all(real, fake, k):
  """The four metrics from full matrices of exact differences (independent of the module)."""
  rr, fr = _brute_radii(real, k), _brute_radii(fake, k)
  d = np.sqrt(((real[:, None, :] - fake[None, :, :])**2).sum(-1))
  inside = d < rr[:, None]
  return {'precision': inside.any(0).mean(), 'recall': (d < fr[None, :]).any(1).mean(),
          'density': inside.sum(0).mean() / k, 'coverage': (d.min(1) < rr).mean()}


def test_radii_are_the_kth_neighbour_excluding_self():
  x = _features(0, 60)
  for k in (1, 3, 5):
    np.testing.assert_allclose(prdc.knn_radii(x, k), _brute_radii(x, k), rtol=1e-9)


def test_metrics_match_full_matrices():
  real, fake = _features(1, 150), _features(2, 120, shift=0.4, scale=1.3)
  for k in (3, 5):
    want = _brute_all(real, fake, k)
    got = {**prdc.precision_recall(real, fake, k), **prdc.density_coverage(real, fake, k)}
    assert set(got) == set(want)
    for name in want:
      assert got[name] == pytest.approx(want[name], abs=1e-12), name
    # Not a degenerate case: every value strictly between its bounds.
    assert all(0 < got[name] < 1 for name in ('precision', 'recall', 'coverage'))


def test_blocks_bound_memory_and_do_not_change_the_values(monkeypatch):
  real, fake = _features(3, 90), _features(4, 70, shift=0.2)
  whole = {**prdc.precision_recall(real, fake), **prdc.density_coverage(real, fake)}
  shapes = []
  original = prdc._distances  # pylint: disable=protected-access

  def recording(x, y, xx, yy):
    shapes.append((len(x), len(y)))
    return original(x, y, xx, yy)

  monkeypatch.setattr(prdc, '_distances', recording)
  budget = 500
  blocked = {**prdc.precision_recall(real, fake, block_elements=budget),
             **prdc.density_coverage(real, fake, block_elements=budget)}
  assert blocked == whole
  assert max(r * c for r, c in shapes) <= budget
  assert len(shapes) > 6                    # really cut into blocks


def test_identical_sets_give_one():
  x = _features(5, 100)
  pr, dc = prdc.precision_recall(x, x.copy()), prdc.density_coverage(x, x.copy())
  assert pr == {'precision': 1.0, 'recall': 1.0}
  assert dc['coverage'] == 1.0
  assert dc['density'] >= 1.0               # each fake sits at least in its own real's ball


def test_one_repeated_image_has_no_recall_not_swapped():
  """torch-fidelity#58 shipped precision and recall swapped: a collapsed set is precise, not
  diverse."""
  real = _features(6, 200)
  collapsed = np.repeat(real[:1], 200, axis=0)
  pr = prdc.precision_recall(real, collapsed)
  assert pr['precision'] == 1.0
  assert pr['recall'] <= 1 / 200
  dc = prdc.density_coverage(real, collapsed)
  assert dc['coverage'] <= 1 / 200
  # The other way round: diverse fakes against collapsed reals are not precise.
  swapped = prdc.precision_recall(collapsed, real)
  assert swapped['precision'] == 0.0 and swapped['recall'] == 1.0


def test_far_fakes_score_zero():
  real, fake = _features(7, 80), _features(8, 80, shift=100.0)
  assert prdc.precision_recall(real, fake) == {'precision': 0.0, 'recall': 0.0}
  assert prdc.density_coverage(real, fake) == {'density': 0.0, 'coverage': 0.0}


def test_copies_are_neighbours_at_distance_zero():
  """As prdc: a point's copy is its nearest neighbour (radius 0 for k = 1), not skipped."""
  x = _features(9, 50)
  doubled = np.concatenate([x, x])
  np.testing.assert_allclose(prdc.knn_radii(doubled, 1), 0.0, atol=1e-6)
  np.testing.assert_allclose(prdc.knn_radii(doubled, 3), np.tile(_brute_radii(x, 1), 2),
                             rtol=1e-9)


@pytest.mark.parametrize('real,fake,k,match', [
    (np.zeros((5, 3)), np.zeros((5, 4)), 3, 'different feature sizes'),
    (np.zeros((3, 2)), np.zeros((9, 2)), 3, 'real_features holds 3 features'),
    (np.zeros((9, 2)), np.zeros((9, 2)), 0, 'k must be a positive integer'),
    (np.zeros(9), np.zeros((9, 2)), 3, 'real_features must be a 2-D array'),
    (np.full((9, 2), np.nan), np.zeros((9, 2)), 3, 'non-finite'),
])
def test_bad_input_is_refused(real, fake, k, match):
  with pytest.raises(ValueError, match=match):
    prdc.precision_recall(real, fake, k)


# --------------------------------------------- the evaluate adapters (metrics.evaluation)


def _evaluation(reals, fakes, **options):
  from tf_gans.metrics import evaluation  # pylint: disable=import-outside-toplevel
  ev = evaluation.Evaluation(None, evaluation.Options(features='classifier', **options))
  cache = ev._cache  # pylint: disable=protected-access
  cache.update({'features:reals': reals, 'features:fakes': fakes})
  return ev


def test_evaluate_adapters_compute_from_the_evaluation_features():
  from tf_gans.metrics import evaluation  # pylint: disable=import-outside-toplevel
  reals, fakes = _features(11, 120), _features(12, 100, shift=0.3)
  ev = _evaluation(reals, fakes)
  pr = evaluation.FEATURE_METRICS['precision_recall'](ev)
  dc = evaluation.FEATURE_METRICS['density_coverage'](ev)
  assert pr == {**prdc.precision_recall(reals, fakes, 3), 'k': 3, 'num_reals': 120,
                'num_samples': 100, 'features': 'classifier'}
  assert dc == {**prdc.density_coverage(reals, fakes, 5), 'k': 5, 'num_reals': 120,
                'num_samples': 100, 'features': 'classifier'}


def test_several_k_share_one_set_of_distance_passes(monkeypatch):
  real, fake = _features(13, 80), _features(14, 70, shift=0.3)
  alone = {k: prdc.manifold_counts(real, fake, k) for k in (3, 5)}
  calls = []
  original = prdc._distances  # pylint: disable=protected-access
  monkeypatch.setattr(prdc, '_distances', lambda *a: calls.append(1) or original(*a))
  together = prdc.manifold_counts_per_k(real, fake, (5, 3))
  assert len(calls) == 3                     # real-real, fake-fake, real-fake; not 6
  assert set(together) == {3, 5}
  for k in (3, 5):
    for name, value in alone[k].items():
      np.testing.assert_array_equal(together[k][name], value)
  assert prdc.values_from_counts(together[3], 3)['precision'] == prdc.precision_recall(
      real, fake, 3)['precision']


def test_evaluation_computes_the_distances_once_for_both_metrics(monkeypatch):
  from tf_gans.metrics import evaluation  # pylint: disable=import-outside-toplevel
  ev = _evaluation(_features(15, 60), _features(16, 60, shift=0.2))
  calls = []
  original = prdc._distances  # pylint: disable=protected-access
  monkeypatch.setattr(prdc, '_distances', lambda *a: calls.append(1) or original(*a))
  evaluation.FEATURE_METRICS['precision_recall'](ev)
  evaluation.FEATURE_METRICS['density_coverage'](ev)
  assert len(calls) == 3

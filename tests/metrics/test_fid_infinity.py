"""FID-infinity / IS-infinity (tf_gans.metrics.fid_infinity, Chong and Forsyth 2020)."""

import numpy as np
import pytest
from scipy import special

from tf_gans.metrics import fid
from tf_gans.metrics import fid_infinity


def test_default_counts_are_the_papers():
  """np.linspace(5000, 50000, 15).astype('int32') as score_infinity.py."""
  counts = fid_infinity.sample_counts(50000)
  assert counts.tolist() == np.linspace(5000, 50000, 15).astype('int32').tolist()
  assert counts[0] == 5000 and counts[-1] == 50000 and len(counts) == 15


def test_fit_is_exact_on_scores_linear_in_one_over_n():
  counts = fid_infinity.sample_counts(20000, smallest=1000)
  intercept, slope = fid_infinity.extrapolate(counts, 3.25 + 4100.0 / counts)
  assert intercept == pytest.approx(3.25, abs=1e-10)
  assert slope == pytest.approx(4100.0, rel=1e-10)


def test_fit_is_least_squares_with_intercept():
  counts = np.array([100, 200, 400, 800])
  scores = np.array([5.0, 4.1, 3.9, 3.5])
  got = fid_infinity.extrapolate(counts, scores)
  slope, intercept = np.polyfit(1.0 / counts, scores, 1)
  np.testing.assert_allclose(got, (intercept, slope), rtol=1e-10)


def test_fit_reads_the_line_at_zero_as_their_sklearn_linear_regression():
  """score_infinity.py: LinearRegression().fit(1/N, scores).predict([[0]])."""
  from sklearn.linear_model import LinearRegression  # pylint: disable=import-outside-toplevel
  counts = fid_infinity.sample_counts(50000)
  scores = 12.0 + 9000.0 / counts + np.random.default_rng(0).normal(0.0, 0.05, len(counts))
  theirs = LinearRegression().fit(1 / counts.reshape(-1, 1), scores.reshape(-1, 1))
  assert fid_infinity.extrapolate(counts, scores)[0] == pytest.approx(
      theirs.predict(np.array([[0]]))[0, 0], rel=1e-10)


def test_is_n_is_their_one_split_score():
  """score_infinity.py calculate_inception_score(pred, num_splits=1) on softmax rows."""
  logits = np.random.default_rng(2).standard_normal((400, 20)) * 2
  pred = special.softmax(logits, axis=1)
  theirs = np.exp(np.mean(np.sum(pred * (np.log(pred) - np.log(pred.mean(0, keepdims=True))),
                                 axis=1)))
  got = fid_infinity.is_infinity(logits, counts=[200, 400])
  assert got['scores'][1] == pytest.approx(theirs, rel=1e-12)    # N = 400: every image


def _gaussian_case(d=32):
  rng = np.random.default_rng(5)
  var_r, var_g = rng.uniform(0.5, 2.0, d), rng.uniform(0.5, 2.0, d)
  mu_g = rng.normal(0.0, 0.3, d)
  # Closed form for diagonal covariances: ||mu_g||^2 + sum (sqrt(var_r) - sqrt(var_g))^2.
  truth = np.sum(mu_g**2) + np.sum((np.sqrt(var_r) - np.sqrt(var_g))**2)
  return (np.zeros(d), np.diag(var_r)), var_g, mu_g, truth


@pytest.mark.parametrize('seed', [0, 1])
def test_fid_inf_is_closer_to_the_closed_form_than_the_smallest_n(seed):
  real_stats, var_g, mu_g, truth = _gaussian_case()
  fakes = np.random.default_rng(seed).standard_normal((3000, len(mu_g))) * np.sqrt(var_g) + mu_g
  got = fid_infinity.fid_infinity(real_stats, fakes, seed=seed, smallest=300)
  assert got['counts'][0] == 300 and got['counts'][-1] == 3000 and len(got['fids']) == 15
  # FID_N is biased upward, more at small N; the extrapolation removes most of it.
  assert got['fids'][0] > got['fids'][-1] > truth
  assert abs(got['fid_inf'] - truth) < 0.25 * abs(got['fids'][0] - truth)
  # Each FID_N is an FID of a subset of the fakes against the given statistics.
  assert got['fids'][-1] == pytest.approx(
      fid.frechet_distance(*real_stats, *fid.statistics(fakes)), rel=1e-10)


def test_fid_inf_takes_real_features_or_statistics_and_is_seeded():
  rng = np.random.default_rng(3)
  reals, fakes = rng.standard_normal((400, 8)), rng.standard_normal((400, 8)) + 0.3
  by_features = fid_infinity.fid_infinity(reals, fakes, seed=4, smallest=50, num_points=5)
  by_stats = fid_infinity.fid_infinity(fid.statistics(reals), fakes, seed=4, smallest=50,
                                       num_points=5)
  assert by_features == by_stats
  other = fid_infinity.fid_infinity(reals, fakes, seed=5, smallest=50, num_points=5)
  assert other['fids'][0] != by_features['fids'][0]
  assert other['fids'][-1] == pytest.approx(by_features['fids'][-1], rel=1e-9)  # all images


@pytest.mark.parametrize('seed', [0, 1])
def test_is_inf_is_closer_to_the_population_score_than_the_smallest_n(seed):
  """Predictions of 5000 kinds of image over 500 classes: the population IS is exact."""
  kinds = np.random.default_rng(1).standard_normal((5000, 500)) * 6.0
  p = special.softmax(kinds, axis=1)
  marginal = p.mean(axis=0)
  truth = np.exp(np.mean(np.sum(p * (np.log(p) - np.log(marginal)), axis=1)))
  logits = kinds[np.random.default_rng(seed + 10).integers(0, len(kinds), 3000)]
  got = fid_infinity.is_infinity(logits, seed=seed, smallest=300)
  # IS_N is biased downward; the extrapolation lands within 2% of the truth.
  assert got['scores'][0] < got['scores'][-1] < truth
  assert abs(got['is_inf'] - truth) < 0.1 * abs(got['scores'][0] - truth)
  assert abs(got['is_inf'] - truth) < 0.02 * truth
  from_probs = fid_infinity.is_infinity(special.softmax(logits, axis=1), seed=seed, smallest=300,
                                        probabilities=True)
  assert from_probs['is_inf'] == pytest.approx(got['is_inf'], rel=1e-9)


def test_bad_counts_are_refused():
  with pytest.raises(ValueError, match='smallest=5000 to all 3000 images'):
    fid_infinity.sample_counts(3000)
  with pytest.raises(ValueError, match='num_points >= 2'):
    fid_infinity.sample_counts(30000, num_points=1)
  with pytest.raises(ValueError, match='two different N'):
    fid_infinity.extrapolate([100, 100], [1.0, 2.0])
  with pytest.raises(ValueError, match=r'fake_features must be \[N, 4\]'):
    fid_infinity.fid_infinity(np.zeros((10, 4)) + np.arange(4), np.zeros((10, 3)), smallest=2)


# --------------------------------------------- the evaluate adapters (metrics.evaluation)


def _evaluation(reals, fakes, logits, **options):
  from tf_gans.metrics import evaluation  # pylint: disable=import-outside-toplevel
  ev = evaluation.Evaluation(None, evaluation.Options(features='classifier', **options))
  cache = ev._cache  # pylint: disable=protected-access
  cache.update({'features:reals': reals, 'features:fakes': fakes, 'logits:fakes': logits,
                # Stand-in images: the adapters read the features; real_statistics counts them.
                'reals': np.zeros((len(reals), 8, 8, 1), np.uint8)})
  return ev


def _inputs(n=400, d=8):
  rng = np.random.default_rng(21)
  return (rng.standard_normal((n, d)), rng.standard_normal((n, d)) + 0.2,
          rng.standard_normal((n, 10)) * 3)


def test_evaluate_adapters_fit_from_a_tenth_of_the_samples():
  from tf_gans.metrics import evaluation  # pylint: disable=import-outside-toplevel
  reals, fakes, logits = _inputs()
  ev = _evaluation(reals, fakes, logits, seed=7, fid_method='eigh')
  got = evaluation.FEATURE_METRICS['fid_inf'](ev)
  want = fid_infinity.fid_infinity(fid.statistics(reals), fakes, seed=7, smallest=40,
                                   method='eigh')
  assert {k: got[k] for k in want} == want
  assert got['counts'][0] == 40 and got['num_samples'] == 400
  got_is = evaluation.FEATURE_METRICS['is_inf'](ev)
  assert got_is['is_inf'] == fid_infinity.is_infinity(logits, seed=7, smallest=40)['is_inf']


def test_evaluate_fid_inf_refuses_subsets_below_the_feature_size():
  from tf_gans.metrics import evaluation  # pylint: disable=import-outside-toplevel
  reals, fakes, logits = _inputs(n=60, d=40)
  ev = _evaluation(reals[:41], fakes, logits)     # reals: full rank; fakes: subsets too small
  with pytest.raises(ValueError, match=r'N from 41 to --num_samples=60, which must be at '
                     r'least 82: each N must exceed the feature dimensions'):
    evaluation.FEATURE_METRICS['fid_inf'](ev)
  small = _evaluation(reals[:41], fakes, logits, fid_small_sample=True, fid_method='eigh')
  assert evaluation.FEATURE_METRICS['fid_inf'](small)['counts'][0] == 6


def test_protocols_run_computes_the_new_names():
  """Through the evaluate runner, registered under their names in protocols.METRICS; the
  counts are set so that the constraints (checked on digits@test, 300 images) hold."""
  from tf_gans.metrics import evaluation, protocols  # pylint: disable=import-outside-toplevel
  assert set(evaluation.FEATURE_METRICS) <= set(protocols.METRICS.names())
  reals, fakes, logits = _inputs()
  ev = _evaluation(reals, fakes, logits, num_samples=300, num_reals=300)
  names = ['precision_recall', 'density_coverage', 'fid_inf', 'is_inf']
  out = protocols.run(names, None, ev.opt, evaluation=ev)
  assert list(out) == names
  assert 0 < out['precision_recall']['precision'] <= 1 and out['density_coverage']['k'] == 5
  assert out['fid_inf']['fid_inf'] > 0 and out['is_inf']['is_inf'] > 1

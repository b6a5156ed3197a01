"""Bootstrap confidence intervals of FID, KID, precision/recall, density/coverage."""

import numpy as np
import pytest
from scipy.spatial import distance

from tf_gans.metrics import bootstrap
from tf_gans.metrics import fid
from tf_gans.metrics import prdc


def _sets(seed, n, d=8):
  rng = np.random.default_rng(seed)
  return rng.standard_normal((n, d)), rng.standard_normal((n, d)) * 1.2 + 0.2


def test_fid_interval_covers_the_closed_form_about_nominally():
  """1-d N(0, 1) against N(1, 1.5^2): FID = 1 + (1 - 1.5)^2 = 1.25; at n = 300 the bias
  (~(1 + 2.25) / 300) is small against the spread (sd ~0.2), so a 90% interval should hold the
  truth in ~90% of independent draws."""
  truth, repeats, hits = 1.25, 50, 0
  for r in range(repeats):
    rng = np.random.default_rng(100 + r)
    reals, fakes = rng.standard_normal((300, 1)), rng.standard_normal((300, 1)) * 1.5 + 1.0
    interval = bootstrap.fid_interval(reals, fakes, ci=0.9, num_resamples=60, seed=r)
    hits += interval.low <= truth <= interval.high
  assert 0.78 <= hits / repeats <= 0.98, hits / repeats


def test_precision_and_density_intervals_cover_their_truth_for_fixed_reals():
  """With the reals fixed, precision and density are means over the fakes; their truth (the
  probability that a fake falls in the real manifold, the expected ball count / k) is the
  limit of many fakes."""
  reals = np.random.default_rng(0).standard_normal((300, 4))
  draw = lambda seed, n: np.random.default_rng(seed).standard_normal((n, 4)) * 1.2 + 0.2
  radii = prdc.knn_radii(reals, 3)
  many = np.sum(distance.cdist(reals, draw(1, 30000)) < radii[:, None], axis=0)
  truth = {'precision': np.mean(many > 0), 'density': np.mean(many) / 3}
  repeats, hits = 60, {'precision': 0, 'density': 0}
  for r in range(repeats):
    fakes = draw(10 + r, 300)
    pr = bootstrap.precision_recall_interval(reals, fakes, k=3, num_resamples=200, seed=r,
                                             resample_reals=False)
    dc = bootstrap.density_coverage_interval(reals, fakes, k=3, num_resamples=200, seed=r,
                                             resample_reals=False)
    for name, interval in (('precision', pr['precision']), ('density', dc['density'])):
      hits[name] += interval.low <= truth[name] <= interval.high
  for name in hits:
    assert 0.87 <= hits[name] / repeats <= 1.0, (name, hits[name] / repeats)
  # The reals held: their recall / coverage intervals are the values themselves.
  assert pr['recall'].low == pr['recall'].high == pr['recall'].value
  assert pr['recall'].resampled == 'fakes'


def test_intervals_shrink_with_n():
  widths = {}
  for n in (150, 1200):
    reals, fakes = _sets(1, n, d=4)
    f = bootstrap.fid_interval(reals, fakes, num_resamples=40, seed=0)
    pr = bootstrap.precision_recall_interval(reals, fakes, num_resamples=200, seed=0)
    dc = bootstrap.density_coverage_interval(reals, fakes, num_resamples=200, seed=0)
    widths[n] = {'fid': f.high - f.low,
                 **{name: i.high - i.low for name, i in {**pr, **dc}.items()}}
  for name, wide in widths[150].items():
    assert widths[1200][name] < 0.7 * wide, (name, wide, widths[1200][name])   # ~ 1/sqrt(8)


def test_values_are_the_metrics_of_the_sets_and_the_draws_are_seeded():
  reals, fakes = _sets(2, 200)
  pr = bootstrap.precision_recall_interval(reals, fakes, num_resamples=50, seed=3)
  dc = bootstrap.density_coverage_interval(reals, fakes, num_resamples=50, seed=3)
  assert {n: i.value for n, i in pr.items()} == prdc.precision_recall(reals, fakes)
  assert {n: i.value for n, i in dc.items()} == prdc.density_coverage(reals, fakes)
  for interval in (*pr.values(), *dc.values()):
    assert interval.low < interval.value < interval.high
    assert (interval.ci, interval.num_resamples, interval.seed) == (0.95, 50, 3)
    assert interval.resampled == 'reals and fakes'
  again = bootstrap.precision_recall_interval(reals, fakes, num_resamples=50, seed=3)
  other = bootstrap.precision_recall_interval(reals, fakes, num_resamples=50, seed=4)
  assert again == pr
  assert other['precision'].low != pr['precision'].low or other['recall'] != pr['recall']

  f = bootstrap.fid_interval(reals, fakes, num_resamples=20, seed=3)
  assert f.value == pytest.approx(fid.frechet_distance_from_activations(reals, fakes), rel=1e-12)
  assert f.low < f.value < f.high
  assert set(f.to_dict()) == {'value', 'low', 'high', 'ci', 'num_resamples', 'seed', 'resampled',
                              'method'}
  assert f.method == 'centred percentile' and pr['precision'].method == 'percentile'


def test_high_dimensional_fid_interval_holds_the_value_and_is_not_too_narrow():
  """A resample's FID is biased upward by more than its spread at d = 32, N = 300 (the plain
  percentile interval misses the value); the centred one holds it, and is at least as wide
  as the spread of FID over fresh draws (it is conservative, not over-confident)."""
  d, n = 32, 300
  draw = lambda seed: (np.random.default_rng(seed).standard_normal((n, d)),
                       np.random.default_rng(seed + 500).standard_normal((n, d)) * 1.1 + 0.05)
  reals, fakes = draw(0)
  centred = bootstrap.fid_interval(reals, fakes, num_resamples=60, seed=0, method='eigh')
  plain = bootstrap.bootstrap(
      lambda r, f, _, __: {'fid': fid.frechet_distance(*fid.statistics(r), *fid.statistics(f),
                                                       method='eigh')},
      reals, fakes, num_resamples=60, seed=0)['fid']
  assert plain.low > plain.value                       # the bias the centring removes
  assert centred.low < centred.value < centred.high
  assert centred.high - centred.low == pytest.approx(plain.high - plain.low, rel=1e-9)
  fresh = [fid.frechet_distance_from_activations(*draw(s), method='eigh') for s in range(1, 21)]
  assert 1.0 < (centred.high - centred.low) / (3.92 * np.std(fresh)) < 2.5


def test_fid_interval_from_real_statistics_resamples_the_fakes_only():
  reals, fakes = _sets(4, 300)
  stats = fid.statistics(reals)
  from_stats = bootstrap.fid_interval(stats, fakes, num_resamples=30, seed=1)
  assert from_stats.resampled == 'fakes'
  assert from_stats.value == pytest.approx(
      fid.frechet_distance(*stats, *fid.statistics(fakes)), rel=1e-12)
  both = bootstrap.fid_interval(reals, fakes, num_resamples=30, seed=1)
  assert both.high - both.low > from_stats.high - from_stats.low   # two sources of spread


def test_kid_interval():
  reals, fakes = _sets(5, 120)
  got = bootstrap.kid_interval(reals, fakes, num_resamples=20, seed=2, num_subsets=5,
                               max_subset_size=50)
  assert got.value == fid.kernel_distance(reals, fakes, 5, 50, seed=2).mean
  assert got.low < got.high and got.num_resamples == 20


@pytest.mark.parametrize('ci,num,match', [(1.0, 10, 'ci must be a coverage in'),
                                          (0.0, 10, 'ci must be a coverage in'),
                                          (0.9, 1, 'num_resamples must be an integer >= 2')])
def test_bad_settings_are_refused(ci, num, match):
  reals, fakes = _sets(6, 20)
  with pytest.raises(ValueError, match=match):
    bootstrap.precision_recall_interval(reals, fakes, ci=ci, num_resamples=num)


# --------------------------------------------- --ci in the evaluate adapters (metrics.evaluation)


def _evaluation(reals, fakes, **options):
  from tf_gans.metrics import evaluation  # pylint: disable=import-outside-toplevel
  ev = evaluation.Evaluation(None, evaluation.Options(features='classifier', **options))
  cache = ev._cache  # pylint: disable=protected-access
  cache.update({'features:reals': reals, 'features:fakes': fakes,
                'reals': np.zeros((len(reals), 8, 8, 1), np.uint8)})   # stand-in images
  return ev


def test_ci_option_adds_intervals_to_the_adapters():
  from tf_gans.metrics import evaluation  # pylint: disable=import-outside-toplevel
  reals, fakes = _sets(7, 150)
  ev = _evaluation(reals, fakes, ci=0.9, ci_resamples=30, seed=5)
  pr = evaluation.FEATURE_METRICS['precision_recall'](ev)
  want = bootstrap.precision_recall_interval(reals, fakes, ci=0.9, num_resamples=30, seed=5)
  assert pr['ci'] == {name: interval.to_dict() for name, interval in want.items()}
  assert pr['precision'] == prdc.precision_recall(reals, fakes)['precision']
  dc = evaluation.FEATURE_METRICS['density_coverage'](ev)
  assert set(dc['ci']) == {'density', 'coverage'} and dc['ci']['density']['ci'] == 0.9
  fid_ci = evaluation.confidence_interval(ev, 'fid')['ci']
  assert fid_ci == bootstrap.fid_interval(reals, fakes, ci=0.9, num_resamples=30,
                                          seed=5).to_dict()
  few = _evaluation(reals[:40], fakes[:40], ci=0.9, ci_resamples=3)   # KID: 100 subsets each
  kid_ci = evaluation.confidence_interval(few, 'kid')['ci']
  assert kid_ci['num_resamples'] == 3
  assert kid_ci['value'] == fid.kernel_distance(reals[:40], fakes[:40]).mean  # the kid metric's
  with pytest.raises(ValueError, match="--ci applies to fid, kid, precision_recall and "
                     "density_coverage; not to 'swd'"):
    evaluation.confidence_interval(ev, 'swd')
  for bad, match in (({'ci': 1.5}, r'--ci must be 0 \(no intervals\) or a coverage in'),
                     ({'ci': 0.9, 'ci_resamples': 1}, '--ci_resamples must be an integer >= 2')):
    with pytest.raises(ValueError, match=match):
      evaluation.FEATURE_METRICS['precision_recall'](_evaluation(reals, fakes, **bad))
  # Without --ci: no interval, no extra work.
  plain = _evaluation(reals, fakes)
  assert 'ci' not in evaluation.FEATURE_METRICS['precision_recall'](plain)
  assert not evaluation.confidence_interval(plain, 'fid')


def test_ci_with_cached_real_statistics_resamples_the_fakes(tmp_path):
  from tf_gans.metrics import evaluation  # pylint: disable=import-outside-toplevel
  reals, fakes = _sets(8, 120)
  path = str(tmp_path / 'reals.npz')
  fid.save_statistics(path, *fid.statistics(reals))
  ev = _evaluation(reals, fakes, ci=0.95, ci_resamples=20, fid_stats=path)
  assert evaluation.confidence_interval(ev, 'fid')['ci']['resampled'] == 'fakes'

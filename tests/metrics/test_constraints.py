"""tf_gans.metrics.constraints and protocols.run: refuse before any work, then each metric alone."""

import os

import keras
import numpy as np
import pytest
from PIL import Image

from tf_gans.metrics import constraints, evaluation, ms_ssim, presets, protocols, swd
from tf_gans.models import savedmodel


def _export(tmp_path_factory, size):
  """A (random) size x size grayscale generator export: tanh of a dense map of the latents."""
  keras.utils.set_random_seed(size)
  g = keras.Sequential([keras.Input((8,)), keras.layers.Dense(size * size, activation='tanh'),
                        keras.layers.Reshape((size, size, 1))])
  path = tmp_path_factory.mktemp(f'gen{size}') / 'export'
  savedmodel.export_generator(g, 8, 'normal', (-1.0, 1.0), str(path))
  return savedmodel.load_generator(str(path))


@pytest.fixture(scope='module')
def gen8(tmp_path_factory):
  return _export(tmp_path_factory, 8)


@pytest.fixture(scope='module')
def gen16(tmp_path_factory):
  return _export(tmp_path_factory, 16)


def _options(**kw):
  base = dict(data='digits', split='test', num_samples=200, features='classifier',
              classifier_epochs=1, progress=False)
  return evaluation.Options(**{**base, **kw})


@pytest.fixture
def no_work(monkeypatch):
  """Any generating, featurising or classifier training fails the test."""
  def forbidden(*_, **__):
    raise AssertionError('computed something before the constraints were checked')
  for name in ('fakes', 'fakes_float', 'reals', 'features', 'digit_classifier', 'inception_model'):
    monkeypatch.setattr(evaluation.Evaluation, name, forbidden)


ALL_PLAIN = ['fid', 'kid', 'is', 'swd', 'ms_ssim', 'nn']


def test_8x8_images_are_refused_for_swd_and_ms_ssim_before_any_feature(gen8, no_work):
  with pytest.raises(constraints.ConstraintError) as info:
    protocols.run(ALL_PLAIN, gen8, _options(), errors='record')
  found = info.value.violations
  assert [v.split(':')[0] for v in found] == ['swd', 'ms_ssim'], found
  assert 'SWD needs images of at least 16x16' in found[0] and '--pad_to' in found[0]
  assert '--data=digits --split=test' in found[0]
  assert 'divisible by 16' in found[1] and 'got 8x8' in found[1]
  # One error, every violation on its own line.
  assert str(info.value).count('\n') == 2 and isinstance(info.value, ValueError)


def test_the_minimums_are_the_metric_modules_own():
  req = constraints.Request(_options(num_samples=4), (16, 16, 1), 100, True)
  assert constraints.violations(['swd', 'ms_ssim'], req) == []
  for shape in ((8, 8, 1), (24, 24, 3), (32, 48, 1)):
    req = constraints.Request(_options(num_samples=4), shape, 100, True)
    found = constraints.violations(['swd', 'ms_ssim'], req)
    image = np.zeros((1,) + shape, np.uint8)
    for name, check in (('swd', lambda: swd.check_images('x', image)),
                        ('ms_ssim', lambda: ms_ssim.ms_ssim(np.concatenate([image, image])))):
      try:
        check()
        module_accepts = True
      except ValueError:
        module_accepts = False
      assert module_accepts == (not any(v.startswith(name + ':') for v in found)), (shape, found)


def test_every_violation_is_listed_with_metric_flag_and_expectation(gen8, no_work, tmp_path):
  garbage = tmp_path / 'inception.h5'
  garbage.write_text('not hdf5')
  opts = _options(num_samples=5, num_reals=4, nn_k=9, pad_to=16, features='inception',
                  inception=str(garbage), nn_out=str(tmp_path / 'missing' / 'nn.png'))
  with pytest.raises(constraints.ConstraintError) as info:
    protocols.run(ALL_PLAIN, gen8, opts)
  text = str(info.value)
  for expected in (
      'fid: --inception=', 'not an HDF5 file',
      'is: --num_samples=5: needs at least 10 (one image per each of the 10 splits)',
      'swd: SWD needs real and generated images of one shape: --data=digits --split=test '
      '--pad_to=16 gives (16, 16, 1), the generator (8, 8, 1)',
      'swd: SWD compares equally many real and generated images: --num_reals=4 but '
      '--num_samples=5',
      "ms_ssim: the generator's images: MS-SSIM with 5 scales needs H and W divisible by 16",
      'nn: --nn_k=9: must lie in [1, --num_reals=4]',
      'nn: --nn_out=', 'its folder does not exist'):
    assert expected in text, (expected, text)
  missing = _options(features='inception', inception=str(tmp_path / 'none.h5'))
  with pytest.raises(ValueError, match=r'kid: --inception=\S*none.h5: no such file'):
    protocols.run(['kid'], gen8, missing)
  with pytest.raises(ValueError, match=r'fid: --features=inception needs --inception='):
    protocols.run(['fid'], gen8, _options(features='inception'))


def test_labels_counts_and_presets_are_checked():
  unlabelled = constraints.Request(_options(), (16, 16, 1), 1000, False)
  found = constraints.violations(['fid', 'digit_confidence', 'swd-16k', 'msssim-20k'],
                                 unlabelled)
  assert any(v.startswith('fid: --features=classifier trains a digit classifier') for v in found)
  assert any(v.startswith('digit_confidence: ') for v in found)
  assert not any(v.startswith(('swd-16k', 'msssim-20k')) for v in found)  # 16x16, 16384 / 20000
  odd = constraints.Request(_options(num_images=7), (16, 16, 1), 1000, True)
  assert constraints.violations(['msssim-20k'], odd) == [
      'msssim-20k: --num_samples=7: MS-SSIM pairs images, so it needs an even image count >= 2.']
  small = constraints.Request(_options(num_samples=100, num_reals=3000), (16, 16, 1), 1000, True)
  found = constraints.violations(['fid', 'kid'], small)
  assert 'need at least 129 (raise --num_samples or pass --fid_small_sample)' in found[0]
  assert 'holds 1000 images; the metrics need --num_reals=3000' in found[1]
  assert found[2].startswith('kid: ') and len(found) == 3


def test_fid_small_sample_lifts_only_the_generated_rank_check():
  # 100 generated classifier features of d = 128 (digits classifier): rank-deficient.
  few = dict(num_samples=100, fid_small_sample=True)
  assert constraints.violations(['fid'], constraints.Request(
      _options(**few, num_reals=500), (16, 16, 1), 1000, True)) == []
  found = constraints.violations(['fid'], constraints.Request(
      _options(**few, num_reals=100), (16, 16, 1), 1000, True))
  assert len(found) == 1 and '--num_reals=100 images' in found[0], found
  assert 'fid_small_sample' not in found[0]          # the reals have no such way out
  odd = constraints.Request(_options(num_reals=500, fid_method='svd'), (16, 16, 1), 1000, True)
  assert constraints.violations(['fid'], odd)[-1] == (
      'fid: --fid_method=svd: expected one of sqrtm, eigh.')


def test_fid_of_a_rank_deficient_generated_covariance_is_finite_and_biased_up():
  from tf_gans.metrics import fid  # pylint: disable=import-outside-toplevel
  rng = np.random.default_rng(0)
  d = 64
  reals = rng.normal(size=(4000, d))
  full = rng.normal(size=(4000, d))          # the same distribution
  few = full[:40]                            # rank 39 < d
  stats = [fid.statistics(x)
           for x in (reals, full, few)]
  at_full = fid.frechet_distance(*stats[0], *stats[1])
  at_few = fid.frechet_distance(*stats[0], *stats[2])
  assert np.isfinite(at_few) and at_few > 10 * at_full > 0, (at_few, at_full)
  # --fid_method=eigh: the same trace without sqrtm, also for the rank-deficient side.
  assert fid.frechet_distance(*stats[0], *stats[2], method='eigh') == pytest.approx(at_few, rel=1e-6)
  # The upward bias is the same at one sample count: a second draw of 40 lands close.
  again = fid.frechet_distance(*stats[0], *fid.statistics(full[40:80]))
  assert abs(again - at_few) < 0.2 * at_few, (again, at_few)


def test_every_metric_and_preset_has_its_constraints():
  names = set(protocols.METRICS.names()) | set(presets.PRESETS)
  assert names - set(constraints.CHECKS.names()) == set()


def test_a_metric_that_raises_is_recorded_and_the_others_are_computed(gen16, monkeypatch):
  def broken(ev):
    del ev
    raise RuntimeError('kid broke\non two lines')
  monkeypatch.setitem(protocols.METRICS._entries, 'kid', broken)  # pylint: disable=protected-access
  opts = _options(pad_to=16, num_samples=32)
  seen = []
  results = protocols.run(['swd', 'kid', 'ms_ssim'], gen16, opts, errors='record',
                          on_error=lambda name, msg: seen.append((name, msg)))
  assert list(results) == ['swd', 'kid', 'ms_ssim']
  assert results['kid'] == {'error': 'RuntimeError: kid broke on two lines'}
  assert seen == [('kid', 'RuntimeError: kid broke on two lines')]
  assert protocols.failed(results) == {'kid': 'RuntimeError: kid broke on two lines'}
  assert results['swd']['num_images'] == 32 and np.isfinite(results['swd']['SWDx1e3_avg'])
  assert 0.0 <= results['ms_ssim']['ms_ssim'] <= 1.0
  with pytest.raises(RuntimeError, match='kid broke'):  # the library default: raise
    protocols.run(['swd', 'kid'], gen16, opts)


def test_nn_png_names_its_panels_and_columns(gen16, tmp_path):
  grid = tmp_path / 'nn.png'
  opts = _options(pad_to=16, num_samples=200, nn_num=3, nn_k=2, nn_out=str(grid))
  result = protocols.run(['nn'], gen16, opts)['nn']
  assert result['grid_panels'] == [
      'pixel space: nearest reals by L2 on pixels',
      'feature space: nearest reals by L2 on digit-classifier features']
  image = np.asarray(Image.open(grid))
  upscale = 64 // 16
  grid_height = (3 * (16 + 1) + 1) * upscale
  band = image.shape[0] - grid_height
  assert band > 10  # the label band above the tiles
  panel = (3 * (16 + 1) + 1) * upscale   # query + 2 neighbours per row
  assert image.shape[1] == 2 * panel + 8
  for left in (0, panel + 8):
    assert (image[:band, left:left + panel] < 128).any()           # its title / column headers
    assert (image[band:band + upscale, left:left + panel] == 0).all()  # the grid's top pad


def test_fid_stats_in_a_folder_not_made_yet_is_accepted_and_written_there(tmp_path, monkeypatch):
  """A study's --fid_stats=runs/studies/<name>/x.npz on a fresh clone: the folders do not exist yet."""
  from tf_gans.metrics import fid  # pylint: disable=import-outside-toplevel
  stats = tmp_path / 'runs' / 'studies' / 'fresh' / 'reals.npz'
  req = constraints.Request(_options(num_reals=500, fid_stats=str(stats)), (16, 16, 1), 1000, True)
  assert constraints.violations(['fid'], req) == []
  fid.save_statistics(stats, np.zeros(3), np.eye(3))
  mu, sigma = fid.load_statistics(stats)
  assert mu.shape == (3,) and np.array_equal(sigma, np.eye(3))
  assert sorted(p.name for p in stats.parent.iterdir()) == ['reals.npz']  # no partial file left
  # Where nothing can be written, the message names the nearest existing folder.
  monkeypatch.setattr(constraints.os, 'access', lambda path, mode: mode != os.W_OK)
  found = constraints.violations(['fid'], constraints.Request(
      _options(num_reals=500, fid_stats=str(tmp_path / 'a' / 'b.npz')), (16, 16, 1), 1000, True))
  assert found == [f'fid: --fid_stats={tmp_path / "a" / "b.npz"}: does not exist and {tmp_path} is '
                   f'not writable (the real statistics are written there, missing folders created).']

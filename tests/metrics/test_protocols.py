"""tf_gans.metrics.protocols: the evaluate metrics on real MNIST, checked against the metric modules."""

import json
import os

import keras
import numpy as np
import pytest

from tf_gans.metrics import fid, ms_ssim, protocols, swd
from tf_gans.training import savedmodel

NUM = 160


@pytest.fixture(scope='module')
def gen32(tmp_path_factory):
  """A (random) 32x32 grayscale generator export: tanh of a dense map of N(0, 1) latents."""
  keras.utils.set_random_seed(0)
  g = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32 * 32, activation='tanh'),
                        keras.layers.Reshape((32, 32, 1))])
  path = tmp_path_factory.mktemp('gen') / 'export'
  savedmodel.export_generator(g, 8, 'normal', (-1.0, 1.0), str(path))
  return savedmodel.load_generator(str(path))


def _options(mnist_dir, **kw):
  base = dict(data=f'mnist_idx:{mnist_dir}', split=f'test[:{NUM}]', pad_to=32, num_samples=NUM,
              features='classifier', classifier_epochs=1, progress=False)
  return protocols.Options(**{**base, **kw})


def _reals(mnist_dir):
  from tf_gans.data import mnist_idx  # pylint: disable=import-outside-toplevel
  images = mnist_idx.load_mnist_idx(str(mnist_dir), 'test').images[:NUM]
  return np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)))


def test_swd_ms_ssim_and_nn_are_the_metric_functions_on_the_right_images(gen32, mnist_dir, tmp_path):
  grid = tmp_path / 'nn.png'
  opts = _options(mnist_dir, nn_out=str(grid), nn_num=4, nn_k=2, seed=3)
  results = protocols.run(['swd', 'ms_ssim', 'nn'], gen32, opts)
  reals = _reals(mnist_dir)
  fakes = gen32.signatures['generate'](seed=3, num=NUM)['images'].numpy()
  assert results['swd'] == {**swd.sliced_wasserstein(reals, fakes, seed=3), 'num_images': NUM}
  assert results['ms_ssim']['ms_ssim'] == ms_ssim.ms_ssim(fakes)
  assert results['ms_ssim']['ms_ssim_reals'] == ms_ssim.ms_ssim(reals)
  # Pixel-space neighbours by brute force.
  d = ((fakes[:4, None].astype(np.float64) - reals[None].astype(np.float64))**2).sum((2, 3, 4))
  np.testing.assert_array_equal(results['nn']['pixel_indices'], np.argsort(d, axis=1)[:, :2])
  assert os.path.exists(grid)


def test_fid_with_classifier_features_caches_the_real_statistics(gen32, mnist_dir, tmp_path):
  stats = tmp_path / 'reals.npz'
  opts = _options(mnist_dir, fid_stats=str(stats), num_samples=NUM)
  ev = protocols.Evaluation(gen32, opts)
  first = protocols.fid_metric(ev)
  mu_r, sigma_r = fid.statistics(ev.features('reals'))
  mu_g, sigma_g = fid.statistics(ev.features('fakes'))
  assert first['fid'] == pytest.approx(fid.frechet_distance(mu_r, sigma_r, mu_g, sigma_g))
  assert first['fid'] > 0
  mu, sigma = fid.load_statistics(stats)
  np.testing.assert_allclose(mu, mu_r)
  # The cache is read on the next run (the reals are not even loaded).
  again = protocols.fid_metric(protocols.Evaluation(gen32, opts))
  assert again['reals'].endswith('(cached)')


def test_fid_says_how_many_images_the_covariance_needs(gen32, mnist_dir):
  opts = _options(mnist_dir, num_samples=100)
  with pytest.raises(ValueError, match=r'need at least 129 .*raise --num_samples'):
    protocols.run(['fid'], gen32, opts)


def test_classifier_score_lies_between_one_and_the_classes(gen32, mnist_dir):
  result = protocols.run(['is'], gen32, _options(mnist_dir))['is']
  assert 1.0 <= result['is_mean'] <= 10.0


def test_bad_requests_fail_with_the_reason(gen32, mnist_dir):
  with pytest.raises(ValueError, match='SWD needs real and generated images of one shape'):
    protocols.run(['swd'], gen32, _options(mnist_dir, pad_to=0))
  with pytest.raises(ValueError, match='--inception=<weights file>'):
    protocols.run(['fid'], gen32, _options(mnist_dir, features='inception'))
  with pytest.raises(ValueError, match='the metrics need --num_reals=500'):
    protocols.run(['swd'], gen32, _options(mnist_dir, num_samples=500))
  with pytest.raises(KeyError, match='bogus'):
    protocols.run(['swd', 'bogus'], gen32, _options(mnist_dir))


# --- PGGAN presets: the original util_scripts.py evaluate_metrics ---

import tensorflow as tf  # pylint: disable=wrong-import-position


def _mnist_labels(mnist_dir):
  from tf_gans.data import mnist_idx  # pylint: disable=import-outside-toplevel
  return mnist_idx.load_mnist_idx(str(mnist_dir), 'test').labels


class _ArrayGenerator:
  """An unconditional 'export' whose generate(seed, num) returns images[seed - base:][:num]."""

  label_size = 0

  def __init__(self, images, base_seed):
    self.images, self.base = images, base_seed
    self.signatures = {'generate': self._generate}

  def _generate(self, seed, num):
    first = int(seed) - self.base
    return {'images': tf.constant(self.images[first:first + int(num)])}


class _RecordingGenerator:
  """A conditional 'export' (label_size 10) that records the labels it is given."""

  label_size = 10
  latent_dim = 4
  latent_distribution = 'normal'
  value_range = (-1.0, 1.0)

  def __init__(self):
    self.labels = []
    self.signatures = {'serving_default': self._serve, 'generate': None}

  def _serve(self, latents, labels):
    self.labels.append(labels.numpy())
    n = latents.shape[0]
    noise = tf.random.stateless_uniform([n, 32, 32, 1], [1, 2], -1.0, 1.0)
    return {'images': noise + tf.reduce_sum(latents) * 0.0}


def _preset_options(mnist_dir, num, **kw):
  base = dict(data=f'mnist_idx:{mnist_dir}', split='test', pad_to=32, num_images=num,
              features='classifier', classifier_epochs=1, progress=False, warmup=False)
  return protocols.Options(**{**base, **kw})


def test_presets_have_the_original_config_sizes_and_passes(mnist_dir):
  got = {name: (p.metric, p.num_images, p.real_passes) for name, p in protocols.PRESETS.items()}
  assert got == {'swd-16k': ('swd', 16384, 2), 'fid-10k': ('fid', 10000, 1),
                 'fid-50k': ('fid', 50000, 1), 'is-50k': ('is', 50000, 1),
                 'msssim-20k': ('ms_ssim', 20000, 1)}
  names = list(protocols.PRESETS)
  driver = protocols.PresetDriver(names, _preset_options(mnist_dir, 0))  # 0: the preset's count
  assert {n: st.num_images for n, st in driver.states.items()} == {
      'swd-16k': 16384, 'fid-10k': 10000, 'fid-50k': 50000, 'is-50k': 50000,
      'msssim-20k': 20000}
  assert driver.minibatch_size == 256  # clip(8192 // 32, 4, 256)
  assert [(c.name, c.fmt) for c in driver.columns] == [
      ('SWDx1e3_32', '%-13.4f'), ('SWDx1e3_16', '%-13.4f'), ('SWDx1e3_avg', '%-13.4f'),
      ('FID', '%-10.4f'), ('FID@50k', '%-10.4f'), ('IS_mean', '%-10.4f'), ('IS_std', '%-10.4f'),
      ('MS-SSIM', '%-10.4f')]
  small = protocols.PresetDriver(['swd-16k'], _preset_options(mnist_dir, 64))
  assert small.states['swd-16k'].num_images == 64
  assert protocols.Options().num_images == 0 and not protocols.Options().mirror_augment
  protocols.check_names(['swd', 'swd-16k', 'fid-10k'])
  with pytest.raises(KeyError, match='swd-16k'):
    protocols.check_names(['swd-1k'])


def test_greyscale_is_tiled_to_rgb_for_swd_147_d_descriptors(mnist_dir):
  driver = protocols.PresetDriver(['swd-16k'], _preset_options(mnist_dir, 16))
  (reals, reals2) = driver.real_rows()
  reference = driver.states['swd-16k'].passes.reference
  assert [level.shape for level in reference.levels] == [(16 * 128, 147)] * 2  # 7 x 7 x 3
  assert reals.title == 'Reals' and set(reals.values.values()) == {0.0}
  assert reals2.title == 'Reals2' and reals2.values['SWDx1e3_avg'] > 0
  np.testing.assert_array_equal(protocols.to_rgb(np.zeros((2, 4, 4, 1)))[..., 2], 0)
  assert protocols.to_rgb(np.zeros((2, 4, 4, 3))).shape == (2, 4, 4, 3)


def test_mirror_augment_flips_about_half_along_the_width_only(mnist_dir):
  rng = np.random.default_rng(5)
  images = rng.integers(0, 256, size=(400, 6, 5, 3), dtype=np.uint8)
  out = protocols.mirror_augment(images, protocols.mirror_rng(seed=3, real_pass=0))
  same = np.all(out == images, axis=(1, 2, 3))
  flipped = np.all(out == images[:, :, ::-1], axis=(1, 2, 3))
  assert np.all(same ^ flipped)   # each image kept or flipped along W (never along H)
  assert 160 <= flipped.sum() <= 240
  np.testing.assert_array_equal(  # seeded, the draws one per image in order
      out, protocols.mirror_augment(images, protocols.mirror_rng(seed=3, real_pass=0)))
  assert not np.array_equal(out, protocols.mirror_augment(images, protocols.mirror_rng(4, 0)))
  # The reals of a preset pass and of the plain metrics, under --mirror_augment.
  reals = _reals(mnist_dir)[:48]
  driver = protocols.PresetDriver(['swd-16k'], _preset_options(mnist_dir, 48,
                                                               mirror_augment=True))
  got = np.concatenate([b for b, _ in driver.real_batches(48, 0)])
  kept = np.all(got == reals, axis=(1, 2, 3))
  assert np.all(kept | np.all(got == reals[:, :, ::-1], axis=(1, 2, 3))) and not kept.all()
  plain = protocols.Evaluation(None, _options(mnist_dir, mirror_augment=True, num_reals=48))
  np.testing.assert_array_equal(plain.reals(), got)


def test_conditional_fakes_get_the_labels_of_the_reals_in_order(mnist_dir):
  labels = _mnist_labels(mnist_dir)
  gen = _RecordingGenerator()
  driver = protocols.PresetDriver(['msssim-20k'], _preset_options(mnist_dir, 16))
  driver.evaluate(gen, '1000')
  np.testing.assert_array_equal(np.concatenate(gen.labels), np.eye(10)[labels[:16]])
  # swd-16k: two reals passes; the fakes get the last pass's labels, as the original.
  gen = _RecordingGenerator()
  driver = protocols.PresetDriver(['swd-16k'], _preset_options(mnist_dir, 16))
  driver.evaluate(gen)
  np.testing.assert_array_equal(np.concatenate(gen.labels), np.eye(10)[labels[16:32]])


def test_fake_swd_positions_are_fresh_and_reals2_is_the_second_pass(mnist_dir):
  num, seed = 16, 4
  opts = _preset_options(mnist_dir, num, split='test[:24]', seed=seed)
  reals = np.tile(_reals(mnist_dir)[:24], [1, 1, 1, 3])
  first, second = reals[:16], np.concatenate([reals[16:24], reals[:8]])  # the split wraps
  driver = protocols.PresetDriver(['swd-16k'], opts)
  rows = driver.real_rows()
  pass1 = swd.descriptors(first, seed)
  pass2 = swd.descriptors(second, seed, patch_stream=1)
  assert rows[1].values == swd.distance_from_descriptors(pass1, pass2, seed)
  # Fakes identical to the first reals pass: the same seed, but fresh patch positions.
  fake = driver.evaluate(_ArrayGenerator(_reals(mnist_dir)[:16], seed), '600')
  assert rows[0].values['SWDx1e3_avg'] == 0.0 and fake.values['SWDx1e3_avg'] > 0
  fakes = swd.descriptors(first, seed, patch_stream=protocols.FAKE_PATCH_STREAM)
  assert fake.values == swd.distance_from_descriptors(pass1, fakes, seed)
  assert not np.array_equal(fakes.levels[0], pass1.levels[0])


def test_log_table_format():
  columns = [protocols.LogColumn('SWDx1e3_32', '%-13.4f'), protocols.LogColumn('FID', '%-10.4f')]
  rows = [protocols.LogRow('Reals', 12.4, {'SWDx1e3_32': 0.0, 'FID': 0.0}),
          protocols.LogRow('Reals2', 75.0, {'SWDx1e3_32': 1.23456}),
          protocols.LogRow('12000', 3725.0, {'SWDx1e3_32': 10.5, 'FID': 7.25})]
  assert protocols.log_table(columns, rows).split('\n') == [
      'Snapshot  Time_eval   SWDx1e3_32   FID       ',
      '---       ---         ---          ---       ',
      'Reals     12s         0.0000       0.0000    ',
      'Reals2    1m 15s      1.2346                 ',
      '12000     1h 02m 05s  10.5000      7.2500    ']
  assert protocols.format_time(2 * 86400 + 3 * 3600 + 4 * 60) == '2d 03h 04m'


def test_run_gives_preset_results_with_their_rows(gen32, mnist_dir):
  opts = _preset_options(mnist_dir, 16, warmup=True)
  results = protocols.run(['swd-16k', 'msssim-20k'], gen32, opts, title='final')
  res = results['swd-16k']
  assert res['preset'] == 'swd-16k' and res['num_images'] == 16 and res['real_passes'] == 2
  assert [r['title'] for r in res['rows']] == ['Reals', 'Reals2', 'final']
  assert res['SWDx1e3_avg'] == res['rows'][2]['values']['SWDx1e3_avg'] > 0
  assert [r['title'] for r in results['msssim-20k']['rows']] == ['Reals', 'final']
  lines = protocols.results_log_table(results).split('\n')  # what evaluate prints
  assert lines[0].startswith('Snapshot  Time_eval   SWDx1e3_32   SWDx1e3_16   SWDx1e3_avg  MS-SSIM')
  assert [l[:10].strip() for l in lines[2:]] == ['Reals', 'Reals2', 'final']
  assert json.dumps(results)  # JSON-serialisable for --out


def test_fid_and_is_presets_with_classifier_features(gen32, mnist_dir):
  opts = _preset_options(mnist_dir, NUM, split=f'test[:{NUM}]', warmup=True)
  results = protocols.run(['fid-10k', 'is-50k'], gen32, opts)
  fid_rows = {r['title']: r['values'] for r in results['fid-10k']['rows']}
  assert abs(fid_rows['Reals']['FID']) < 1e-6 and fid_rows['Fakes']['FID'] > 0
  is_rows = {r['title']: r['values'] for r in results['is-50k']['rows']}
  assert 1.0 <= is_rows['Reals']['IS_mean'] <= 10.0 and results['is-50k']['IS_mean'] >= 1.0
  # The FID against pass 1 is the plain metric's (same reals, same fakes, same features).
  plain = protocols.run(['fid'], gen32, _options(mnist_dir))['fid']['fid']
  assert results['fid-10k']['FID'] == pytest.approx(plain, rel=1e-6)


# ------------------------------------------------------------------ fid-rgan (RGAN FID protocol)

class _RecordingSample:
  """A fake export: `sample(seed, num)` records each call and returns known pixels in [0, 1]."""

  def __init__(self, shape=(8, 8, 1)):
    self.calls, self.shape = [], shape
    self.signatures = {'sample': self._sample}

  def _sample(self, seed, num):
    self.calls.append((int(seed), int(num)))
    rng = np.random.default_rng(int(seed))
    images = rng.uniform(0.0, 1.0, (int(num),) + self.shape).astype(np.float32)
    return {'images': _Tensor(images)}


class _Tensor:
  def __init__(self, value):
    self.value = value

  def numpy(self):
    return self.value


def test_rgan_fid_draws_g_in_calls_of_100_and_quantises_as_save_image():
  module = _RecordingSample()
  batches = list(protocols.rgan_fake_batches(module, 300, seed=5))
  assert module.calls == [(5, 100), (105, 100), (205, 100)]
  assert [b.shape for b in batches] == [(100, 8, 8, 1)] * 3 and batches[0].dtype == np.uint8
  expected = np.floor(np.clip(np.random.default_rng(5).uniform(0, 1, (100, 8, 8, 1))
                              .astype(np.float32) * np.float32(255), 0, 255))
  np.testing.assert_array_equal(batches[0], expected)
  with pytest.raises(ValueError, match='batches of 100'):
    list(protocols.rgan_fake_batches(module, 150, seed=0))


def test_save_image_quantisation_on_known_values():
  """torchvision save_image: byte(clamp(255 x [+ 0.5], 0, 255)), truncation toward zero; the
  reference's 2018 torchvision had no + 0.5 (added in 2019)."""
  x = np.array([-0.1, 0.0, 0.001, 0.5, 1 / 255, 0.9999, 1.0, 1.2], np.float32)
  np.testing.assert_array_equal(protocols.save_image_uint8(x), [0, 0, 0, 127, 1, 254, 255, 255])
  np.testing.assert_array_equal(protocols.save_image_uint8(x, add_half=True),
                                [0, 0, 0, 128, 1, 255, 255, 255])
  assert protocols.RGAN_SAVE_IMAGE_ADDS_HALF is False
  # x * .5 + .5 of G's tanh output, as the reference writes it (the export's `sample`).
  g = np.array([-1.0, -0.5, 0.0, 0.999], np.float32)
  np.testing.assert_array_equal(protocols.save_image_uint8(g * np.float32(.5) + np.float32(.5)),
                                [0, 63, 127, 254])


def test_rgan_fid_settings():
  assert protocols.RGAN_FID_BATCH == 100
  assert protocols.RGAN_FID_NUM_SAMPLES == 50000
  assert protocols.RGAN_FID_REAL_SPLIT == 'train'
  assert protocols.rgan_fid_num_samples(protocols.Options()) == 50000
  assert protocols.rgan_fid_num_samples(protocols.Options(num_images=10000)) == 10000
  assert 'fid-rgan' in protocols.METRICS


def test_rgan_fid_is_the_frechet_distance_of_those_samples_against_the_whole_train_split():
  module = _RecordingSample()
  opts = protocols.Options(data='digits', split='test', num_images=400, seed=1,
                           features='classifier', classifier_epochs=1, progress=False)
  ev = protocols.Evaluation(module, opts)
  result = protocols.METRICS.get('fid-rgan')(ev)
  assert module.calls == [(1 + 100 * i, 100) for i in range(4)]
  assert result['num_samples'] == 400 and result['batch'] == 100
  source = ev.source('train')
  reals = protocols.to_uint8(source, source.images)
  fakes = np.concatenate([protocols.save_image_uint8(
      np.random.default_rng(1 + 100 * i).uniform(0, 1, (100, 8, 8, 1)).astype(np.float32))
                          for i in range(4)])
  mu_r, sigma_r = fid.statistics(protocols._features(ev, reals))  # pylint: disable=protected-access
  mu_g, sigma_g = fid.statistics(protocols._features(ev, fakes))  # pylint: disable=protected-access
  assert result['fid'] == pytest.approx(fid.frechet_distance(mu_r, sigma_r, mu_g, sigma_g), rel=1e-6)
  assert result['reals'] == f'digits train (all {len(reals)})'


def test_rgan_fid_shows_progress_of_both_passes(capsys):
  opts = protocols.Options(data='digits', split='test', num_images=200, seed=1,
                           features='classifier', classifier_epochs=1, progress=True)
  protocols.METRICS.get('fid-rgan')(protocols.Evaluation(_RecordingSample(), opts))
  err = capsys.readouterr().err
  num_train = protocols.Evaluation(None, opts).source('train').num_examples
  assert f'real statistics (train): {num_train}/{num_train}' in err
  assert 'generated features: 100/200' in err and 'generated features: 200/200' in err

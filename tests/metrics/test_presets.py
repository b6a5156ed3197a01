"""tf_gans.metrics.presets: the PGGAN presets as the original util_scripts.py evaluate_metrics."""

import dataclasses
import json

import numpy as np
import pytest
import tensorflow as tf

from tf_gans.metrics import evaluation, presets, protocols, swd
# pylint: disable-next=unused-import
from tests.metrics.test_protocols import NUM, gen32, padded_reals, plain_options


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
  return evaluation.Options(**{**base, **kw})


def test_presets_have_the_original_config_sizes_and_passes(mnist_dir):
  got = {name: (p.metric, p.num_images, p.real_passes) for name, p in presets.PRESETS.items()}
  assert got == {'swd-16k': ('swd', 16384, 2), 'fid-10k': ('fid', 10000, 1),
                 'fid-50k': ('fid', 50000, 1), 'is-50k': ('is', 50000, 1),
                 'msssim-20k': ('ms_ssim', 20000, 1)}
  names = list(presets.PRESETS)
  driver = presets.PresetDriver(names, _preset_options(mnist_dir, 0))  # 0: the preset's count
  assert {n: st.num_images for n, st in driver.states.items()} == {
      'swd-16k': 16384, 'fid-10k': 10000, 'fid-50k': 50000, 'is-50k': 50000,
      'msssim-20k': 20000}
  assert driver.minibatch_size == 256  # clip(8192 // 32, 4, 256)
  assert [(c.name, c.fmt) for c in driver.columns] == [
      ('SWDx1e3_32', '%-13.4f'), ('SWDx1e3_16', '%-13.4f'), ('SWDx1e3_avg', '%-13.4f'),
      ('FID', '%-10.4f'), ('FID@50k', '%-10.4f'), ('IS_mean', '%-10.4f'), ('IS_std', '%-10.4f'),
      ('MS-SSIM', '%-10.4f')]
  small = presets.PresetDriver(['swd-16k'], _preset_options(mnist_dir, 64))
  assert small.states['swd-16k'].num_images == 64
  assert evaluation.Options().num_images == 0 and not evaluation.Options().mirror_augment
  protocols.check_names(['swd', 'swd-16k', 'fid-10k'])
  with pytest.raises(KeyError, match='swd-16k'):
    protocols.check_names(['swd-1k'])


def test_greyscale_is_tiled_to_rgb_for_swd_147_d_descriptors(mnist_dir):
  driver = presets.PresetDriver(['swd-16k'], _preset_options(mnist_dir, 16))
  (reals, reals2) = driver.real_rows()
  reference = driver.states['swd-16k'].passes.reference
  assert [level.shape for level in reference.levels] == [(16 * 128, 147)] * 2  # 7 x 7 x 3
  assert reals.title == 'Reals' and set(reals.values.values()) == {0.0}
  assert reals2.title == 'Reals2' and reals2.values['SWDx1e3_avg'] > 0


def test_preset_reals_are_mirrored_as_the_plain_metrics_reals(mnist_dir):
  # The reals of a preset pass and of the plain metrics, under --mirror_augment.
  reals = padded_reals(mnist_dir)[:48]
  driver = presets.PresetDriver(['swd-16k'], _preset_options(mnist_dir, 48,
                                                             mirror_augment=True))
  got = np.concatenate([b for b, _ in driver.real_batches(48, 0)])
  kept = np.all(got == reals, axis=(1, 2, 3))
  assert np.all(kept | np.all(got == reals[:, :, ::-1], axis=(1, 2, 3))) and not kept.all()
  plain = evaluation.Evaluation(None, plain_options(mnist_dir, mirror_augment=True, num_reals=48))
  np.testing.assert_array_equal(plain.reals(), got)



def test_conditional_fakes_get_the_labels_of_the_reals_in_order(mnist_dir):
  labels = _mnist_labels(mnist_dir)
  gen = _RecordingGenerator()
  driver = presets.PresetDriver(['msssim-20k'], _preset_options(mnist_dir, 16))
  driver.evaluate(gen, '1000')
  np.testing.assert_array_equal(np.concatenate(gen.labels), np.eye(10)[labels[:16]])
  # swd-16k: two reals passes; the fakes get the last pass's labels, as the original.
  gen = _RecordingGenerator()
  driver = presets.PresetDriver(['swd-16k'], _preset_options(mnist_dir, 16))
  driver.evaluate(gen)
  np.testing.assert_array_equal(np.concatenate(gen.labels), np.eye(10)[labels[16:32]])


def test_fake_swd_positions_are_fresh_and_reals2_is_the_second_pass(mnist_dir):
  num, seed = 16, 4
  opts = _preset_options(mnist_dir, num, split='test[:24]', seed=seed)
  reals = np.tile(padded_reals(mnist_dir)[:24], [1, 1, 1, 3])
  first, second = reals[:16], np.concatenate([reals[16:24], reals[:8]])  # the split wraps
  driver = presets.PresetDriver(['swd-16k'], opts)
  rows = driver.real_rows()
  pass1 = swd.descriptors(first, seed)
  pass2 = swd.descriptors(second, seed, patch_stream=1)
  assert rows[1].values == swd.distance_from_descriptors(pass1, pass2, seed)
  # Fakes identical to the first reals pass: the same seed, but fresh patch positions.
  fake = driver.evaluate(_ArrayGenerator(padded_reals(mnist_dir)[:16], seed), '600')
  assert rows[0].values['SWDx1e3_avg'] == 0.0 and fake.values['SWDx1e3_avg'] > 0
  fakes = swd.descriptors(first, seed, patch_stream=presets.FAKE_PATCH_STREAM)
  assert fake.values == swd.distance_from_descriptors(pass1, fakes, seed)
  assert not np.array_equal(fakes.levels[0], pass1.levels[0])


def test_log_table_format():
  columns = [presets.LogColumn('SWDx1e3_32', '%-13.4f'), presets.LogColumn('FID', '%-10.4f')]
  rows = [presets.LogRow('Reals', 12.4, {'SWDx1e3_32': 0.0, 'FID': 0.0}),
          presets.LogRow('Reals2', 75.0, {'SWDx1e3_32': 1.23456}),
          presets.LogRow('12000', 3725.0, {'SWDx1e3_32': 10.5, 'FID': 7.25})]
  assert presets.log_table(columns, rows).split('\n') == [
      'Snapshot  Time_eval   SWDx1e3_32   FID       ',
      '---       ---         ---          ---       ',
      'Reals     12s         0.0000       0.0000    ',
      'Reals2    1m 15s      1.2346                 ',
      '12000     1h 02m 05s  10.5000      7.2500    ']
  assert presets.format_time(2 * 86400 + 3 * 3600 + 4 * 60) == '2d 03h 04m'


def test_run_gives_preset_results_with_their_rows(gen32, mnist_dir):
  opts = _preset_options(mnist_dir, 16, warmup=True)
  results = protocols.run(['swd-16k', 'msssim-20k'], gen32, opts, title='final')
  res = results['swd-16k']
  assert res['preset'] == 'swd-16k' and res['num_images'] == 16 and res['real_passes'] == 2
  assert [r['title'] for r in res['rows']] == ['Reals', 'Reals2', 'final']
  assert res['SWDx1e3_avg'] == res['rows'][2]['values']['SWDx1e3_avg'] > 0
  assert [r['title'] for r in results['msssim-20k']['rows']] == ['Reals', 'final']
  lines = presets.results_log_table(results).split('\n')  # what evaluate prints
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
  plain = protocols.run(['fid'], gen32, plain_options(mnist_dir))['fid']['fid']
  assert results['fid-10k']['FID'] == pytest.approx(plain, rel=1e-6)


class _OriginalDataset:
  """The reading order of the original dataset.TFRecordDataset(shuffle_mb=0, repeat=True):
  configure(minibatch_size) re-initialises the iterator (record 0 first) whenever the
  size differs from the last one; get_minibatch_np(n) configures, then takes n records."""

  def __init__(self, size):
    import itertools  # pylint: disable=import-outside-toplevel
    self._cycle = lambda: itertools.cycle(range(size))
    self._iterator, self._cur_minibatch = None, -1

  def get_minibatch_np(self, minibatch_size):
    if self._cur_minibatch != minibatch_size:
      self._iterator, self._cur_minibatch = self._cycle(), minibatch_size
    return [next(self._iterator) for _ in range(minibatch_size)]


def _original_passes(num, minibatch_size, real_passes, size):
  """Records of each reals pass as util_scripts.evaluate_metrics asks for them."""
  dataset, passes = _OriginalDataset(size), []
  for _ in range(real_passes):
    records = []
    for begin in range(0, num, minibatch_size):
      records += dataset.get_minibatch_np(min(begin + minibatch_size, num) - begin)
    passes.append(records)
  return passes


@pytest.mark.parametrize('num,minibatch_size,size', [
    (10, 4, 7), (12, 4, 7), (8, 4, 30), (10, 4, 30), (3, 4, 5), (16, 256, 24), (10000, 32, 30000)])
def test_reals_passes_read_records_as_the_original_dataset(num, minibatch_size, size):
  expected = _original_passes(num, minibatch_size, 3, size)
  for real_pass in range(3):
    got = presets.reals_pass_records(num, minibatch_size, real_pass, size)
    assert [len(b) for b in got] == [min(minibatch_size, num - b)
                                     for b in range(0, num, minibatch_size)]
    assert np.concatenate(got).tolist() == expected[real_pass]
  # The short last batch (num = 2 mb + 2) restarts at record 0; so does the next pass.
  assert [b.tolist() for b in presets.reals_pass_records(10, 4, 0, 30)] == [
      [0, 1, 2, 3], [4, 5, 6, 7], [0, 1]]
  assert np.concatenate(presets.reals_pass_records(10, 4, 1, 30)).tolist() == [
      0, 1, 2, 3, 4, 5, 6, 7, 0, 1]
  # A multiple of the minibatch: pass p continues at p num, wrapping around the set.
  assert np.concatenate(presets.reals_pass_records(8, 4, 1, 10)).tolist() == [
      8, 9, 0, 1, 2, 3, 4, 5]


def _numbered_tfrecords(tmp_path, num, labels=None):
  """A tfrecords set of 16x16 RGB images whose pixels hold their record number."""
  from tf_gans.data import dataset_writers  # pylint: disable=import-outside-toplevel
  images = np.zeros([num, 16, 16, 3], np.uint8)
  images[..., 0] = np.arange(num)[:, None, None]
  images[..., 1] = np.arange(16)[None, :, None] * 8  # rows differ: SWD has something to see
  images[..., 2] = np.arange(16)[None, None, :] * 3 + np.arange(num)[:, None, None] % 5
  path = tmp_path / 'numbered'
  dataset_writers.write_arrays(str(path), images, labels, progress=False)
  return path, images


def test_presets_stream_tfrecords_reals_with_the_short_last_batch_rule(tmp_path, monkeypatch):
  # 30 records, 10 images per pass in minibatches of 4: [0..3] [4..7] then the short
  # batch restarts at record 0 ([0, 1]); the second pass restarts too. Only the records
  # of the minibatch being fed are read; the images are never loaded as a whole.
  from tf_gans.data import source as source_lib  # pylint: disable=import-outside-toplevel
  from tf_gans.data import tfrecords  # pylint: disable=import-outside-toplevel
  path, images = _numbered_tfrecords(tmp_path, 30)
  reads = []
  read_records = tfrecords.MultiResDataset.read_records
  monkeypatch.setattr(tfrecords.MultiResDataset, 'read_records', lambda self, lod, rows: (
      reads.append(np.asarray(rows).tolist()), read_records(self, lod, rows))[1])

  def never(*_, **__):
    raise AssertionError('every image of the set was loaded')
  monkeypatch.setattr(source_lib.LazyImages, '__array__', never)
  monkeypatch.setattr(tfrecords.MultiResDataset, 'load_images', never)
  opts = evaluation.Options(data=f'tfrecords:{path}', split='train', num_images=10,
                            progress=False, warmup=False, seed=3)
  driver = presets.PresetDriver(['swd-16k'], opts, minibatch_size=4)
  batches = [[int(i) for i in b[:, 0, 0, 0]] for b, _ in driver.real_batches(10, 1)]
  assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [0, 1]] and reads == batches
  rows = driver.real_rows()
  assert max(len(r) for r in reads) == 4 and sum(len(r) for r in reads) == 10 + 2 * 10
  # The same values as the in-memory source of the same images.
  monkeypatch.undo()
  from tf_gans.data import source as source_mod  # pylint: disable=import-outside-toplevel
  monkeypatch.setitem(source_mod.DATASETS._entries, 'numbered_in_memory',  # pylint: disable=protected-access
                      lambda arg, split, **_: source_mod.ArraySource('mem', images, 1 / 255))
  memory = presets.PresetDriver(['swd-16k'], dataclasses.replace(opts, data='numbered_in_memory'),
                                minibatch_size=4)
  assert [r.values for r in memory.real_rows()] == [r.values for r in rows]
  # Reals2 holds the same records as Reals (both restart at 0); its patches are fresh.
  assert rows[1].values['SWDx1e3_avg'] > 0


def test_conditional_fakes_get_the_label_vectors_of_the_last_pass_cut_to_the_generator(tmp_path):
  # Multi-hot rows are fed as they are (not argmax'ed), cut to the generator's label
  # count: the original's _np_labels[:, :max_label_size] (Gs label_size = min(K, max)).
  labels = np.random.default_rng(0).integers(0, 2, [30, 3]).astype(np.float32)
  labels[:, 0] = 1 - labels[:, 1]  # not one-hot: column 2 is free
  path, _ = _numbered_tfrecords(tmp_path, 30, labels)
  opts = evaluation.Options(data=f'tfrecords:{path}', split='train', num_images=10,
                            progress=False, warmup=False)
  driver = presets.PresetDriver(['fid-10k'], opts, minibatch_size=4)
  st = driver.states['fid-10k']
  st.labels = np.concatenate([l for _, l in driver.real_batches(10, 0)])  # what real_rows keeps
  gen = _RecordingGenerator()
  gen.label_size = 2
  list(driver.fake_batches(gen, 10, st.labels))
  np.testing.assert_array_equal(np.concatenate(gen.labels),
                                labels[[0, 1, 2, 3, 4, 5, 6, 7, 0, 1], :2])
  gen.label_size = 4
  with pytest.raises(ValueError, match=r'takes 4 label components but --data=tfrecords:.* has 3'):
    list(driver.fake_batches(gen, 10, st.labels))
  with pytest.raises(ValueError, match=r'takes 4 labels but --data=.* has none'):
    list(driver.fake_batches(gen, 10, None))

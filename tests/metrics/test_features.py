"""tf_gans.metrics.features: streamed extraction, a cache keyed by content, an interrupted pass kept."""

import numpy as np
import pytest

from tf_gans.metrics import features
from tf_gans.metrics import sources


def _npz_source(tmp_path, images, name='x.npz'):
  np.savez(tmp_path / name, images=images)
  return sources.open_source(f'npz:{tmp_path / name}')


class CountingExtractor:
  """Mean and std per channel as 'features'; counts the images it sees; can stop after k calls."""

  def __init__(self, stop_after=None, version=1):
    self.seen, self.calls, self.stop_after = 0, 0, stop_after
    self.extractor = features.Extractor('toy', {'toy': version}, self._extract)

  def _extract(self, batch):
    self.calls += 1
    if self.stop_after is not None and self.calls > self.stop_after:
      raise KeyboardInterrupt
    self.seen += len(batch)
    x = batch.astype(np.float64)
    return np.concatenate([x.mean(axis=(1, 2)), x.std(axis=(1, 2))], axis=1)


def _images(n=40, seed=0):
  return np.random.default_rng(seed).integers(0, 256, [n, 6, 6, 3]).astype(np.uint8)


def test_second_pass_over_the_same_content_runs_no_network(tmp_path):
  cache = str(tmp_path / 'cache')
  toy = CountingExtractor()
  first = features.source_features(_npz_source(tmp_path, _images()), toy.extractor, cache, 8,
                                   show_progress=False)
  assert toy.seen == 40 and first.shape == (40, 6)
  # The same pixels under another name: a cache hit (the key is the content, not the path).
  again = features.source_features(_npz_source(tmp_path, _images(), 'y.npz'), toy.extractor,
                                   cache, 8, show_progress=False)
  assert toy.seen == 40
  np.testing.assert_array_equal(again, first)
  # One changed pixel, or another extractor identity: computed again.
  changed = _images()
  changed[17, 0, 0, 0] ^= 1
  features.source_features(_npz_source(tmp_path, changed, 'z.npz'), toy.extractor, cache, 8,
                           show_progress=False)
  assert toy.seen == 80
  other = CountingExtractor(version=2)
  features.source_features(_npz_source(tmp_path, _images()), other.extractor, cache, 8,
                           show_progress=False)
  assert other.seen == 40


def test_an_interrupted_pass_keeps_its_rows_and_the_next_call_continues(tmp_path, monkeypatch):
  monkeypatch.setattr(features, 'SAVE_EVERY_S', 1e9)  # only the interrupt saves
  cache = str(tmp_path / 'cache')
  source = _npz_source(tmp_path, _images())
  stopped = CountingExtractor(stop_after=3)
  with pytest.raises(KeyboardInterrupt, match=r'24 of 40 feature rows kept in .*\.partial\.npy'):
    features.source_features(source, stopped.extractor, cache, 8, show_progress=False)
  resumed = CountingExtractor()
  got = features.source_features(source, resumed.extractor, cache, 8, show_progress=False)
  assert resumed.seen == 16  # only the rows the interrupted pass had not computed
  whole = CountingExtractor()
  want = features.source_features(source, whole.extractor, '', 8, show_progress=False)
  np.testing.assert_array_equal(got, want)
  assert not list((tmp_path / 'cache').glob('*.partial.npy'))


def test_unknown_extractor_names_the_flag():
  with pytest.raises(ValueError, match=r'--features=vgg: unknown; expected one of classifier, '
                                       r'inception'):
    features.get_extractor('vgg')
  with pytest.raises(ValueError, match=r'--features=inception needs --inception=<weights file>'):
    features.get_extractor('inception')


def test_classifier_features_of_digits(tmp_path):
  digits = sources.open_source('digits@test', num=64)
  extractor = features.get_extractor('classifier', classifier_epochs=1)
  got = features.source_features(digits, extractor, str(tmp_path), 32, show_progress=False)
  assert got.shape == (64, 128) and np.isfinite(got).all() and got.std() > 0


def test_vgg16_fc2_extractor_wiring_and_refusals(tmp_path, monkeypatch):
  """The vgg16 entry (Kynkaanniemi et al. 2019's space) reads fc2 after a 224 resize and
  preprocess_input; VGG16 itself is swapped for a tiny model with an fc2 layer (its ImageNet
  weights are 528 MB and are never downloaded here)."""
  import keras  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  with pytest.raises(ValueError, match=r'--features=vgg16 needs --vgg16_weights=<file>'):
    features.get_extractor('vgg16')
  with pytest.raises(FileNotFoundError, match=r'--vgg16_weights=.*none\.h5: no such file'):
    features.get_extractor('vgg16', vgg16_weights=str(tmp_path / 'none.h5'))
  keras.utils.set_random_seed(0)
  inputs = keras.Input((224, 224, 3))
  h = keras.layers.Dense(5, name='fc2')(keras.layers.GlobalAveragePooling2D()(inputs))
  tiny = keras.Model(inputs, keras.layers.Dense(2, name='predictions')(h))
  loaded = []
  monkeypatch.setattr(keras.applications, 'VGG16',
                      lambda weights, include_top: loaded.append(weights) or tiny)
  weights = tmp_path / 'vgg16.h5'
  weights.write_bytes(b'stand-in')
  extractor = features.get_extractor('vgg16', vgg16_weights=str(weights), batch_size=3)
  images = np.random.default_rng(0).integers(0, 256, [4, 16, 16, 1]).astype(np.uint8)
  got = extractor.extract(images)
  x = tf.tile(tf.image.resize(tf.cast(images, tf.float32), (224, 224)), [1, 1, 1, 3])
  want = keras.Model(tiny.input, tiny.get_layer('fc2').output)(
      keras.applications.vgg16.preprocess_input(x))
  np.testing.assert_allclose(got, np.asarray(want), rtol=1e-5, atol=1e-5)
  assert loaded == [str(weights)] and extractor.identity['features'] == 'vgg16 fc2'

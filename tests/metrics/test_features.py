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

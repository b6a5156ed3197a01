"""tf_gans.metrics.rgan_fid: FID as the RGAN reference (batches of 100, save_image pixels, the
whole training split)."""

import numpy as np
import pytest

from tf_gans.metrics import evaluation, fid, protocols, rgan_fid


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
  batches = list(rgan_fid.rgan_fake_batches(module, 300, seed=5))
  assert module.calls == [(5, 100), (105, 100), (205, 100)]
  assert [b.shape for b in batches] == [(100, 8, 8, 1)] * 3 and batches[0].dtype == np.uint8
  expected = np.floor(np.clip(np.random.default_rng(5).uniform(0, 1, (100, 8, 8, 1))
                              .astype(np.float32) * np.float32(255), 0, 255))
  np.testing.assert_array_equal(batches[0], expected)
  with pytest.raises(ValueError, match='batches of 100'):
    list(rgan_fid.rgan_fake_batches(module, 150, seed=0))


def test_save_image_quantisation_on_known_values():
  """torchvision save_image: byte(clamp(255 x [+ 0.5], 0, 255)), truncation toward zero; the
  reference's 2018 torchvision had no + 0.5 (added in 2019)."""
  x = np.array([-0.1, 0.0, 0.001, 0.5, 1 / 255, 0.9999, 1.0, 1.2], np.float32)
  np.testing.assert_array_equal(rgan_fid.save_image_uint8(x), [0, 0, 0, 127, 1, 254, 255, 255])
  np.testing.assert_array_equal(rgan_fid.save_image_uint8(x, add_half=True),
                                [0, 0, 0, 128, 1, 255, 255, 255])
  assert rgan_fid.RGAN_SAVE_IMAGE_ADDS_HALF is False
  # x * .5 + .5 of G's tanh output, as the reference writes it (the export's `sample`).
  g = np.array([-1.0, -0.5, 0.0, 0.999], np.float32)
  np.testing.assert_array_equal(rgan_fid.save_image_uint8(g * np.float32(.5) + np.float32(.5)),
                                [0, 63, 127, 254])


def test_rgan_fid_settings():
  assert rgan_fid.RGAN_FID_BATCH == 100
  assert rgan_fid.RGAN_FID_NUM_SAMPLES == 50000
  assert rgan_fid.RGAN_FID_REAL_SPLIT == 'train'
  assert rgan_fid.rgan_fid_num_samples(evaluation.Options()) == 50000
  assert rgan_fid.rgan_fid_num_samples(evaluation.Options(num_images=10000)) == 10000
  assert 'fid-rgan' in protocols.METRICS


def test_rgan_fid_is_the_frechet_distance_of_those_samples_against_the_whole_train_split():
  module = _RecordingSample()
  opts = evaluation.Options(data='digits', split='test', num_images=400, seed=1,
                            features='classifier', classifier_epochs=1, progress=False)
  ev = evaluation.Evaluation(module, opts)
  result = protocols.METRICS.get('fid-rgan')(ev)
  assert module.calls == [(1 + 100 * i, 100) for i in range(4)]
  assert result['num_samples'] == 400 and result['batch'] == 100
  source = ev.source('train')
  reals = evaluation.to_uint8(source, source.images)
  fakes = np.concatenate([rgan_fid.save_image_uint8(
      np.random.default_rng(1 + 100 * i).uniform(0, 1, (100, 8, 8, 1)).astype(np.float32))
                          for i in range(4)])
  mu_r, sigma_r = fid.statistics(evaluation.image_features(ev, reals))
  mu_g, sigma_g = fid.statistics(evaluation.image_features(ev, fakes))
  assert result['fid'] == pytest.approx(fid.frechet_distance(mu_r, sigma_r, mu_g, sigma_g), rel=1e-6)
  assert result['reals'] == f'digits train (all {len(reals)})'


def test_rgan_fid_shows_progress_of_both_passes(capsys):
  opts = evaluation.Options(data='digits', split='test', num_images=200, seed=1,
                            features='classifier', classifier_epochs=1, progress=True)
  protocols.METRICS.get('fid-rgan')(evaluation.Evaluation(_RecordingSample(), opts))
  err = capsys.readouterr().err
  num_train = evaluation.Evaluation(None, opts).source('train').num_examples
  assert f'real statistics (train): {num_train}/{num_train}' in err
  assert 'generated features: 100/200' in err and 'generated features: 200/200' in err

"""evaluate's image sources (tf_gans.metrics.sources): every kind streams what it holds, refusals
name the source before any feature is computed."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tf_gans import data as data_lib
from tf_gans.data import folder as folder_lib
from tf_gans.metrics import evaluation
from tf_gans.metrics import sources


def _all(source, batch_size=7):
  return np.concatenate([b for _, b in source.batches(batch_size)])


def _images(n=23, size=9, channels=3, seed=0):
  return np.random.default_rng(seed).integers(0, 256, [n, size, size, channels]).astype(np.uint8)


@pytest.mark.parametrize('save', [np.savez, np.savez_compressed])
def test_npz_streams_its_rows_in_order(tmp_path, save):
  images = _images()
  path = tmp_path / 'x.npz'
  save(path, images=images, labels=np.arange(23))
  source = sources.open_source(f'npz:{path}')
  assert (source.num, source.image_shape, source.info['key']) == (23, (9, 9, 3), 'images')
  np.testing.assert_array_equal(_all(source), images)
  np.testing.assert_array_equal(source.read(20, 3), images[20:])
  np.testing.assert_array_equal(source.read(2, 4), images[2:6])  # going back reopens the member
  assert sources.open_source(f'npz:{path}:images', num=5).num == 5


def test_npz_grayscale_and_refusals(tmp_path):
  grey = _images(channels=1)[..., 0]
  np.savez(tmp_path / 'g.npz', grey)
  source = sources.open_source(f'npz:{tmp_path / "g.npz"}')
  assert source.image_shape == (9, 9, 1)
  np.testing.assert_array_equal(_all(source)[..., 0], grey)
  np.savez(tmp_path / 'f.npz', images=grey.astype(np.float32))
  with pytest.raises(ValueError, match=r"--fakes=npz:.*f\.npz: array 'images' is float32; expected "
                                       r'uint8'):
    sources.open_source(f'npz:{tmp_path / "f.npz"}', what='--fakes')
  np.savez(tmp_path / 'two.npz', a=grey, b=grey)
  with pytest.raises(ValueError, match=r'holds arrays a, b; name one as npz:<file>:<key>'):
    sources.open_source(f'npz:{tmp_path / "two.npz"}')
  with pytest.raises(FileNotFoundError, match='no such file'):
    sources.open_source(f'npz:{tmp_path / "none.npz"}')
  np.savez(tmp_path / 'rgba.npz', images=np.zeros([2, 4, 4, 4], np.uint8))
  with pytest.raises(ValueError, match=r'shape \(2, 4, 4, 4\); expected \[N, H, W\]'):
    sources.open_source(f'npz:{tmp_path / "rgba.npz"}')


def _write_folder(folder, images):
  folder.mkdir()
  for i, image in enumerate(images):
    Image.fromarray(image).save(folder / f'{i:03d}.png')


def test_folder_is_decoded_per_minibatch_not_when_opened(tmp_path, monkeypatch):
  images = _images(12)
  _write_folder(tmp_path / 'f', images)
  decoded = []
  real_decode = folder_lib._decode  # pylint: disable=protected-access
  monkeypatch.setattr(folder_lib, '_decode', lambda *a: decoded.append(a[0]) or real_decode(*a))
  source = sources.open_source(f'folder:{tmp_path / "f"}')
  assert decoded == [] and source.num == 12
  first = next(source.batches(5))[1]
  assert len(decoded) == 5
  np.testing.assert_array_equal(first, images[:5])
  np.testing.assert_array_equal(_all(source), images)


def test_folder_refusals_name_the_files(tmp_path):
  _write_folder(tmp_path / 'mixed', [_images(1, 9)[0], _images(1, 8)[0]])
  with pytest.raises(ValueError, match=r'mixes image sizes, e\.g\. .*000\.png is 9x9 and '
                                       r'.*001\.png is 8x8'):
    sources.open_source(f'folder:{tmp_path / "mixed"}')
  (tmp_path / 'empty').mkdir()
  with pytest.raises(ValueError, match='holds no images'):
    sources.open_source(f'folder:{tmp_path / "empty"}')
  _write_folder(tmp_path / 'bad', _images(2))
  (tmp_path / 'bad' / '002.png').write_bytes(b'not a png')
  with pytest.raises(ValueError, match=r'1 file\(s\) could not be read as images:\n.*002\.png'):
    sources.open_source(f'folder:{tmp_path / "bad"}')


def test_dataset_spec_with_split_gives_evaluates_uint8_reals():
  source = sources.open_source('digits@test', num=100)
  digits = data_lib.load_source('digits', split='test')
  want = evaluation.to_uint8(digits, digits.images[:100])
  assert source.info == {'dataset': 'digits', 'split': 'test'}
  np.testing.assert_array_equal(_all(source, 33), want)


def test_savedmodel_gives_the_images_evaluate_model_draws(trained_run):
  module = tf.saved_model.load(trained_run.export_dir)
  source = sources.open_source(trained_run.export_dir, num=600, seed=3)  # no prefix needed
  assert source.kind == 'generator' and len(source.info['weights_sha256']) == 64
  got = _all(source, 50)
  want = np.concatenate([module.signatures['generate'](seed=3, num=500)['images'].numpy(),
                         module.signatures['generate'](seed=503, num=100)['images'].numpy()])
  np.testing.assert_array_equal(got, want)
  with pytest.raises(ValueError, match=r'is a generator: say how many images with --num_samples'):
    sources.open_source(f'savedmodel:{trained_run.export_dir}', what='--fakes')


def test_run_source_latest_checkpoint_and_snapshot(trained_run):
  latest = sources.open_source(trained_run.logdir, num=4)
  assert latest.kind == 'generator' and latest.info['generator'].endswith(f'at step '
                                                                          f'{trained_run.step}')
  export = tf.saved_model.load(trained_run.export_dir)
  np.testing.assert_array_equal(_all(latest),
                                export.signatures['generate'](seed=0, num=4)['images'].numpy())
  snap = sources.open_source(f'run:{trained_run.logdir}@{trained_run.step}', num=4)
  assert snap.info['generator'].endswith(f'at step {trained_run.step}')
  np.testing.assert_array_equal(_all(snap), _all(latest))  # the last snapshot is the last step
  with pytest.raises(ValueError, match=r'no snapshot there; it has 20'):
    sources.open_source(f'run:{trained_run.logdir}@11', num=4)


def test_too_few_images_is_refused_naming_the_flag():
  source = sources.open_source('digits@test')
  with pytest.raises(ValueError, match=r'--reals=digits@test: holds \d+ images; 5000 are needed'):
    sources.check(source, 5000, '--reals')

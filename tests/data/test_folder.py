"""Tests of the image-folder source on PNGs written with Pillow."""

import numpy as np
import pytest
from PIL import Image

from tf_gans import data


def _save(path, size=(6, 4), mode='L', value=100):
  """Writes a solid image of `size` (width, height) to `path`."""
  path.parent.mkdir(parents=True, exist_ok=True)
  colour = value if mode == 'L' else (value, 0, 255)
  Image.new(mode, size, colour).save(path)
  return path


def test_grey_folder_loads_recursively(tmp_path):
  _save(tmp_path / 'a.png', value=0)
  _save(tmp_path / 'sub' / 'b.PNG', value=255)
  _save(tmp_path / 'c.bmp', value=51)
  (tmp_path / 'notes.txt').write_text('not an image')
  src = data.load_source(f'folder:{tmp_path}')
  assert src.images.shape == (3, 4, 6, 1)
  assert src.images.dtype == np.uint8
  assert src.labels is None
  # Sorted path order: a.png, c.bmp, sub/b.PNG.
  assert src.images[:, 0, 0, 0].tolist() == [0, 51, 255]
  np.testing.assert_allclose(src.as_float()[:, 0, 0, 0], [0, 0.2, 1.0])


def test_colour_detected_and_channels_forced(tmp_path):
  _save(tmp_path / 'grey.png', value=10)
  _save(tmp_path / 'colour.jpg', mode='RGB', value=200)
  src = data.load_source(f'folder:{tmp_path}')
  assert src.image_shape == (4, 6, 3)
  grey = src.images[1]  # 'grey.png' sorts after 'colour.jpg'.
  assert (grey == 10).all()
  assert data.load_source(f'folder:{tmp_path}', channels=1).image_shape == (
      4, 6, 1)


def test_bad_channels(tmp_path):
  _save(tmp_path / 'a.png')
  with pytest.raises(ValueError, match='channels must be 1, 3 or None'):
    data.load_source(f'folder:{tmp_path}', channels=2)


def test_missing_folder(tmp_path):
  missing = tmp_path / 'nope'
  with pytest.raises(FileNotFoundError, match=f'{missing} does not exist'):
    data.load_source(f'folder:{missing}')


def test_empty_folder(tmp_path):
  (tmp_path / 'a.txt').write_text('x')
  with pytest.raises(ValueError, match=f'{tmp_path} holds no images.*\\.png'):
    data.load_source(f'folder:{tmp_path}')


def test_corrupt_png_is_named(tmp_path):
  _save(tmp_path / 'good.png')
  bad = tmp_path / 'bad.png'
  bad.write_bytes(np.random.default_rng(0).bytes(300))
  with pytest.raises(ValueError, match=f'(?s)1 file.*could not be read.*{bad}'):
    data.load_source(f'folder:{tmp_path}')


def test_truncated_png_is_named(tmp_path):
  _save(tmp_path / 'good.png')
  noisy = np.random.default_rng(1).integers(0, 256, (64, 64), np.uint8)
  full = tmp_path / 'full.png'
  Image.fromarray(noisy).save(full)
  bad = tmp_path / 'cut.png'
  bad.write_bytes(full.read_bytes()[:200])
  full.unlink()
  with pytest.raises(ValueError, match=str(bad)):
    data.load_source(f'folder:{tmp_path}')


def test_many_corrupt_files_are_capped(tmp_path):
  for i in range(13):
    (tmp_path / f'bad{i:02d}.png').write_bytes(b'garbage')
  with pytest.raises(ValueError, match='(?s)13 file.*and 3 more') as info:
    data.load_source(f'folder:{tmp_path}')
  assert 'bad09.png' in str(info.value)
  assert 'bad10.png' not in str(info.value)


def test_mixed_sizes_need_image_size(tmp_path):
  first = _save(tmp_path / 'a.png', size=(6, 4))
  second = _save(tmp_path / 'b.png', size=(5, 5))
  with pytest.raises(ValueError) as info:
    data.load_source(f'folder:{tmp_path}')
  message = str(info.value)
  assert str(first) in message and '6x4' in message
  assert str(second) in message and '5x5' in message
  assert '--image_size' in message


def test_image_size_crops_and_resizes(tmp_path):
  _save(tmp_path / 'a.png', size=(6, 4))
  _save(tmp_path / 'b.png', size=(5, 9), mode='RGB')
  # A wide image whose centre square is white and borders black.
  wide = np.zeros((10, 30), np.uint8)
  wide[:, 10:20] = 255
  Image.fromarray(wide).save(tmp_path / 'c.png')
  src = data.load_source(f'folder:{tmp_path}', image_size=3)
  assert src.images.shape == (3, 3, 3, 3)
  assert (src.images[2] == 255).all()


def test_only_train_split(tmp_path):
  _save(tmp_path / 'a.png')
  with pytest.raises(ValueError, match="no split 'test'"):
    data.load_source(f'folder:{tmp_path}', 'test')
  assert data.load_source(f'folder:{tmp_path}', 'train[:1]').num_examples == 1

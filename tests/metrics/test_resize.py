"""--resize: the graph's legacy bilinear resize (TTUR-equal) and clean-fid's antialiased bicubic."""

import numpy as np
import pytest

from tf_gans.metrics import inception
from tf_gans.metrics import resize


def _images(n=2, size=37, channels=3, seed=0):
  return np.random.default_rng(seed).integers(0, 256, [n, size, size, channels]).astype(np.uint8)


def test_clean_equals_clean_fids_own_resizer():
  cleanfid_resize = pytest.importorskip('cleanfid.resize')  # CI installs clean-fid (test extra)
  theirs = cleanfid_resize.make_resizer('PIL', False, 'bicubic', (299, 299))
  for size in (8, 32, 64, 512):
    images = _images(2, size, seed=size)
    ours = resize.clean(images)
    assert ours.shape == (2, 299, 299, 3) and ours.dtype == np.float32
    for i in range(2):
      np.testing.assert_array_equal(ours[i], theirs(images[i]))


def test_clean_makes_grayscale_rgb_as_clean_fid_opens_files():
  grey = _images(1, 16, channels=1)
  rgb = np.repeat(grey, 3, axis=-1)
  np.testing.assert_array_equal(resize.clean(grey), resize.clean(rgb))
  np.testing.assert_array_equal(resize.clean(grey[..., 0]), resize.clean(rgb))


def test_clean_antialiases_where_the_legacy_resize_aliases():
  """A 1-pixel checkerboard shrunk 598 -> 299: antialiased it is flat mid-grey; the graph's
  bilinear resize samples every second pixel, all of one colour: black (Parmar et al. 2022)."""
  y, x = np.mgrid[:598, :598]
  board = (((x + y) % 2) * 255).astype(np.uint8)[np.newaxis, ..., np.newaxis]
  clean = resize.clean(board)
  legacy = (inception.preprocess(board).numpy() / inception.MUL_Y) + inception.SUB_Y
  assert abs(clean.mean() - 127.5) < 2 and clean.std() < 10
  assert legacy.max() == 0.0


def test_clean_then_the_graph_resize_is_the_identity_at_299():
  images = resize.clean(_images(1, 50))
  back = inception.preprocess(images).numpy() / inception.MUL_Y + inception.SUB_Y
  np.testing.assert_allclose(back, images, atol=1e-4)


def test_unknown_mode_names_the_flag_and_the_modes():
  with pytest.raises(ValueError, match=r'--resize=bicubic: unknown; expected one of clean, '
                                       r'legacy_tf\.'):
    inception.feature_fn(None, resize='bicubic')

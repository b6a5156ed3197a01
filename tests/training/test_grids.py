"""The one grid writer both families use (tf_gans.training.grids)."""

import numpy as np
from PIL import Image

from tf_gans.training import grids


class _Monitor:
  def __init__(self):
    self.images = []

  def image(self, tag, grid, position):
    self.images.append((tag, grid.shape, position))


def test_pggan_grid_is_the_originals_1080p_layout_and_drange_mapping():
  assert grids.pggan_grid_size(4) == (32, 32)       # clip(480, 3, 32), clip(270, 2, 32)
  assert grids.pggan_grid_size(128) == (15, 8)
  assert grids.pggan_grid_size(1024) == (3, 2)
  x = np.array([-1.5, -1.0, -0.996, 0.0, 0.5, 1.0, 2.0], np.float32)
  expect = np.clip(np.rint(x * 127.5 + 127.5), 0, 255)  # misc.save_image_grid, drange [-1, 1]
  np.testing.assert_array_equal(grids.pggan_to_uint8(x), expect.astype(np.uint8))


def test_writer_tiles_pads_enlarges_and_reports(tmp_path):
  monitor = _Monitor()
  images = np.full((6, 4, 4, 1), 200, np.uint8)
  tiled = grids.GridWriter(monitor, cols=3, pad=1, min_size=64).write(
      images, str(tmp_path / 'g.png'), 'samples', 7)
  assert tiled.shape == (2 * 5 + 1, 3 * 5 + 1, 1) and tiled[0, 0, 0] == 0 and tiled[1, 1, 0] == 200
  saved = np.asarray(Image.open(tmp_path / 'g.png'))
  assert saved.shape == (11 * 4, 16 * 4)             # enlarged 64 // 16 = 4 times
  assert monitor.images == [('samples', tiled.shape, 7)]
  no_gaps = grids.GridWriter(None, cols=2, pad=0, min_size=0).write(images[:4], str(tmp_path / 'f.png'))
  assert no_gaps.shape == (8, 8, 1) and np.asarray(Image.open(tmp_path / 'f.png')).shape == (8, 8)

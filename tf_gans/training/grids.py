"""Sample grids of a run, for every family: a generator on fixed inputs -> PNG + TensorBoard.

  GAN / RGAN  `<logdir>/samples/step_XXXXXXX.png`, G every --sample_every steps
              (`tf_gans.gan.callbacks.SampleGrids`), tiles 1 px apart, enlarged to ~256 px
  PGGAN       `<logdir>/fakesKKKKKK.png`, Gs every --image_snapshot_ticks ticks
              (`tf_gans.progressive.loop.SnapshotGrids`), the original's
              `misc.save_image_grid`: no gaps, its 1080p layout (`pggan_grid_size`), and
              the [-1, 1] -> uint8 mapping rint(x * 127.5 + 127.5)

and `reals.png` beside them: the first grid of the training data as D sees it.
"""

import numpy as np

from tf_gans.training import images as images_lib


class GridWriter:
  """Writes uint8 NHWC images as one PNG grid and as a TensorBoard image of `monitor`.

  Args:
    monitor: a `tf_gans.training.monitor.Monitor` (None: PNG only).
    cols: images per row (None: a square-ish grid).
    pad: black pixels between tiles.
    min_size: enlarge (nearest) to at least this many pixels (0: never).
  """

  def __init__(self, monitor=None, cols=None, pad=1, min_size=256):
    self.monitor, self.cols, self.pad, self.min_size = monitor, cols, pad, min_size

  def write(self, images_uint8, path, tag=None, position=None):
    """Writes `path` (and the TensorBoard image `tag` at `position`); returns the grid."""
    tiled = images_lib.grid(images_uint8, cols=self.cols, pad=self.pad)
    upscale = max(1, self.min_size // max(tiled.shape[:2])) if self.min_size else 1
    images_lib.save_png(tiled, path, upscale=upscale)
    if self.monitor is not None and tag:
      self.monitor.image(tag, tiled, position)
    return tiled


def pggan_grid_size(resolution):
  """The original's '1080p' grid (`misc.setup_snapshot_image_grid`):
  (clip(1920 // W, 3, 32), clip(1080 // H, 2, 32)) images per row and column."""
  return int(np.clip(1920 // resolution, 3, 32)), int(np.clip(1080 // resolution, 2, 32))


def pggan_to_uint8(images):
  """[-1, 1] images -> rint(x * 127.5 + 127.5) clipped to uint8 (the original's
  `misc.save_image_grid` with drange [-1, 1])."""
  x = np.clip(np.rint(np.asarray(images, np.float32) * 127.5 + 127.5), 0, 255)
  return x.astype(np.uint8)

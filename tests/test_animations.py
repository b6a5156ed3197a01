"""tf_gans.animations: the reference util_scripts outputs (grids, interpolation and training GIFs)."""

import numpy as np
import pytest
from PIL import Image

from tf_gans import animations
from tf_gans.models import savedmodel


@pytest.fixture(scope='module')
def digits_module(trained_run):
  return savedmodel.load_generator(trained_run.export_dir)


def test_shrink_is_the_box_mean_and_refuses_bad_factors():
  x = np.random.RandomState(0).randint(0, 256, size=(2, 8, 8, 3)).astype(np.uint8)
  got = animations.shrink(x, 4)
  want = np.rint(x.astype(np.float64).reshape(2, 2, 4, 2, 4, 3).mean(axis=(2, 4)))
  np.testing.assert_array_equal(got, want.astype(np.uint8))
  assert animations.shrink(x, 1) is x
  with pytest.raises(ValueError, match='must divide the image size 8x8'):
    animations.shrink(x, 3)
  assert animations.shrink_for_resolution(1024, 256) == 4
  with pytest.raises(ValueError, match='divided by a power of 2, got 48'):
    animations.shrink_for_resolution(64, 48)


def test_interpolation_latents_are_smooth_looping_unit_rms():
  z = animations.interpolation_latents(60, 4, 32, seed=3, smoothing_frames=6.0)
  assert z.shape == (60, 4, 32)
  assert np.sqrt(np.mean(z**2)) == pytest.approx(1.0, rel=1e-12)
  steps = np.linalg.norm(np.diff(z, axis=0), axis=-1).mean()
  wrap = np.linalg.norm(z[0] - z[-1], axis=-1).mean()
  raw = animations.interpolation_latents(60, 4, 32, seed=3, smoothing_frames=0)
  raw_steps = np.linalg.norm(np.diff(raw, axis=0), axis=-1).mean()
  # Smoothing makes neighbouring frames close (a walk, not a slide show) and the
  # wrap-around step (last -> first frame) is as small as any other: the clip loops.
  assert steps < 0.25 * raw_steps
  assert wrap < 2 * steps


def test_interpolation_frames_are_reproducible_grids(digits_module):
  kw = dict(grid_cells=4, duration_sec=1.0, fps=5, smoothing_sec=0.2, seed=7)
  frames = animations.interpolation_frames(digits_module, **kw)
  again = animations.interpolation_frames(digits_module, **kw)
  assert len(frames) == 5 and frames[0].shape == (2 * 9 + 1, 2 * 9 + 1, 1)
  np.testing.assert_array_equal(np.stack(frames), np.stack(again))
  assert not np.array_equal(frames[0], frames[2])
  small = animations.interpolation_frames(digits_module, grid_cells=1, duration_sec=0.2, fps=5,
                                          seed=7, image_shrink=2)
  assert small[0].shape == (4 + 2, 4 + 2, 1)


def test_fake_image_grid_at_a_lower_resolution(digits_module):
  full = animations.fake_image_grid(digits_module, 4, seed=1)
  half = animations.fake_image_grid(digits_module, 4, seed=1, image_shrink=2)
  assert full.shape == (19, 19, 1) and half.shape == (11, 11, 1)
  # The shrunk grid is the box-filtered full one, cell by cell.
  np.testing.assert_array_equal(half[1:5, 1:5], animations.shrink(full[None, 1:9, 1:9], 2)[0])


def _snapshot(path, value):
  Image.fromarray(np.full((6, 6, 3), value, np.uint8)).save(path)


def test_training_frames_follow_the_warped_clock(tmp_path):
  for kimg, value in ((0, 10), (100, 20), (200, 30), (1000, 40)):
    _snapshot(tmp_path / f'fakes{kimg:06d}.png', value)
  linear = [int(f[0, 0, 0]) for f in animations.training_frames(tmp_path, 2.0, 5, time_warp=1.0)]
  warped = [int(f[0, 0, 0]) for f in animations.training_frames(tmp_path, 2.0, 5, time_warp=1.5)]
  assert linear[0] == warped[0] == 10 and linear[-1] == warped[-1] == 40
  assert linear == sorted(linear) and warped == sorted(warped)
  # Warping spends more frames on the early snapshots.
  assert sum(v < 30 for v in warped) > sum(v < 30 for v in linear)


def test_training_frames_need_snapshots(tmp_path):
  with pytest.raises(FileNotFoundError, match='no snapshot grids'):
    animations.training_frames(tmp_path)


def test_save_gif_writes_every_frame(tmp_path):
  frames = [np.full((5, 7, 3), v, np.uint8) for v in (0, 100, 200)]
  path = str(tmp_path / 'a.gif')
  assert animations.save_gif(frames, path, fps=10, upscale=2) == 3
  with Image.open(path) as gif:
    assert gif.n_frames == 3 and gif.size == (14, 10)
    assert gif.info['duration'] == 100

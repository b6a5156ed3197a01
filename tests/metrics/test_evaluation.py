"""tf_gans.metrics.evaluation: the image helpers the metrics share."""

import numpy as np

from tf_gans.metrics import evaluation


def test_mirror_augment_flips_about_half_along_the_width_only():
  rng = np.random.default_rng(5)
  images = rng.integers(0, 256, size=(400, 6, 5, 3), dtype=np.uint8)
  out = evaluation.mirror_augment(images, evaluation.mirror_rng(seed=3, real_pass=0))
  same = np.all(out == images, axis=(1, 2, 3))
  flipped = np.all(out == images[:, :, ::-1], axis=(1, 2, 3))
  assert np.all(same ^ flipped)   # each image kept or flipped along W (never along H)
  assert 160 <= flipped.sum() <= 240
  np.testing.assert_array_equal(  # seeded, the draws one per image in order
      out, evaluation.mirror_augment(images, evaluation.mirror_rng(seed=3, real_pass=0)))
  assert not np.array_equal(out, evaluation.mirror_augment(images, evaluation.mirror_rng(4, 0)))


def test_to_rgb_tiles_greyscale_only():
  np.testing.assert_array_equal(evaluation.to_rgb(np.zeros((2, 4, 4, 1)))[..., 2], 0)
  assert evaluation.to_rgb(np.zeros((2, 4, 4, 3))).shape == (2, 4, 4, 3)

import keras
import numpy as np
import pytest

from tf_gans.layers import Maxout


def test_maxout_is_max_over_consecutive_pieces():
  layer = Maxout(3, 4, kernel_initializer='random_normal', bias_initializer='random_normal')
  x = np.random.default_rng(1).normal(size=(5, 7)).astype(np.float32)
  y = layer(x).numpy()
  z = x @ layer.kernel.numpy() + layer.bias.numpy()   # [5, 12]
  expected = np.stack([z[:, 4 * i:4 * i + 4].max(axis=1) for i in range(3)], axis=1)
  np.testing.assert_allclose(y, expected, rtol=1e-6)
  assert layer.kernel.shape == (7, 12)


def test_maxout_serialises_and_validates():
  layer = Maxout(240, 5, name='h0')
  clone = Maxout.from_config(layer.get_config())
  assert (clone.units, clone.pieces) == (240, 5)
  model = keras.Sequential([keras.Input((4,)), Maxout(2, 3)])
  assert model.output_shape == (None, 2)
  with pytest.raises(ValueError, match='pieces >= 1'):
    Maxout(2, 0)

"""The GAN 2014 MNIST nets: sizes, inits, dropout and the output bias from the marginals."""

import numpy as np
import pytest

from tf_gans import models
from tf_gans.layers import Maxout
from tf_gans.models import mlp2014


def test_layer_sizes_match_the_paper_code():
  nets = models.build('mlp2014', (28, 28, 1))
  g, d = nets.generator, nets.discriminator
  assert nets.latent_dim == 100 and nets.latent_distribution == 'uniform'
  assert nets.value_range == (0.0, 1.0)
  assert [w.shape for w in g.trainable_weights] == [
      (100, 1200), (1200,), (1200, 1200), (1200,), (1200, 784), (784,)]
  assert g.output_shape == (None, 28, 28, 1)
  maxouts = [l for l in d.layers if isinstance(l, Maxout)]
  assert [(l.units, l.pieces) for l in maxouts] == [(240, 5), (240, 5)]
  assert [w.shape for w in d.trainable_weights] == [
      (784, 1200), (1200,), (240, 1200), (1200,), (240, 1), (1,)]
  assert d.output_shape == (None, 1)


def test_dropout_on_the_input_of_every_discriminator_layer():
  d = models.build('mlp2014', (28, 28, 1)).discriminator
  kinds = [(type(l).__name__, getattr(l, 'rate', None)) for l in d.layers[2:]]
  assert kinds == [('Dropout', 0.2), ('Maxout', None), ('Dropout', 0.5), ('Maxout', None),
                   ('Dropout', 0.5), ('Dense', None)]


def test_initial_weight_ranges():
  nets = models.build('mlp2014', (28, 28, 1))
  for w in nets.generator.trainable_weights:
    if len(w.shape) == 2:
      a = w.numpy()
      assert np.abs(a).max() <= 0.05 and np.abs(a).max() > 0.049 and abs(a.mean()) < 1e-3
  for w in nets.discriminator.trainable_weights:
    a = w.numpy()
    if len(w.shape) == 2:
      assert np.abs(a).max() <= 0.005 and np.abs(a).max() > 0.0049
    else:
      assert not a.any()  # biases 0


def test_output_biases_from_the_pixel_marginals():
  mean = np.zeros((8, 8, 1), np.float32)
  mean[2, 3, 0], mean[4, 4, 0], mean[0, 0, 0] = 0.25, 1.0, 0.5
  g = models.build('mlp2014', (8, 8, 1), pixel_mean=mean).generator
  b = g.get_layer('y').bias.numpy().reshape(8, 8)
  assert b[2, 3] == pytest.approx(np.log(0.25 / 0.75), rel=1e-6)
  assert b[0, 0] == pytest.approx(0.0, abs=1e-6)
  assert b[4, 4] == pytest.approx(np.log((1 - 1e-7) / 1e-7), rel=1e-4)
  assert b[7, 7] == pytest.approx(-16.118, abs=1e-3)   # always-0 pixel: logit(1e-7)
  with pytest.raises(ValueError, match='pixel_mean has shape'):
    models.build('mlp2014', (8, 8, 1), pixel_mean=np.zeros((28, 28, 1)))


def test_model_registry_lists_names():
  assert 'mlp2014' in models.names()
  with pytest.raises(KeyError, match="Unknown model 'dcgan'"):
    models.build('dcgan', (8, 8, 1))
  assert mlp2014.output_bias_from_marginals([0.5]).tolist() == [0.0]


def test_unknown_model_options_are_refused():
  with pytest.raises(ValueError, match="'mlp2014' does not take option.*spectral_norm; its options: none"):
    models.build('mlp2014', (8, 8, 1), spectral_norm=True)

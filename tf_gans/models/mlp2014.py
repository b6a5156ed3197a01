"""The GAN 2014 MNIST networks (Goodfellow et al. 2014; goodfeli/adversarial mnist.yaml).

Generator: z ~ U(-sqrt 3, sqrt 3)^100 -> ReLU 1200 -> ReLU 1200 -> sigmoid
H*W*C, weights ~ U(-0.05, 0.05), zero biases except the output's, which are
logit(clip(pixel mean, 1e-7, 1 - 1e-7)) (Pylearn2's
`init_sigmoid_bias_from_marginals`).

Discriminator: dropout(keep 0.8) -> Maxout 240 x 5 -> dropout(keep 0.5) ->
Maxout 240 x 5 -> dropout(keep 0.5) -> linear 1 (the logit; the sigmoid lives
in the loss). Weights ~ U(-0.005, 0.005), biases 0. Pylearn2 applies dropout to
the *input* of every layer with scale 1/keep, i.e. Keras' inverted Dropout.
"""

import math

import keras
import numpy as np

from tf_gans.layers import Maxout
from tf_gans.models import GanNets, MODELS, check_options

LATENT_DIM = 100
G_UNITS = 1200
D_UNITS, D_PIECES = 240, 5
G_IRANGE, D_IRANGE = 0.05, 0.005
D_INPUT_DROP, D_HIDDEN_DROP = 0.2, 0.5


def output_bias_from_marginals(pixel_mean, eps=1e-7):
  """b_j = logit(clip(mean_j, eps, 1 - eps)): makes G's initial output the data mean."""
  p = np.clip(np.asarray(pixel_mean, np.float64).reshape(-1), eps, 1.0 - eps)
  return np.log(p / (1.0 - p)).astype(np.float32)


def build_generator(image_shape, pixel_mean=None):
  dim = math.prod(image_shape)
  init = lambda: keras.initializers.RandomUniform(-G_IRANGE, G_IRANGE)
  bias = (keras.initializers.Constant(output_bias_from_marginals(pixel_mean))
          if pixel_mean is not None else 'zeros')
  z = keras.Input((LATENT_DIM,), name='latents')
  h = keras.layers.Dense(G_UNITS, 'relu', kernel_initializer=init(), name='h0')(z)
  h = keras.layers.Dense(G_UNITS, 'relu', kernel_initializer=init(), name='h1')(h)
  y = keras.layers.Dense(dim, 'sigmoid', kernel_initializer=init(),
                         bias_initializer=bias, name='y')(h)
  images = keras.layers.Reshape(tuple(image_shape), name='images')(y)
  return keras.Model(z, images, name='G_mlp2014')


def build_discriminator(image_shape):
  init = lambda: keras.initializers.RandomUniform(-D_IRANGE, D_IRANGE)
  x = keras.Input(tuple(image_shape), name='images')
  h = keras.layers.Flatten()(x)
  h = keras.layers.Dropout(D_INPUT_DROP, name='drop_h0')(h)
  h = Maxout(D_UNITS, D_PIECES, kernel_initializer=init(), name='h0')(h)
  h = keras.layers.Dropout(D_HIDDEN_DROP, name='drop_h1')(h)
  h = Maxout(D_UNITS, D_PIECES, kernel_initializer=init(), name='h1')(h)
  h = keras.layers.Dropout(D_HIDDEN_DROP, name='drop_y')(h)
  logits = keras.layers.Dense(1, kernel_initializer=init(), name='y')(h)
  return keras.Model(x, logits, name='D_mlp2014')


@MODELS.register('mlp2014')
def build(image_shape, pixel_mean=None, **options):
  """Both 2014 MNIST nets, sized for `image_shape` (784 = 28x28x1 in the paper)."""
  check_options('mlp2014', options, ())
  if pixel_mean is not None and np.shape(pixel_mean) != tuple(image_shape):
    raise ValueError(f'pixel_mean has shape {np.shape(pixel_mean)}, '
                     f'expected the image shape {tuple(image_shape)}.')
  return GanNets(generator=build_generator(image_shape, pixel_mean),
                 discriminator=build_discriminator(image_shape),
                 latent_dim=LATENT_DIM, latent_distribution='uniform',
                 value_range=(0.0, 1.0))

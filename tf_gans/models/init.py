"""Initializers and the BatchNorm layer the RGAN code's nets share (dcgan, standard_cnn).

Reference: github.com/AlexiaJM/RelativisticGAN `code/GAN_losses_iter.py`,
`weights_init` (applied to G and D of both `--arch 0` and `--arch 1`): every
module whose class name contains 'Conv' (Conv2d and ConvTranspose2d) gets
`weight.normal_(0.0, 0.02)`, every BatchNorm `weight.normal_(1.0, 0.02)` and
`bias.fill_(0)`; nothing else is touched, so conv biases and Linear layers keep
PyTorch's default init.
"""

import math

import keras

from tf_gans.layers.normalization import BatchStatsNormalization

CONV_STD = 0.02
BN_GAMMA_STD = 0.02


def conv_kernel_init():
  """N(0, 0.02) for conv / transposed-conv kernels (`weights_init`, 'Conv' branch).

  The DCGAN paper's init (Radford et al. 2015, section 4), as the RGAN code
  writes it: `m.weight.data.normal_(0.0, 0.02)`.
  """
  return keras.initializers.RandomNormal(0.0, CONV_STD)


def batch_norm(name):
  """Always-batch-statistics BN with gamma ~ N(1, 0.02), beta 0 (`weights_init`, 'BatchNorm').

  `BatchStatsNormalization` because the reference's training loop never calls
  `.eval()`; eps 1e-5 and momentum 0.1 are torch's `BatchNorm2d` defaults.
  """
  return BatchStatsNormalization(
      gamma_initializer=keras.initializers.RandomNormal(1.0, BN_GAMMA_STD),
      beta_initializer='zeros', name=name)


def torch_default_uniform(fan_in):
  """PyTorch's default Linear / Conv init, U(+-1/sqrt(fan_in)), for what `weights_init` skips.

  PyTorch 0.4 `Linear.reset_parameters` / `_ConvNd.reset_parameters`: `stdv =
  1 / sqrt(n)` with n = in_features, or in_channels * kernel height * width
  (also for a transposed conv); PyTorch >= 1.0 gives the same bound for Linear
  and Conv2d through `kaiming_uniform_(a=sqrt(5))`.
  """
  bound = 1.0 / math.sqrt(fan_in)
  return keras.initializers.RandomUniform(-bound, bound)

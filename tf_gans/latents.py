"""Latent (noise) distributions p_z, sampled statelessly from a seed.

Stateless sampling makes the noise a pure function of (seed, step, slot), so
resuming a run reproduces it exactly without saving RNG state.
"""

import math

import tensorflow as tf

from tf_gans.registry import Registry

LATENTS = Registry('latent distribution')


@LATENTS.register('uniform')
def uniform_unit_variance(shape, seed):
  """z_k ~ U(-sqrt 3, sqrt 3): zero mean, unit variance (GAN 2014's MNIST noise)."""
  r = math.sqrt(3.0)
  return tf.random.stateless_uniform(shape, seed, minval=-r, maxval=r)


@LATENTS.register('normal')
def standard_normal(shape, seed):
  """z ~ N(0, I) (RGAN, PGGAN)."""
  return tf.random.stateless_normal(shape, seed)


def sample(distribution, shape, seed):
  """Samples `shape` latents from the named distribution with a [2] int seed."""
  return LATENTS.get(distribution)(shape, seed)

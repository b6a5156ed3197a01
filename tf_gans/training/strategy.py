"""`tf.distribute` strategies by name (`--strategy`)."""

import tensorflow as tf

from tf_gans.registry import Registry

STRATEGIES = Registry('strategy')
STRATEGIES.register('default', tf.distribute.get_strategy)
STRATEGIES.register('mirrored', tf.distribute.MirroredStrategy)


def get(name):
  """A `tf.distribute.Strategy` for `name` (`default`: no distribution)."""
  return STRATEGIES.get(name)()

"""`tf.distribute` strategies by name (`--strategy`).

One instance per name and process: two MirroredStrategy objects in one process
clash in their collective ops (TF 2.21: "Shape mismatch in the collective
instance"), e.g. when a notebook or a test suite trains twice.
"""

import functools

import tensorflow as tf

from tf_gans.registry import Registry

STRATEGIES = Registry('strategy')
STRATEGIES.register('default', tf.distribute.get_strategy)
STRATEGIES.register('mirrored', tf.distribute.MirroredStrategy)


@functools.cache
def get(name):
  """The process's `tf.distribute.Strategy` for `name` (`default`: no distribution)."""
  return STRATEGIES.get(name)()

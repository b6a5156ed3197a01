"""tf_gans.training.replicas: the two row rules, the stateless seeds, the global means."""

import keras
import numpy as np
import tensorflow as tf

from tf_gans import losses
from tf_gans.training import replicas
from tf_gans.training import strategy as strategy_lib


def _per_replica(strategy, fn):
  """fn() on each replica (inside a tf.function) -> list of numpy results, by replica."""
  out = tf.function(lambda: strategy.run(fn))()
  return [np.asarray(v) for v in strategy.experimental_local_results(out)]


def test_seeds_are_the_stacks_formulas():
  step = tf.constant(5, tf.int64)
  np.testing.assert_array_equal(replicas.gan_seed(7, step, 2, 1).numpy(), [7, 5 * 3 + 1])
  np.testing.assert_array_equal(
      replicas.gan_seed(7, step, 2, 1, stream=1).numpy(),
      tf.random.experimental.stateless_fold_in(tf.constant([7, 16], tf.int64), 1).numpy())
  np.testing.assert_array_equal(replicas.pggan_seed(11, tf.Variable(step), 3).numpy(),
                                [11, 5 * 8 + 3])
  assert replicas.gan_seed(7, step, 2, 1).dtype == tf.int64


def test_one_device_takes_every_row():
  x = tf.reshape(tf.range(12), [6, 2])
  np.testing.assert_array_equal(replicas.contiguous_rows(lambda n: x[:n], 6).numpy(), x.numpy())
  np.testing.assert_array_equal(replicas.Shard()(x).numpy(), x.numpy())
  assert replicas.global_mean({'a': 3.0}) == {'a': 3.0}
  np.testing.assert_allclose(losses.global_batch_mean(tf.constant([1.0, 2.0, 6.0])), 3.0)


def test_contiguous_and_strided_rules_under_two_replicas():
  strategy = strategy_lib.get('mirrored')
  assert strategy.num_replicas_in_sync == 2
  x = tf.reshape(tf.range(16, dtype=tf.float32), [8, 2])
  contiguous = _per_replica(strategy, lambda: replicas.contiguous_rows(lambda n: x[:n], 4))
  np.testing.assert_array_equal(contiguous[0], x.numpy()[:4])
  np.testing.assert_array_equal(contiguous[1], x.numpy()[4:])
  strided = _per_replica(strategy, lambda: replicas.Shard()(x))
  np.testing.assert_array_equal(strided[0], x.numpy()[0::2])
  np.testing.assert_array_equal(strided[1], x.numpy()[1::2])


def test_global_means_under_two_replicas():
  strategy = strategy_lib.get('mirrored')
  x = tf.constant([1.0, 2.0, 3.0, 10.0, 20.0, 30.0, 40.0, 50.0])

  def replica():
    rows = replicas.contiguous_rows(lambda n: x[:n], 4)
    return losses.global_batch_mean(rows[:2 + 2 * replicas.Shard().index]), \
        replicas.global_mean(tf.reduce_mean(rows))

  out = tf.function(lambda: strategy.run(replica))()
  batch, terms = (strategy.experimental_local_results(v) for v in out)
  # Replica 0 holds [1, 2], replica 1 [20, 30, 40, 50]: the mean of all six values, not of
  # the two replicas' means; global_mean averages equal shares.
  for v in batch:
    np.testing.assert_allclose(float(v), (1 + 2 + 20 + 30 + 40 + 50) / 6)
  for v in terms:
    np.testing.assert_allclose(float(v), float(tf.reduce_mean(x)))


def test_apply_if_finite_skips_on_every_replica_when_one_is_not_finite():
  strategy = strategy_lib.get('mirrored')
  with strategy.scope():
    var = tf.Variable([1.0, 2.0])
    opt = keras.optimizers.SGD(1.0)
    opt.build([var])

  def step(poison):
    def replica():
      g = tf.ones([2]) * tf.where(tf.equal(replicas.Shard().index, 1), poison, 1.0)
      return replicas.apply_if_finite(opt, [(g, var)])
    out = tf.function(lambda: strategy.run(replica))()
    return {bool(v) for v in strategy.experimental_local_results(out)}  # one decision

  assert step(np.float32(np.nan)) == {False}
  np.testing.assert_array_equal(var.numpy(), [1.0, 2.0])
  assert step(np.float32(1.0)) == {True}
  np.testing.assert_array_equal(var.numpy(), [-1.0, 0.0])  # the replicas' gradients summed

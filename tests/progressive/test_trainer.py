"""ProgressiveTrainer: lod changes inside a phase never retrace; a new phase traces once."""

import numpy as np
import tensorflow as tf
import pytest

from tf_gans.models import pggan
from tf_gans.progressive import trainer as trainer_lib


def test_lod_and_learning_rate_changes_do_not_retrace():
  kw = dict(resolution=16, num_channels=1, fmap_base=16, fmap_max=8, latent_size=8)
  G, Gs = pggan.G_paper(**kw, name='G'), pggan.G_paper(**kw, name='Gs')  # pylint: disable=invalid-name
  trainer = trainer_lib.ProgressiveTrainer(G, pggan.D_paper(**kw), Gs, np.zeros([1, 0], np.float32),
                                           seed=0)
  labels = np.zeros([4, 0], np.float32)
  rng = np.random.default_rng(0)

  def steps(lod, res):
    trainer.set_schedule(lod, 0.001 * (1 + lod), 0.002)
    reals = rng.integers(0, 256, [4, res, res, 1]).astype(np.uint8)
    trainer.d_step(reals, labels, res)
    trainer.g_step(4, res)

  # Working resolution 2**(R - floor(lod)): the fade 4x4 -> 8x8 and the 8x8 phase run at 8,
  # the fade 8x8 -> 16x16 at 16. Every lod of one working resolution shares one trace.
  for lod in (1.75, 1.5, 1.0):
    steps(lod, 8)
  for lod in (0.75, 0.5, 0.25):
    steps(lod, 16)
  d_fns, g_fns = trainer._d_steps, trainer._g_steps  # pylint: disable=protected-access
  assert sorted(d_fns) == [(8, 4), (16, 4)] and sorted(g_fns) == [(8, 4), (16, 4)]
  for fns in (d_fns, g_fns):
    assert all(fn.experimental_get_tracing_count() == 1 for fn in fns.values())
  # And the steps really ran at the lods that were set (G's lod variable follows).
  assert float(G.lod.numpy()) == 0.25 and float(Gs.lod.numpy()) == 0.25


def _trainer(dtype, loss_scaling, strategy=None):
  kw = dict(resolution=8, num_channels=1, fmap_base=16, fmap_max=8, latent_size=8, dtype=dtype)
  import keras  # pylint: disable=import-outside-toplevel
  keras.utils.set_random_seed(3)
  strategy = strategy or tf.distribute.get_strategy()
  with strategy.scope():
    G, Gs, D = (pggan.G_paper(**kw, name='G'), pggan.G_paper(**kw, name='Gs'),  # pylint: disable=invalid-name
                pggan.D_paper(**kw))
  trainer = trainer_lib.ProgressiveTrainer(G, D, Gs, np.zeros([1, 0], np.float32), seed=0,
                                           loss_scaling=loss_scaling, strategy=strategy)
  trainer.set_schedule(0.0, 0.001, 0.001)
  return trainer


def _values(variables):
  return [v.numpy() for v in variables]


def _update_agreement(before, after_a, after_b):
  """Cosine similarity of two updates of the same weights (flattened)."""
  da = np.concatenate([(a - w).ravel() for a, w in zip(after_a, before)])
  db = np.concatenate([(b - w).ravel() for b, w in zip(after_b, before)])
  return float(da @ db / (np.linalg.norm(da) * np.linalg.norm(db)))


@pytest.mark.parametrize('strategy_name', ['default', 'mirrored'])
def test_float16_step_matches_float32_and_an_overflow_skips_only_that_step(strategy_name):
  # mixed_float16 for PGGAN = --dtype=float16: float32 variables, float16 compute, the
  # reference's loss scaling per optimizer. Under the mirrored strategy (2 logical CPUs)
  # the overflow check is global: both replicas skip together.
  from tf_gans.training import strategy as strategy_lib  # pylint: disable=import-outside-toplevel
  strategy = strategy_lib.get(strategy_name)
  reals = np.random.default_rng(1).integers(0, 256, [8, 8, 8, 1]).astype(np.uint8)
  labels = np.zeros([8, 0], np.float32)
  ref, half = _trainer('float32', False), _trainer('float16', True, strategy)
  for a, b in zip(ref.D.trainable_variables, half.D.trainable_variables):
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert b.dtype == 'float32'  # float32 variables, float16 compute
  # The reference starts at 2^64, so its first fp16 steps overflow and are skipped while
  # the scale comes down by 1 each: the weights (and the other optimizer's scale) stay put.
  d0, g0 = _values(half.D.trainable_variables), _values(half.G.trainable_variables)
  out = half.d_step(reals, labels, 8)
  assert not bool(out['D_applied']) and float(half.D_log2_scale.numpy()) == 63.0
  assert float(half.G_log2_scale.numpy()) == 64.0
  out = half.g_step(8, 8)
  assert not bool(out['G_applied']) and float(half.G_log2_scale.numpy()) == 63.0
  assert float(half.D_log2_scale.numpy()) == 63.0
  for v, w in zip(half.D.trainable_variables + half.G.trainable_variables, d0 + g0):
    np.testing.assert_array_equal(v.numpy(), w)
  # At a workable scale the float16 steps agree with float32 (stated tolerances): the loss
  # to 2% of |loss| + 0.01, and the update direction (cosine >= 0.97; Adam's first step
  # is ~10 lr sign(g), so this measures the gradient signs float16 gets right; measured
  # 0.995 / 0.993 for D / G on one device, 0.98 for G on two replicas).
  half.D_log2_scale.assign(12.0)
  half.G_log2_scale.assign(12.0)
  half.step.assign(ref.step)  # same stateless draws
  for step, net in ((lambda t: t.d_step(reals, labels, 8), 'D'), (lambda t: t.g_step(8, 8), 'G')):
    before = _values(getattr(ref, net).trainable_variables)
    got, want = step(half), step(ref)
    assert bool(got[f'{net}_applied']), net
    assert abs(float(got[f'{net}_loss']) - float(want[f'{net}_loss'])) <= (
        0.02 * abs(float(want[f'{net}_loss'])) + 0.01), net
    cosine = _update_agreement(before, _values(getattr(half, net).trainable_variables),
                               _values(getattr(ref, net).trainable_variables))
    assert cosine >= 0.97, (net, cosine)
  assert float(half.D_log2_scale.numpy()) == pytest.approx(12.0005)
  for v in half.D.trainable_variables + half.G.trainable_variables + half.Gs.trainable_variables:
    assert np.all(np.isfinite(v.numpy()))


def _build(strategy, label_size=0, mirror_augment=False, loss_scaling=False, jit_compile=False):
  import keras  # pylint: disable=import-outside-toplevel
  kw = dict(resolution=16, num_channels=3, fmap_base=32, fmap_max=16, latent_size=8,
            label_size=label_size)
  keras.utils.set_random_seed(5)
  with strategy.scope():
    G, Gs, D = (pggan.G_paper(**kw, name='G'), pggan.G_paper(**kw, name='Gs'),  # pylint: disable=invalid-name
                pggan.D_paper(**kw))
    for gs, g in zip(Gs.variables, G.variables):
      gs.assign(g)
  table = np.eye(max(label_size, 1), dtype=np.float32)[:, :label_size]
  return trainer_lib.ProgressiveTrainer(G, D, Gs, table, seed=11, G_smoothing=0.9,
                                        mirror_augment=mirror_augment, strategy=strategy,
                                        loss_scaling=loss_scaling, jit_compile=jit_compile)


@pytest.mark.parametrize('label_size,mirror_augment,jit_compile',
                         [(0, False, False), (3, True, False), (0, False, True)])
def test_mirrored_step_equals_single_device_step(label_size, mirror_augment, jit_compile):
  # Two logical CPUs (tests/conftest.py). The global minibatch of 8 is split 4 + 4
  # (strided rows, so the minibatch-stddev groups of 4 are the single device's); the
  # draws are of the global minibatch; each replica's loss is its share of the global
  # mean. D, G, Gs, the Adam moments and the counters must match one device. With
  # --jit_compile, each replica's forward/backward pass is XLA-compiled.
  from tf_gans.training import strategy as strategy_lib  # pylint: disable=import-outside-toplevel
  mirrored = strategy_lib.get('mirrored')
  assert mirrored.num_replicas_in_sync == 2
  runs = [_build(tf.distribute.get_strategy(), label_size, mirror_augment),
          _build(mirrored, label_size, mirror_augment, jit_compile=jit_compile)]
  rng = np.random.default_rng(2)
  batches = [(rng.integers(0, 256, [8, 16, 16, 3]).astype(np.uint8),
              np.eye(3, dtype=np.float32)[rng.integers(0, 3, 8)][:, :label_size])
             for _ in range(3)]
  outs = []
  for trainer in runs:
    # A fade (lod 0.5 at working resolution 16), then full resolution after a reset.
    trainer.set_schedule(0.5, 0.002, 0.003)
    for reals, labels in batches[:2]:
      trainer.d_step(reals, labels, 16)
      trainer.g_step(8, 16)
    trainer.reset_optimizers()
    trainer.set_schedule(0.0, 0.002, 0.003)
    d_out = trainer.d_step(*batches[2], 16)
    outs.append({k: float(v) for k, v in (d_out | trainer.g_step(8, 16)).items()})
  single, multi = runs
  assert outs[0].keys() == outs[1].keys()
  for k in outs[0]:
    assert outs[1][k] == pytest.approx(outs[0][k], rel=1e-4, abs=1e-5), k
  assert int(multi.step.numpy()) == 6 and int(multi.cur_nimg.numpy()) == 24
  for net in ('G', 'D', 'Gs'):
    for a, b in zip(getattr(single, net).variables, getattr(multi, net).variables):
      np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-4, atol=2e-5, err_msg=a.path)
  for a, b in zip(single.D_opt.variables, multi.D_opt.variables):
    np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-4, atol=1e-6, err_msg=a.path)


def test_trainer_refuses_networks_built_outside_the_strategy():
  from tf_gans.training import strategy as strategy_lib  # pylint: disable=import-outside-toplevel
  kw = dict(resolution=8, num_channels=1, fmap_base=16, fmap_max=8, latent_size=8)
  G, Gs = pggan.G_paper(**kw, name='G'), pggan.G_paper(**kw, name='Gs')  # pylint: disable=invalid-name
  with pytest.raises(ValueError, match="not built under the strategy's scope"):
    trainer_lib.ProgressiveTrainer(G, pggan.D_paper(**kw), Gs, np.zeros([1, 0], np.float32),
                                   seed=0, strategy=strategy_lib.get('mirrored'))


def test_on_replicas_runs_the_replica_part_on_each_replicas_rows_and_returns_it_once():
  # The steps' plumbing: `inputs(shard)` gets each replica's strided rows, the terms come
  # back as means over the global minibatch, and the update applies once with the
  # replicas' gradients summed (zero gradients: Adam leaves D put, its step count moves).
  from tf_gans.training import strategy as strategy_lib  # pylint: disable=import-outside-toplevel
  trainer = _trainer('float32', False, strategy_lib.get('mirrored'))
  x = tf.reshape(tf.range(8, dtype=tf.float32), [8, 1])
  rows = []

  def inputs(shard):
    rows.append(shard(x))
    return (rows[-1],)

  def forward_backward(own):
    zeros = [tf.zeros_like(v) for v in trainer.D.trainable_variables]
    return {'mean': tf.reduce_mean(own), 'first': own[0, 0]}, zeros

  before = _values(trainer.D.trainable_variables)
  terms, applied = tf.function(lambda: trainer._on_replicas(  # pylint: disable=protected-access
      inputs, forward_backward, trainer.D_opt, trainer.D))()
  assert len(rows) == 2 and bool(applied)
  assert float(terms['mean']) == 3.5 and float(terms['first']) == 0.5   # rows 0::2 and 1::2
  assert int(trainer.D_opt.iterations.numpy()) == 1
  for v, w in zip(trainer.D.trainable_variables, before):
    np.testing.assert_array_equal(v.numpy(), w)

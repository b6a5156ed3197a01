"""GAN/RGAN input under several replicas: each worker gathers only its replicas' rows.

The one-device stream is the reference: replica r of R must see its contiguous slice
of every real minibatch of every step (what `GAN.train_step` splits), whatever worker
hosts it, and a worker's stream must hold no other rows."""

import numpy as np
import pytest
import tensorflow as tf

from tf_gans.gan import loop
from tf_gans.training import strategy as strategy_lib

from tests.gan.test_loop import quiet, small_config, weights_of


def old_reorder(batch, chunks, replicas):
  """The previous pipeline's reordering of a whole [chunks*m] batch (replica r's
  contiguous share = its slice of every minibatch): the reference for replica_rows."""
  m = batch.shape[0] // chunks
  x = batch.reshape(chunks, replicas, m // replicas, *batch.shape[1:])
  return x.transpose(1, 0, 2, *range(3, x.ndim)).reshape(batch.shape)


@pytest.mark.parametrize('chunks,m,replicas', [(1, 8, 2), (3, 12, 4), (2, 6, 3)])
def test_replica_rows_are_the_previous_contiguous_shares(chunks, m, replicas):
  batch = np.arange(chunks * m)
  order = [row for r in range(replicas) for row in loop.replica_rows(chunks, m, replicas, r)]
  np.testing.assert_array_equal(batch[order], old_reorder(batch, chunks, replicas))
  assert sorted(order) == list(range(chunks * m))


def _gan_and_source(cfg):
  source = loop.load_data(cfg)
  gan, nets = loop.build_gan(cfg, source)
  return gan, nets, source


@pytest.mark.parametrize('loss,workers,local', [('nonsaturating', 2, 1), ('rasgan', 2, 2),
                                                ('sgan', 4, 1)])
def test_each_worker_stream_holds_exactly_its_replicas_rows(tmp_path, loss, workers, local):
  """Per-worker streams (as tf.distribute's InputContext describes them) vs the rows of
  the one-device stream, from a resumed position; nothing else is gathered."""
  replicas = workers * local
  cfg = small_config(tmp_path, loss=loss, d_steps=2, batch_size=12)
  gan, nets, source = _gan_and_source(cfg)
  gan.step.assign(7)  # a resumed run: the streams start at step 7
  chunks = gan.real_batches_per_step
  steps = 3
  whole = [b.numpy() for b in loop.make_train_dataset(cfg, source, gan, nets.value_range)
           .take(steps)]
  for w in range(workers):
    ctx = tf.distribute.InputContext(num_input_pipelines=workers, input_pipeline_id=w,
                                     num_replicas_in_sync=replicas)
    elements = [e.numpy() for e in loop.worker_dataset(cfg, source, gan, nets.value_range, ctx)
                .take(steps * local)]
    share = chunks * cfg.batch_size // replicas
    for s in range(steps):
      for l in range(local):
        got = elements[s * local + l]
        assert got.shape[0] == share  # only this replica's rows were gathered
        rows = loop.replica_rows(chunks, cfg.batch_size, replicas, w * local + l)
        np.testing.assert_array_equal(got, whole[s][rows], err_msg=f'worker {w} step {s}')


def test_a_mirrored_run_through_the_per_worker_input_equals_the_whole_batch_input(
    tmp_path, monkeypatch):
  """Two replicas on two logical CPUs (tests/conftest.py): the run on
  `distribute_datasets_from_function` (each worker gathers its rows) trains exactly the
  weights of the previous input (the whole batch, reordered, split by Keras).
  (Against one device the mirrored loop differs by float summation order, which Adam
  amplifies near zero gradients; the step equality is tests/test_gan.py's.)"""
  from tf_gans import data as data_lib  # pylint: disable=import-outside-toplevel
  assert strategy_lib.get('mirrored').num_replicas_in_sync == 2
  kw = dict(steps=20, checkpoint_every=10, sample_every=10, loss='rasgan', d_steps=2,
            strategy='mirrored')
  loop.train(small_config(tmp_path / 'per_worker', **kw), log=quiet)

  def whole_batch(cfg, source, gan, value_range, strategy=None):
    chunks = gan.real_batches_per_step
    ds = data_lib.make_dataset(source, cfg.batch_size * chunks, cfg.seed,
                               start_batch=int(gan.step.numpy()), value_range=value_range,
                               sampling=cfg.sampling, minibatch_size=cfg.batch_size)
    order = old_reorder(np.arange(cfg.batch_size * chunks), chunks, 2)
    return ds.map(lambda b: tf.gather(b, order))
  monkeypatch.setattr(loop, 'make_train_dataset', whole_batch)
  loop.train(small_config(tmp_path / 'whole', **kw), log=quiet)
  a, b = weights_of(tmp_path / 'per_worker'), weights_of(tmp_path / 'whole')
  assert a.keys() == b.keys() and len(a) >= 10
  for name in a:
    np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_rows_outside_the_batch_are_refused(tmp_path):
  from tf_gans import data  # pylint: disable=import-outside-toplevel
  source = loop.load_data(small_config(tmp_path))
  with pytest.raises(ValueError, match=r'rows must be offsets in \[0, 4\)'):
    data.make_dataset(source, 4, seed=0, rows=[0, 4])

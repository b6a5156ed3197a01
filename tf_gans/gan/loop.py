"""The GAN / RGAN run: data -> models -> `GAN.fit` in logging intervals (`GanRun`, driven by
the shared template `tf_gans.training.run`).

A run folder (`logdir`) holds:
  run.json            the RunConfig (what `--resume` continues), family gan
  checkpoints/        tf.train.CheckpointManager (G, D, optimizers, step, dropout RNG)
  reals.png           real images, as D sees them
  samples/            step_XXXXXXX.png grids of G on fixed latents
  snapshots/          G every --snapshot_every steps and at the end (for evaluate --run)
  tensorboard/        scalars and image grids
  history.csv         interval means of the metrics
  loss_curves.png     drawn at the end (or at a stop)
  export/generator/   the generator SavedModel (replaced atomically at each end)
"""

import os

import keras
import numpy as np
import tensorflow as tf

from tf_gans import data as data_lib
from tf_gans import models
from tf_gans.gan import callbacks as cb
from tf_gans.gan import execution
from tf_gans.gan.model import GAN
from tf_gans.models import savedmodel
from tf_gans.training import images as images_lib
from tf_gans.training import lifecycle
from tf_gans.training import optimizers
from tf_gans.training import precision
from tf_gans.training import run as run_lib
from tf_gans.training import snapshots as snapshots_lib
from tf_gans.training import strategy as strategy_lib
from tf_gans.training.checkpoint import TrainState


def check_names(cfg):
  """Fails fast, naming the flag, when a registry name is unknown."""
  from tf_gans import losses  # pylint: disable=import-outside-toplevel
  for flag, registry in (('loss', losses.LOSSES), ('optimizer', optimizers.OPTIMIZERS),
                         ('strategy', strategy_lib.STRATEGIES)):
    registry.check_flag(flag, getattr(cfg, flag))
  models.names()  # the model registry fills on first use
  models.MODELS.check_flag('model', cfg.model)
  if models.family(cfg.model) != cfg.FAMILY:
    raise ValueError(f'--model={cfg.model} trains with the {models.family(cfg.model)} stack '
                     f'(python -m tf_gans.train --model={cfg.model} ...), not this GAN / RGAN '
                     f'trainer.')


def load_data(cfg):
  options = {}
  if cfg.image_size:
    options['image_size'] = cfg.image_size
  if cfg.data_dir:
    options['data_dir'] = cfg.data_dir
  if cfg.pad_to:
    options['pad_to'] = cfg.pad_to
  return data_lib.load_source(cfg.dataset, split=cfg.split, **options)


def build_gan(cfg, source):
  """Models from the registry, wrapped in a compiled GAN (call under strategy.scope()).

  With --dtype=float16 / bfloat16 the nets are built under that Keras mixed
  policy (float32 variables, float16/bfloat16 compute); the losses, the gradient
  penalty's norms and the metrics run in float32 (`losses._flat32`). Under
  mixed_float16 each optimizer is a Keras LossScaleOptimizer: a step whose
  scaled gradients overflow is skipped for that optimizer alone and its loss
  scale halved.
  """
  previous = keras.config.dtype_policy()
  keras.config.set_dtype_policy(precision.keras_policy(cfg.dtype))
  try:
    nets = models.build(cfg.model, source.image_shape, pixel_mean=source.pixel_mean(),
                        **cfg.model_options())
  finally:
    keras.config.set_dtype_policy(previous)
  gan = GAN(nets.generator, nets.discriminator, nets.latent_dim, nets.latent_distribution,
            d_steps=cfg.d_steps, simultaneous=cfg.simultaneous, seed=cfg.seed,
            g_reuses_d_z=cfg.pac_g_reuses_d_z)
  per_epoch = max(1, source.num_examples // cfg.batch_size)
  d_opt = optimizers.build(cfg.optimizer, cfg, 'd', updates_per_epoch=per_epoch)
  g_opt = optimizers.build(cfg.optimizer, cfg, 'g', updates_per_epoch=per_epoch)
  if cfg.dtype == 'float16':
    d_opt = keras.optimizers.LossScaleOptimizer(d_opt, name='d_loss_scale')
    g_opt = keras.optimizers.LossScaleOptimizer(g_opt, name='g_loss_scale')
  gan.compile(d_opt, g_opt,
              loss=cfg.loss, gradient_penalty=cfg.gradient_penalty, jit_compile=cfg.jit_compile)
  # Built now: a LossScaleOptimizer's scale (read by the gradient penalty when the step
  # is traced) and the slots a restore fills must exist before the first step.
  for opt, net in ((d_opt, gan.discriminator), (g_opt, gan.generator)):
    if not opt.built:
      opt.build(net.trainable_variables)
  return gan, nets


def replica_rows(chunks, minibatch, replicas, replica):
  """Offsets, within one step's batch of `chunks` minibatches, of the rows replica
  `replica` of `replicas` trains on: its contiguous slice of every minibatch
  (`GAN.train_step` splits its share into `chunks` minibatches), so R replicas
  see exactly one device's minibatches."""
  per = minibatch // replicas
  return [c * minibatch + replica * per + j for c in range(chunks) for j in range(per)]


def _stream(cfg, source, gan, value_range, rows=None):
  """The run's batches (all rows, or `rows` of each) from the current step on."""
  return data_lib.make_dataset(source, cfg.batch_size * gan.real_batches_per_step, cfg.seed,
                               start_batch=int(gan.step.numpy()), value_range=value_range,
                               sampling=cfg.sampling, minibatch_size=cfg.batch_size, rows=rows)


def worker_dataset(cfg, source, gan, value_range, ctx):
  """This worker's stream (`ctx`: its `tf.distribute.InputContext`): one element per
  local replica and step, in replica order (tf.distribute hands a worker's consecutive
  elements to its consecutive replicas), gathering only those rows' images."""
  chunks = gan.real_batches_per_step
  local = ctx.num_replicas_in_sync // ctx.num_input_pipelines
  first = ctx.input_pipeline_id * local
  rows = [row for r in range(first, first + local)
          for row in replica_rows(chunks, cfg.batch_size, ctx.num_replicas_in_sync, r)]
  ds = _stream(cfg, source, gan, value_range, rows=rows)
  return ds.unbatch().batch(len(rows) // local, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def make_train_dataset(cfg, source, gan, value_range, strategy=None):
  """The run's stream from the current step on: one device's batches, or, under a
  strategy with several replicas, a distributed dataset in which each worker
  gathers only the rows of its own replicas (`tf.distribute.InputContext`: worker
  `input_pipeline_id` hosts replicas w*L ... w*L+L-1, each taking its
  `replica_rows`); the positions and the shuffle are the one-device stream's."""
  if strategy is None or strategy.num_replicas_in_sync == 1:
    return _stream(cfg, source, gan, value_range)
  return strategy.distribute_datasets_from_function(
      lambda ctx: worker_dataset(cfg, source, gan, value_range, ctx))


class GanRun:
  """A GAN / RGAN run inside the shared template (`tf_gans.training.run`): data -> nets ->
  `GAN.fit` over whole logging intervals, callbacks for grids, checkpoints, snapshots,
  stops and the divergence check."""
  unit = 'step'

  @classmethod
  def prepare(cls, cfg, resume=False, log=print, data=None):  # pylint: disable=unused-argument
    return cfg, data

  def __init__(self, life, source, log):
    cfg = self.cfg = life.cfg
    self.life, self.log = life, log
    check_names(cfg)
    self.source = source or load_data(cfg)
    execution.check_strategy(cfg.steps_per_execution, life.replicas, cfg.strategy)
    if cfg.batch_size % life.replicas:
      raise ValueError(f'--batch_size={cfg.batch_size} must divide evenly over the '
                       f'{life.replicas} replicas of --strategy={cfg.strategy}.')
    life.make_dirs()
    keras.utils.set_random_seed(cfg.seed)
    with life.strategy.scope():
      self.gan, self.nets = build_gan(cfg, self.source)
      self.checkpointer = TrainState(self.gan, life.out_dir, cfg.keep_checkpoints,
                                     restore_logdir=cfg.logdir)
    self.total = cfg.steps

  def position(self):
    return self.checkpointer.step

  def where(self):
    return f'step {self.checkpointer.step}'

  def started(self, restored):
    cfg, source = self.cfg, self.source
    if restored:
      self.log(f'Resumed {cfg.logdir} at step {self.position()} of {cfg.steps}.')
    elif not self.life.resume:
      self.log(f'New run in {cfg.logdir}: {cfg.model} / {cfg.loss} on {cfg.dataset} '
               f'({source.num_examples} images {source.image_shape}), {cfg.steps} steps.')

  def attach(self, monitor):
    cfg, nets, out_dir = self.cfg, self.nets, self.life.out_dir
    fixed = savedmodel.fixed_latents(nets.latent_distribution, cfg.num_samples, nets.latent_dim,
                                     cfg.seed)
    self.grids = cb.SampleGrids(nets.generator, out_dir, monitor, fixed, nets.value_range,
                                cfg.sample_every)
    self.snaps = snapshots_lib.Snapshots(out_dir, cfg.FAMILY, {'G': nets.generator})
    self.sizer = execution.ExecutionSize(cfg.steps_per_execution, cfg.log_every,
                                         fixed_when_auto=1 if self.life.replicas > 1 else None)
    self.callbacks = [self.sizer, cb.DivergenceGuard(), cb.StopAtSignal(self.life.check_stop),
                      cb.MonitorCallback(monitor), self.grids,
                      cb.CheckpointSaver(self.checkpointer, cfg.checkpoint_every),
                      cb.SnapshotSaver(self.snaps, cfg.snapshot_every)]

  def first_grids(self):
    cfg, source = self.cfg, self.source
    reals = source.images[:cfg.num_samples].astype(np.float32) * source.scale
    self.grids.writer.write(images_lib.to_uint8(reals, (0.0, 1.0)),
                            os.path.join(self.life.out_dir, run_lib.REALS_FILE))
    self.grids.write(0)

  def rounds(self, check_stop):  # pylint: disable=unused-argument  # StopAtSignal checks
    # One Keras epoch per logging interval. Once K is settled and the step is on an
    # interval boundary, the whole intervals run in ONE fit() over one stream (no
    # per-interval dataset, iterator and fit set-up); a partial interval (after a stop,
    # or the run's last) and auto-sizing's measured first interval run alone.
    cfg, state, gan = self.cfg, self.checkpointer, self.gan
    while state.step < cfg.steps:
      n = min(cfg.log_every - state.step % cfg.log_every, cfg.steps - state.step)
      epochs = 1
      if not self.sizer.auto and n == cfg.log_every:
        epochs = (cfg.steps - state.step) // cfg.log_every
      self.sizer.apply(gan, n)
      ds = make_train_dataset(cfg, self.source, gan, self.nets.value_range, self.life.strategy)
      gan.fit(ds, steps_per_epoch=n, epochs=epochs, verbose=0, shuffle=False,
              callbacks=self.callbacks)

  def end(self):
    step = self.position()
    if step % self.cfg.sample_every:
      self.grids.write(step)
    self.snaps.write(step)

  def export(self, out_dir):
    nets = self.nets
    return savedmodel.export_generator(nets.generator, nets.latent_dim, nets.latent_distribution,
                                       nets.value_range, out_dir, overwrite=True)

  def artefacts(self):
    return [('samples', self.grids.dir), ('snapshots', self.snaps.directory)]

  def result(self, **fields):
    return lifecycle.RunResult(self.cfg.logdir, self.position(), **fields)


def train(cfg, resume=False, explicit=None, log=print, data=None):
  """Runs (or resumes) a GAN / RGAN run (`tf_gans.training.run.train` over `GanRun`);
  returns a `RunResult`.

  Raises DivergenceError on a non-finite loss (the last good checkpoint is
  kept). A stop signal (when the caller installed the handlers) saves a
  checkpoint and returns interrupted=True.

  Args:
    explicit: the fields the user set; on resume only these override the saved
      run (None: no field but logdir).
    data: an opened `tf_gans.data` source (default: `cfg.dataset`).
  """
  return run_lib.train(GanRun, cfg, resume, explicit, log, data=data)

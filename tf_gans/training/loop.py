"""The training loop: data -> models -> `GAN.fit` in logging intervals -> artefacts.

A run folder (`logdir`) holds:
  run.json            the RunConfig (what `--resume` continues)
  checkpoints/        tf.train.CheckpointManager (G, D, optimizers, step, dropout RNG)
  samples/            step_XXXXXXX.png grids of G on fixed latents
  tensorboard/        scalars and image grids
  history.csv         interval means of the metrics
  loss_curves.png     drawn at the end
  export/generator/   the generator SavedModel (replaced atomically at each end)
"""

import dataclasses
import os
import sys

import keras
import tensorflow as tf

from tf_gans import data as data_lib
from tf_gans import models
from tf_gans.gan import GAN
from tf_gans.training import callbacks as cb
from tf_gans.training import export as export_lib
from tf_gans.training import optimizers
from tf_gans.training import plots
from tf_gans.training import strategy as strategy_lib
from tf_gans.training.checkpoint import CHECKPOINT_DIR, TrainState
from tf_gans.training.config import RUN_FILE, RunConfig

EXPORT_DIR = os.path.join('export', 'generator')


@dataclasses.dataclass
class RunResult:
  step: int
  logdir: str
  interrupted: bool = False
  export_dir: str = ''


def resolve_config(cfg, resume, explicit=()):
  """The config to run: `cfg` for a new run, the saved one (plus allowed overrides) on resume.

  Args:
    cfg: RunConfig from flags.
    resume: continue the run in cfg.logdir.
    explicit: names of the fields the user set explicitly (only these override
      the saved run on resume).
  Raises:
    FileNotFoundError / ValueError with a message naming the folder or flag.
  """
  run_file = os.path.join(cfg.logdir, RUN_FILE)
  if resume:
    if not os.path.isdir(cfg.logdir):
      raise FileNotFoundError(f'--resume: --logdir={cfg.logdir} does not exist.')
    if not os.path.exists(run_file):
      raise FileNotFoundError(f'--resume: {cfg.logdir} is not a tf_gans run folder (no {RUN_FILE}); '
                              f'point --logdir at the folder a previous tf_gans.train wrote.')
    saved = RunConfig.load(run_file)
    overrides = {k: getattr(cfg, k) for k in explicit if k != 'logdir'}
    return dataclasses.replace(saved.resumed_with(overrides), logdir=cfg.logdir).validate()
  if os.path.exists(run_file):
    raise FileExistsError(f'--logdir={cfg.logdir} holds a run already; pass --resume to continue '
                          f'it, or choose another --logdir.')
  return cfg.validate()


def check_names(cfg):
  """Fails fast, naming the flag, when a registry name is unknown."""
  from tf_gans import losses  # pylint: disable=import-outside-toplevel
  for flag, registry in (('loss', losses.LOSSES), ('optimizer', optimizers.OPTIMIZERS),
                         ('strategy', strategy_lib.STRATEGIES)):
    registry.check_flag(flag, getattr(cfg, flag))
  models.names()  # the model registry fills on first use
  models.MODELS.check_flag('model', cfg.model)


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

  With --mixed_precision the nets are built under that Keras dtype policy
  (float32 variables, float16/bfloat16 compute); the losses, the gradient
  penalty's norms and the metrics run in float32 (`losses._flat32`). Under
  mixed_float16 each optimizer is a Keras LossScaleOptimizer: a step whose
  scaled gradients overflow is skipped for that optimizer alone and its loss
  scale halved.
  """
  previous = keras.config.dtype_policy()
  keras.config.set_dtype_policy(cfg.mixed_precision or 'float32')
  try:
    nets = models.build(cfg.model, source.image_shape, pixel_mean=source.pixel_mean(),
                        **cfg.model_options())
  finally:
    keras.config.set_dtype_policy(previous)
  gan = GAN(nets.generator, nets.discriminator, nets.latent_dim, nets.latent_distribution,
            d_steps=cfg.d_steps, simultaneous=cfg.simultaneous, seed=cfg.seed)
  opt_cfg = optimizers.OptimizerConfig(
      learning_rate=cfg.learning_rate, beta1=cfg.beta1, beta2=cfg.beta2,
      lr_decay_factor=cfg.lr_decay_factor, lr_min=cfg.lr_min,
      momentum_initial=cfg.momentum_initial, momentum_final=cfg.momentum_final,
      momentum_saturate_epoch=cfg.momentum_saturate_epoch,
      updates_per_epoch=cfg.updates_per_epoch or max(1, source.num_examples // cfg.batch_size))
  d_opt_cfg = dataclasses.replace(opt_cfg, learning_rate=cfg.d_learning_rate or cfg.learning_rate)
  d_opt, g_opt = optimizers.build(cfg.optimizer, d_opt_cfg, 'd'), optimizers.build(
      cfg.optimizer, opt_cfg, 'g')
  if cfg.mixed_precision == 'mixed_float16':
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


def _replica_order(chunks, replicas):
  """Reorders a [chunks*m] batch so each replica's contiguous share holds its
  slice of every minibatch: then R replicas see exactly one device's minibatches."""
  def reorder(batch):
    shape = tf.shape(batch)
    per = shape[0] // (chunks * replicas)
    x = tf.reshape(batch, tf.concat([[chunks, replicas, per], shape[1:]], 0))
    x = tf.transpose(x, tf.concat([[1, 0, 2], tf.range(3, tf.rank(x))], 0))
    return tf.reshape(x, shape)
  return reorder


def make_train_dataset(cfg, source, gan, value_range, replicas):
  chunks = gan.real_batches_per_step
  ds = data_lib.make_dataset(source, cfg.batch_size * chunks, cfg.seed,
                             start_batch=int(gan.step.numpy()), value_range=value_range,
                             sampling=cfg.sampling, minibatch_size=cfg.batch_size)
  if replicas > 1:
    ds = ds.map(_replica_order(chunks, replicas))
  return ds


def train(cfg, resume=False, explicit=(), log=print):
  """Runs (or resumes) a training run; returns a RunResult.

  Raises DivergenceError on a non-finite loss (the last good checkpoint is
  kept). KeyboardInterrupt saves a checkpoint and returns interrupted=True.
  """
  # First: MultiWorkerMirroredStrategy must exist before TensorFlow runs any op.
  strategy = strategy_lib.get(cfg.strategy)
  out_dir = strategy_lib.write_dir(strategy, cfg.logdir)  # a scratch folder on non-chiefs
  chief = out_dir == cfg.logdir
  cfg = resolve_config(cfg, resume, explicit) if chief or resume else cfg.validate()
  check_names(cfg)
  source = load_data(cfg)
  replicas = strategy.num_replicas_in_sync
  if cfg.batch_size % replicas:
    raise ValueError(f'--batch_size={cfg.batch_size} must divide evenly over the '
                     f'{replicas} replicas of --strategy={cfg.strategy}.')
  os.makedirs(out_dir, exist_ok=True)
  keras.utils.set_random_seed(cfg.seed)
  with strategy.scope():
    gan, nets = build_gan(cfg, source)
    state = TrainState(gan, out_dir, cfg.keep_checkpoints)
  if resume:
    # Every worker restores the chief's checkpoint.
    step = state.restore(tf.train.latest_checkpoint(os.path.join(cfg.logdir, CHECKPOINT_DIR)))
    log(f'Resumed {cfg.logdir} at step {step} of {cfg.steps}.')
  else:
    if chief:
      cfg.save(os.path.join(cfg.logdir, RUN_FILE))
    log(f'New run in {cfg.logdir}: {cfg.model} / {cfg.loss} on {cfg.dataset} '
        f'({source.num_examples} images {source.image_shape}), {cfg.steps} steps.')

  writer = tf.summary.create_file_writer(os.path.join(out_dir, 'tensorboard'))
  fixed = export_lib.fixed_latents(nets.latent_distribution, cfg.num_samples, nets.latent_dim, cfg.seed)
  grids = cb.SampleGrids(nets.generator, out_dir, writer, fixed, nets.value_range, cfg.sample_every)
  callbacks = [cb.DivergenceGuard(), cb.ScalarLogger(out_dir, writer), grids,
               cb.CheckpointSaver(state, cfg.checkpoint_every)]
  if cfg.progress and chief:
    callbacks.append(cb.ProgressBar(cfg.steps))
  if state.step == 0:
    grids.write(0)

  try:
    while state.step < cfg.steps:
      n = min(cfg.log_every - state.step % cfg.log_every, cfg.steps - state.step)
      ds = make_train_dataset(cfg, source, gan, nets.value_range, replicas)
      gan.fit(ds, steps_per_epoch=n, epochs=1, verbose=0, shuffle=False, callbacks=callbacks)
  except KeyboardInterrupt:
    interrupted = True
    sys.stderr.write('\n')
    path = state.save()
    log(f'Interrupted at step {state.step}; checkpoint {path} written. '
        f'Continue with --resume --logdir={cfg.logdir}.')
    return RunResult(state.step, cfg.logdir, interrupted=True)

  latest = state.manager.latest_checkpoint or ''
  if not latest.endswith(f'ckpt-{state.step}'):
    state.save()
  if state.step % cfg.sample_every:
    grids.write(state.step)
  history = os.path.join(out_dir, 'history.csv')
  if os.path.exists(history):
    plots.plot_loss_curves(history, os.path.join(out_dir, 'loss_curves.png'))
  export_dir = ''
  if cfg.export:
    export_dir = export_lib.export_generator(
        nets.generator, nets.latent_dim, nets.latent_distribution, nets.value_range,
        os.path.join(out_dir, EXPORT_DIR), overwrite=True)
    log(f'Exported the generator to {export_dir}.')
  if not chief:
    strategy_lib.remove_scratch_dir(out_dir)
    return RunResult(state.step, cfg.logdir)
  log(f'Done: step {state.step}; samples in {os.path.join(cfg.logdir, "samples")}.')
  return RunResult(state.step, cfg.logdir, export_dir=export_dir)

"""The PGGAN training loop (reference `train_progressive_gan`), resumable.

Reference: shared/reference/pggan.md section 6. Each round: compute the
schedule from cur_nimg, (re)open the data stream when the data resolution or
minibatch changes, reset Adam when floor(lod) or ceil(lod) changes, then
`minibatch_repeats` x [`D_repeats` x (D step + Gs update), G step] with lod
and learning rates frozen. A tick ends every `tick_kimg`: one log line
(`tick kimg lod minibatch time sec/tick sec/kimg`); every
`image_snapshot_ticks` ticks a grid of Gs images on fixed latents
(`fakesKKKKKK.png`, KKKKKK = kimg), every `network_snapshot_ticks` ticks a
checkpoint. At the end: a checkpoint, `fakes` of the final Gs, and the Gs
SavedModel in `export/generator`.

Checkpoints (`checkpoints/`, written atomically by CheckpointManager) hold G,
D, Gs, both optimizers, the step counter (which seeds every random draw),
cur_nimg, the images read at each lod (the data position) and the last Adam
reset key, so a killed run resumes on the same trajectory.
"""

import dataclasses
import math
import os
import time

import numpy as np
import tensorflow as tf

from tf_gans.models import pggan
from tf_gans.progressive import config as config_lib
from tf_gans.progressive import data as data_lib
from tf_gans.progressive import schedule as schedule_lib
from tf_gans.progressive import trainer as trainer_lib
from tf_gans.training import export as export_lib
from tf_gans.training import images as images_lib
from tf_gans.training import strategy as strategy_lib

CHECKPOINT_DIR = 'checkpoints'


@dataclasses.dataclass
class ProgressiveResult:
  logdir: str
  cur_nimg: int
  lod: float
  interrupted: bool = False
  export_dir: str = None


def grid_size(resolution):
  """The reference's '1080p' grid: (clip(1920 // W, 3, 32), clip(1080 // H, 2, 32))."""
  return int(np.clip(1920 // resolution, 3, 32)), int(np.clip(1080 // resolution, 2, 32))


def save_grid(images_nhwc, path, gw):
  """[-1, 1] images -> rint(x * 127.5 + 127.5) clipped -> PNG grid (reference drange)."""
  x = np.clip(np.rint(np.asarray(images_nhwc, np.float32) * 127.5 + 127.5), 0, 255)
  images_lib.save_png(images_lib.grid(x.astype(np.uint8), cols=gw, pad=0), path)


def snapshot_name(cur_nimg, tick_kimg):
  """fakesKKKKKK.png (kimg, as the reference); sub-kimg ticks add .III (images)."""
  extra = f'.{cur_nimg % 1000:03d}' if tick_kimg < 1 else ''
  return f'fakes{cur_nimg // 1000:06d}{extra}.png'


class Run:
  """Networks, trainer, checkpoint and data state of one run folder.

  Variables live under `strategy`; checkpoints are written to
  `<out_dir>/checkpoints` (the run folder on the chief, a scratch folder on
  other workers) and always restored from the chief's, `<logdir>/checkpoints`.
  """
  # pylint: disable=invalid-name

  def __init__(self, cfg, dataset, strategy=None, out_dir=None):
    self.cfg, self.dataset = cfg, dataset
    self.strategy = strategy or tf.distribute.get_strategy()
    g_kwargs, d_kwargs = cfg.network_kwargs(dataset)
    tf.keras.utils.set_random_seed(cfg.seed)
    with self.strategy.scope():
      self.G = pggan.G_paper(**g_kwargs, name='G')
      self.D = pggan.D_paper(**d_kwargs, name='D')
      self.Gs = pggan.G_paper(**g_kwargs, name='Gs')
      for gs, g in zip(self.Gs.variables, self.G.variables):  # Gs = G.clone()
        gs.assign(g)
      self.data_pos = tf.Variable(tf.zeros([dataset.resolution_log2 + 1], tf.int64),
                                  trainable=False, name='data_pos')
      self.opt_key = tf.Variable([-1, -1], dtype=tf.int64, trainable=False, name='opt_key')
    labels = dataset.labels[:, :self.G.static_kwargs['label_size']]
    self.trainer = trainer_lib.ProgressiveTrainer(
        self.G, self.D, self.Gs, labels, seed=cfg.seed, G_smoothing=cfg.G_smoothing,
        loss_kwargs=dict(wgan_lambda=cfg.wgan_lambda, wgan_epsilon=cfg.wgan_epsilon,
                         wgan_target=cfg.wgan_target, cond_weight=cfg.cond_weight),
        mirror_augment=cfg.mirror_augment, zero_fill_unused=not cfg.reset_opt_for_new_lod,
        loss_scaling=cfg.dtype == 'float16', jit_compile=cfg.jit_compile,
        strategy=self.strategy)
    self.checkpoint = tf.train.Checkpoint(
        G=self.G, D=self.D, Gs=self.Gs, G_opt=self.trainer.G_opt, D_opt=self.trainer.D_opt,
        step=self.trainer.step, cur_nimg=self.trainer.cur_nimg, data_pos=self.data_pos,
        opt_key=self.opt_key,
        **({'D_log2_scale': self.trainer.D_log2_scale, 'G_log2_scale': self.trainer.G_log2_scale}
           if self.trainer.loss_scaling else {}))
    self.manager = tf.train.CheckpointManager(
        self.checkpoint, os.path.join(out_dir or cfg.logdir, CHECKPOINT_DIR), cfg.keep_checkpoints)
    self.restore_dir = os.path.join(cfg.logdir, CHECKPOINT_DIR)

  @property
  def cur_nimg(self):
    return int(self.trainer.cur_nimg.numpy())

  def advance_data(self, lod, num_images):
    """Counts images read from level `lod` (the stream position a resume skips to)."""
    with self.strategy.scope():
      self.data_pos.assign_add(tf.one_hot(lod, self.data_pos.shape[0], dtype=tf.int64) * num_images)

  def save(self):
    for model in (self.G, self.D, self.Gs):
      for v in model.trainable_variables:
        if not np.all(np.isfinite(v.numpy())):
          raise FloatingPointError(f'non-finite weights in {v.path} at {self.cur_nimg} images; '
                                   f'the last checkpoint is kept.')
    return self.manager.save(checkpoint_number=self.cur_nimg)

  def restore(self):
    """Restores the chief's latest checkpoint (on every worker)."""
    path = tf.train.latest_checkpoint(self.restore_dir)
    if not path:
      raise FileNotFoundError(f'--resume: no checkpoint in {self.restore_dir}.')
    check_checkpoint_shapes(path, {'G': self.G, 'D': self.D, 'Gs': self.Gs})
    self.checkpoint.restore(path).assert_existing_objects_matched()
    return path


def check_checkpoint_shapes(path, models):
  """Raises ValueError naming every reference variable whose saved shape differs."""
  saved = dict(tf.train.list_variables(path))
  bad = []
  for net, model in models.items():
    for name, var in model.reference_variables().items():
      if name == 'lod':
        continue
      scope = name.rsplit('/', 1)[0].replace('/', '_')
      kind = 'op' if name.endswith('/weight') else 'bias'
      key = (f'{net}/{kind}_{scope}/{name.rsplit("/", 1)[1]}/.ATTRIBUTES/VARIABLE_VALUE')
      shape = saved.get(key)
      if shape is None:
        bad.append(f'{net}/{name}: not in the checkpoint (ours {tuple(var.shape)})')
      elif tuple(shape) != tuple(var.shape):
        bad.append(f'{net}/{name}: checkpoint {tuple(shape)}, ours {tuple(var.shape)}')
  if bad:
    raise ValueError(f'{path} holds a different architecture: ' + '; '.join(bad[:8])
                     + (f' (and {len(bad) - 8} more)' if len(bad) > 8 else ''))


def train(cfg, resume=False, dataset=None, log=print):
  """Runs (or resumes) progressive training; returns a ProgressiveResult."""
  # pylint: disable=invalid-name
  cfg.validate()
  # First: MultiWorkerMirroredStrategy must exist before TensorFlow runs any op.
  strategy = strategy_lib.get(cfg.strategy)
  replicas = strategy.num_replicas_in_sync
  out_dir = strategy_lib.write_dir(strategy, cfg.logdir)  # a scratch folder on non-chiefs
  chief = out_dir == cfg.logdir
  run_file = os.path.join(cfg.logdir, config_lib.RUN_FILE)
  if resume:
    if not os.path.exists(run_file):
      raise FileNotFoundError(f'--resume: {cfg.logdir} holds no PGGAN run ({config_lib.RUN_FILE}).')
    saved = config_lib.ProgressiveConfig.load(run_file)
    saved_strategy = saved.strategy
    cfg = saved.resumed_with(cfg)
  elif chief and os.path.exists(run_file):
    raise FileExistsError(f'{cfg.logdir} holds a run already; pass --resume to continue it, '
                          f'or choose another --logdir.')
  if dataset is None:
    dataset = data_lib.open_dataset(cfg.dataset, cfg.split, cfg.pad_to, cfg.data_dir)
  cfg.check_schedule(dataset.resolution_log2, cfg.dataset)
  R = dataset.resolution_log2
  os.makedirs(out_dir, exist_ok=True)
  run = Run(cfg, dataset, strategy, out_dir)
  if resume:
    log(f'Resuming from {run.restore()} at {run.cur_nimg / 1000:.1f} kimg.')
    if saved_strategy != cfg.strategy:
      log(f'note: --strategy={cfg.strategy} (the run had {saved_strategy}); a different replica '
          f'count changes the schedule\'s minibatch rounding and per-replica caps.')
  if chief:
    cfg.save(run_file)
  if replicas > 1:
    log(f'--strategy={cfg.strategy}: {replicas} replicas; each minibatch is split evenly '
        f'(--max_minibatch_per_gpu caps each replica\'s share).')

  gw, gh = grid_size(2 ** R)
  grid_latents = np.random.RandomState(cfg.seed).randn(gw * gh, run.G.latent_size).astype(
      np.float32)
  label_size = run.G.static_kwargs['label_size']
  grid_labels = dataset.labels[np.arange(gw * gh) % max(len(dataset.labels), 1), :label_size]

  def snapshot(tag):
    if not chief:
      return
    inputs = [grid_latents, grid_labels] if label_size else grid_latents
    chunks = [run.Gs([c[i:i + 16] for c in inputs] if label_size else inputs[i:i + 16])
              for i in range(0, gw * gh, 16)]
    save_grid(np.concatenate([c.numpy() for c in chunks]), os.path.join(cfg.logdir, tag), gw)

  if run.cur_nimg == 0 and not resume and chief:
    top = dataset.level(0) if hasattr(dataset, 'level') else None
    if top is not None:
      save_grid(top[:gw * gh].astype(np.float32) / 127.5 - 1.0,
                os.path.join(cfg.logdir, 'reals.png'), gw)
    snapshot('fakes000000.png')

  stream, stream_key = None, None
  tick, tick_start_nimg, tick_start_time = 0, run.cur_nimg, time.time()
  seen_resolution = 0
  total_nimg = int(cfg.total_kimg * 1000)
  interrupted = False
  sched = cfg.schedule(run.cur_nimg, R, replicas)
  try:
    while run.cur_nimg < total_nimg:
      sched = cfg.schedule(run.cur_nimg, R, replicas)
      data_lod = R - int(math.log2(sched.resolution))
      if sched.resolution > seen_resolution:
        seen_resolution = sched.resolution
        cfg.check_minibatch(sched, replicas)
        log(f'resolution {sched.resolution}x{sched.resolution} (lod {sched.lod:.2f}, '
            f'minibatch {sched.minibatch}) at {run.cur_nimg / 1000:.1f} kimg', flush=True)
      if stream_key != (data_lod, sched.minibatch):
        stream_key = (data_lod, sched.minibatch)
        skip = int(run.data_pos[data_lod].numpy())
        stream = iter(dataset.images(data_lod, cfg.seed, skip=skip)
                      .batch(sched.minibatch, drop_remainder=True).prefetch(2))
      key = schedule_lib.opt_reset_key(sched.lod)
      if cfg.reset_opt_for_new_lod and tuple(run.opt_key.numpy()) != key:
        run.trainer.reset_optimizers()
        with strategy.scope():
          run.opt_key.assign(key)
      run.trainer.set_schedule(sched.lod, sched.G_lrate, sched.D_lrate)
      for _ in range(cfg.minibatch_repeats):
        for _ in range(cfg.D_repeats):
          reals, labels = next(stream)
          run.trainer.d_step(reals, labels[:, :label_size], sched.resolution)
          run.advance_data(data_lod, sched.minibatch)
        run.trainer.g_step(sched.minibatch, sched.resolution)
      done = run.cur_nimg >= total_nimg
      if run.cur_nimg >= tick_start_nimg + sched.tick_kimg * 1000 or done:
        tick += 1
        now = time.time()
        kimg_done = (run.cur_nimg - tick_start_nimg) / 1000.0
        terms = {k: float(v) for k, v in run.trainer.last_terms.items() if 'applied' not in k}
        log(f'tick {tick:<5d} kimg {run.cur_nimg / 1000:<8.1f} lod {sched.lod:<5.2f} minibatch '
            f'{sched.minibatch:<4d} time {now - tick_start_time:6.1f}s sec/kimg '
            f'{(now - tick_start_time) / max(kimg_done, 1e-9):<7.2f} D_loss '
            f'{terms.get("D_loss", float("nan")):.3f} G_loss {terms.get("G_loss", float("nan")):.3f}',
            flush=True)
        tick_start_nimg, tick_start_time = run.cur_nimg, now
        if tick % cfg.image_snapshot_ticks == 0 or done:
          snapshot(snapshot_name(run.cur_nimg, sched.tick_kimg))
        if tick % cfg.network_snapshot_ticks == 0 or done:
          run.save()
  except KeyboardInterrupt:
    interrupted = True
    run.save()
    log(f'Interrupted: checkpoint written at {run.cur_nimg / 1000:.1f} kimg.', flush=True)
  export_dir = None
  if not interrupted:
    run.save()
    if cfg.export and chief:
      export_dir = export_lib.export_generator(
          run.Gs, run.Gs.latent_size, 'normal', (-1.0, 1.0),
          os.path.join(cfg.logdir, 'export', 'generator'), overwrite=True, label_size=label_size)
  if not chief:
    strategy_lib.remove_scratch_dir(out_dir)
  return ProgressiveResult(cfg.logdir, run.cur_nimg, float(run.G.lod.numpy()), interrupted,
                           export_dir)

"""A progressive GAN in Python: G, D, Gs, their trainer and the data position (`PGGAN`).

The original `train.py` `train_progressive_gan` without its run folder: the
networks (`networks.py` `G_paper` / `D_paper`, Gs = G.clone()), one schedule
round at a time (`TrainingSchedule`, then minibatch_repeats x [D_repeats x
(D step + Gs update), G step] with lod and learning rates frozen), and
sampling Gs. `tf_gans.progressive.loop.ProgressiveRun` runs one inside a run
folder (ticks, grids, checkpoints, snapshots).

Input under several workers (MultiWorkerMirroredStrategy): each worker's
stream holds only the rows of each global minibatch its replicas train on
(`tf_gans.training.replicas.WorkerRows`, selected from the stream's positions
before any image is read), minibatch / W images a step instead of the whole
minibatch; the rows, and so the trajectory, are the one-device run's.

Checkpoints (`checkpoints/`, written atomically by CheckpointManager) hold G,
D, Gs, both optimizers, the step counter (which seeds every random draw),
cur_nimg, the images read at each lod (the data position), the last Adam
reset key and the float16 loss scales, so a killed run resumes on the same
trajectory; a run stopped inside a schedule round (a stop lands after any D or G
step) resumes inside it, its round found from that state (`next_round`), so the
checkpoint needs nothing more.
"""

import math

import numpy as np
import tensorflow as tf

from tf_gans.models import pggan
from tf_gans.progressive import data as data_lib
from tf_gans.progressive import schedule as schedule_lib
from tf_gans.progressive import trainer as trainer_lib
from tf_gans.training import checkpoint as checkpoint_lib
from tf_gans.training import replicas as replicas_lib
from tf_gans.training import snapshots as snapshots_lib


def build_networks(cfg, dataset, dtype=None, with_D=True):
  """(G, D, Gs): `G_paper` / `D_paper` (original `networks.py`) for `dataset`, the one
  place a PGGAN run's nets are built (training, evaluation, export); Gs starts as
  G's copy (original `train.py`: `Gs = G.clone('Gs')`). `dtype` overrides the
  run's compute dtype (evaluation runs in float32); D is None without `with_D`.
  """
  # pylint: disable=invalid-name
  g_kwargs, d_kwargs = cfg.network_kwargs(dataset)
  if dtype:
    g_kwargs['dtype'] = d_kwargs['dtype'] = dtype
  G = pggan.G_paper(**g_kwargs, name='G')
  D = pggan.D_paper(**d_kwargs, name='D') if with_D else None
  Gs = pggan.G_paper(**g_kwargs, name='Gs')
  for gs, g in zip(Gs.variables, G.variables):
    gs.assign(g)
  return G, D, Gs


class PGGAN:
  """A progressive GAN: G, D, Gs, their trainer, and the data position; trains by schedule
  rounds and samples Gs, in Python or inside a run (`ProgressiveRun`).

      pggan = PGGAN(dataset='digits', pad_to=8, fmap_base=64, fmap_max=16, latent_size=16,
                    minibatch_base=8, lod_training_kimg=0.2, lod_transition_kimg=0.2)
      pggan.train_rounds(10)
      images = pggan.generate(16)          # Gs, [-1, 1] NHWC

  Args:
    cfg: a `ProgressiveConfig` (default: one from `overrides`; its logdir may be
      empty outside a run).
    dataset: an opened `tf_gans.progressive.data` dataset, or a dataset spec
      (default: `cfg.dataset`).
    strategy: where the variables live (default: the current strategy).
    out_dir: where checkpoints and snapshots are written (the run folder on the
      chief, a scratch folder on other workers); restores always read the
      chief's, `<cfg.logdir>/checkpoints` (`tf_gans.training.checkpoint.Checkpointer`).
      Without a logdir nothing is written.
  """
  # pylint: disable=invalid-name

  def __init__(self, cfg=None, dataset=None, strategy=None, out_dir=None, **overrides):
    from tf_gans.progressive.config import ProgressiveConfig  # pylint: disable=import-outside-toplevel
    if isinstance(dataset, str):  # a dataset spec ('digits', 'tfrecords:<dir>'), not opened yet
      overrides['dataset'], dataset = dataset, None
    cfg = (cfg or ProgressiveConfig(logdir=overrides.pop('logdir', ''), **overrides)).validate()
    if dataset is None:
      dataset = data_lib.open_run_dataset(cfg)
    self.cfg, self.dataset = cfg, dataset
    self.strategy = strategy or tf.distribute.get_strategy()
    tf.keras.utils.set_random_seed(cfg.seed)
    with self.strategy.scope():
      self.G, self.D, self.Gs = build_networks(cfg, dataset)
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
    self.checkpointer = self.snapshots = None
    # The data stream (not checkpointed: reopened at the data position on resume); under
    # several workers this worker reads only its replicas' rows (`replicas.WorkerRows`).
    self.rows = replicas_lib.WorkerRows.of_strategy(self.strategy)
    self._skips_checked = (0, 0)  # the trainer's skipped updates at the last check_finite
    self._stream, self._stream_key, self._seen_resolution = None, None, 0
    if out_dir or cfg.logdir:
      checkpoint = tf.train.Checkpoint(
          G=self.G, D=self.D, Gs=self.Gs, G_opt=self.trainer.G_opt, D_opt=self.trainer.D_opt,
          step=self.trainer.step, cur_nimg=self.trainer.cur_nimg, data_pos=self.data_pos,
          opt_key=self.opt_key, **self.trainer.loss_scale_variables())
      nets = {'G': self.G, 'D': self.D, 'Gs': self.Gs}
      self.checkpointer = checkpoint_lib.Checkpointer(
          checkpoint, out_dir or cfg.logdir, cfg.logdir, cfg.keep_checkpoints,
          models=tuple(nets.values()), number=lambda: self.cur_nimg, where=self.where,
          check=lambda path: check_checkpoint_shapes(path, nets))
      self.snapshots = snapshots_lib.Snapshots(out_dir or cfg.logdir, cfg.FAMILY,
                                               {'G': self.G, 'Gs': self.Gs})

  def schedule(self):
    """The original `TrainingSchedule` at cur_nimg (lod, minibatch, learning rates, tick)."""
    return self.cfg.schedule(self.cur_nimg, self.dataset.resolution_log2,
                             self.strategy.num_replicas_in_sync)

  def train_rounds(self, rounds=1, log=print):
    """Trains `rounds` schedule rounds from where it is; returns the last loss terms.
    Raises DivergenceError on a non-finite loss (see `check_finite`)."""
    for _ in range(rounds):
      self.train_round(*self.next_round(log), log=log)
      self.check_finite()
    return {k: float(v) for k, v in self.trainer.last_terms.items()}

  @property
  def round_length(self):
    """D and G steps per schedule round: minibatch_repeats x (D_repeats + 1)."""
    return self.cfg.minibatch_repeats * (self.cfg.D_repeats + 1)

  def next_round(self, log=print):
    """(schedule, steps already done) of the round to train next.

    A round starts where the step counter is a multiple of `round_length` (every
    round has that many steps, from step 0), with the schedule at cur_nimg. A
    run stopped inside a round (a stop lands after any D or G step: see
    `train_round`) resumes inside it, at the schedule it had: the lod and learning
    rates were frozen for the round and are in the checkpoint (G.lod, the
    optimizers' learning rates), and its start is cur_nimg less its D steps times
    the minibatch, which is the one of the candidate minibatches whose schedule there
    gives those values. If none does (the replica count changed on --resume, so the
    minibatch did), the rest of the round runs at the schedule of cur_nimg.
    """
    cfg, R = self.cfg, self.dataset.resolution_log2  # pylint: disable=invalid-name
    done = int(self.trainer.step.numpy()) % self.round_length
    if not done:
      return self.schedule(), 0
    per_repeat = cfg.D_repeats + 1
    d_steps = done // per_repeat * cfg.D_repeats + min(done % per_repeat, cfg.D_repeats)
    frozen = [np.float32(v.numpy()) for v in (self.G.lod, self.trainer.G_opt.learning_rate,
                                              self.trainer.D_opt.learning_rate)]
    replicas = self.strategy.num_replicas_in_sync
    found = []
    for minibatch in cfg.minibatches(R, replicas):
      start = self.cur_nimg - d_steps * minibatch
      sched = cfg.schedule(start, R, replicas) if start >= 0 else None
      if sched and sched.minibatch == minibatch and frozen == [
          np.float32(sched.lod), np.float32(sched.G_lrate), np.float32(sched.D_lrate)]:
        found.append(sched)
    if len(found) == 1:
      return found[0], done
    sched = self.schedule()
    log(f'note: the round stopped at {self.where()} ({done} of its {self.round_length} D and G '
        f'steps done) does not fit the schedule now (was the replica count changed?); its '
        f'remaining steps run at the schedule of {self.where()} (lod {sched.lod:.3f}).')
    return sched, done

  def train_round(self, sched, done=0, log=print, check_stop=None):
    """One schedule evaluation (original `train.py` `train_progressive_gan`): the data
    stream at the schedule's resolution, Adam reset when floor(lod) or ceil(lod)
    changed, lod and learning rates set, then minibatch_repeats x [D_repeats x
    (D step + Gs update), G step].

    Args:
      sched: the round's schedule (`next_round`).
      done: steps of this round already trained (a round resumed inside): skipped,
        and its Adam reset is not redone.
      check_stop: called after every D step (with its Gs update and data position)
        and every G step, where the state is consistent: a checkpoint saved there
        resumes on the same trajectory (`next_round`). It raises to stop.
    """
    cfg, R = self.cfg, self.dataset.resolution_log2  # pylint: disable=invalid-name
    data_lod = R - int(math.log2(sched.resolution))
    if sched.resolution > self._seen_resolution:
      self._seen_resolution = sched.resolution
      cfg.check_minibatch(sched, self.strategy.num_replicas_in_sync)
      log(f'resolution {sched.resolution}x{sched.resolution} (lod {sched.lod:.2f}, '
          f'minibatch {sched.minibatch}) at {self.cur_nimg / 1000:.1f} kimg')
    if self._stream_key != (data_lod, sched.minibatch):
      self._stream_key = (data_lod, sched.minibatch)
      self._stream = self._open_stream(data_lod, sched.minibatch)
    key = schedule_lib.opt_reset_key(sched.lod)
    if cfg.reset_opt_for_new_lod and not done and tuple(self.opt_key.numpy()) != key:
      self.trainer.reset_optimizers()
      with self.strategy.scope():
        self.opt_key.assign(key)
    self.trainer.set_schedule(sched.lod, sched.G_lrate, sched.D_lrate)
    label_size = self.G.static_kwargs['label_size']
    position = 0
    for _ in range(cfg.minibatch_repeats):
      for _ in range(cfg.D_repeats):
        position += 1
        if position <= done:
          continue
        reals, labels = next(self._stream)
        self.trainer.d_step(reals, labels[:, :label_size], sched.resolution,
                            num_workers=self.rows.num_workers)
        self.advance_data(data_lod, sched.minibatch)
        if check_stop:
          check_stop()
      position += 1
      if position <= done:
        continue
      self.trainer.g_step(sched.minibatch, sched.resolution)
      if check_stop:
        check_stop()

  def _open_stream(self, lod, minibatch):
    """The stream of level `lod` from its data position: every element with one worker,
    else this worker's (the dataset selects them before reading: `images(..., rows=)`).

    Minibatches start at the position (the stream is reopened there), so element i
    is row i % minibatch of a global minibatch, and `rows` keeps this worker's
    replicas' rows; batched by `rows.share(minibatch)` they are, minibatch by
    minibatch, what the global stream would give them. A dataset without the
    `rows` argument serves one worker only.
    """
    skip = int(self.data_pos[lod].numpy())
    seed, rows = self.cfg.seed, self.rows
    if rows.everything:
      images = self.dataset.images(lod, seed, skip=skip)
    else:
      images = self.dataset.images(lod, seed, skip=skip, rows=rows)
    return iter(images.batch(rows.share(minibatch), drop_remainder=True).prefetch(2))

  def check_finite(self):
    """Stops the run (DivergenceError) on a non-finite float32 step, unless the run skips them.

    The trainer skips every update whose gradients are not all finite, as the original
    `tfutil.py` `Optimizer.apply_updates` does, so the weights stay good. By default a
    non-finite D or G loss, or a float32 update skipped since the last check, stops the run
    (as for every model); with float16 loss scaling a skipped step is expected (the scale
    then drops) and only a non-finite loss at a loss scale below 1 counts. With
    `--skip_nonfinite_steps` nothing stops it: it goes on as the original does, and the
    skipped updates are counted (`ProgressiveTrainer.skipped_updates`).
    """
    skipped = self.trainer.skipped_updates()
    new = [now - before for now, before in zip(skipped, self._skips_checked)]
    self._skips_checked = skipped
    if self.cfg.skip_nonfinite_steps:
      return
    for name in ('D_loss', 'G_loss'):
      value = self.trainer.last_terms.get(name)
      if value is None or math.isfinite(float(value)):
        continue
      if self.trainer.loss_scaling:
        scale = self.trainer.D_log2_scale if name == 'D_loss' else self.trainer.G_log2_scale
        if float(scale.numpy()) >= 0:
          continue
      raise _diverged(name, float(value), self.where())
    if not self.trainer.loss_scaling:
      for net, count in zip('DG', new):
        if count:
          raise _diverged(f'the {net} gradient', f'not finite ({count} {net} update'
                          f'{"s" if count > 1 else ""} skipped)', self.where())

  def generate(self, num, seed=0, net='Gs', labels=None):
    """`num` images of Gs (or 'G') on latents drawn from N(0, I) with `seed`: float32
    NHWC in [-1, 1] (the original's drange), at the full resolution. A conditional
    net takes `labels` [num, label_size] (default: rows of the dataset's labels)."""
    model = self.Gs if net == 'Gs' else self.G
    latents = np.random.RandomState(seed).randn(num, model.latent_size).astype(np.float32)
    label_size = model.static_kwargs['label_size']
    if not label_size:
      return model(latents).numpy()
    if labels is None:
      labels = self.dataset.labels[np.arange(num) % max(len(self.dataset.labels), 1),
                                   :label_size]
    return model([latents, np.asarray(labels, np.float32)]).numpy()

  @property
  def cur_nimg(self):
    return int(self.trainer.cur_nimg.numpy())

  def where(self):
    return f'{self.cur_nimg / 1000:.3f} kimg'

  def advance_data(self, lod, num_images):
    """Counts images read from level `lod` (the stream position a resume skips to)."""
    with self.strategy.scope():
      self.data_pos.assign_add(tf.one_hot(lod, self.data_pos.shape[0], dtype=tf.int64) * num_images)

  def save(self):
    return self.checkpointer.save()

  def restore(self):
    """Restores the chief's latest checkpoint (on every worker); returns its path."""
    return self.checkpointer.restore()


def _diverged(what, value, where):
  """The shared DivergenceError, naming the switch that would have gone on."""
  return checkpoint_lib.DivergenceError(
      f'{checkpoint_lib.divergence(what, value, where)} To skip such updates and go on, as '
      f'the original code does, resume with --skip_nonfinite_steps.')


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


def start_from_pickle(pggan, path, resume_kimg):
  """G, D and Gs from an original network pickle; the schedule continues at `resume_kimg`.

  The original `train.py` `train_progressive_gan(resume_run_id, resume_snapshot,
  resume_kimg)`: the networks are unpickled, cur_nimg = resume_kimg * 1000, and
  training goes on with fresh optimizers (the snapshots hold no optimizer state).
  The architecture must match the run's (checked variable by variable).
  """
  from tf_gans.models import pggan_convert  # pylint: disable=import-outside-toplevel
  pggan_convert.load_pickle_into(path, pggan.G, pggan.D, pggan.Gs)
  with pggan.strategy.scope():
    pggan.trainer.cur_nimg.assign(int(round(resume_kimg * 1000)))

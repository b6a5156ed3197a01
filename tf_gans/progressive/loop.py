"""The PGGAN training loop (original `train.py` `train_progressive_gan`), resumable.

Each round: compute the schedule from cur_nimg (original `TrainingSchedule`),
(re)open the data stream when the data resolution or minibatch changes, reset
Adam when floor(lod) or ceil(lod) changes, then `minibatch_repeats` x
[`D_repeats` x (D step + Gs update), G step] with lod and learning rates
frozen. A tick ends every `tick_kimg`: one log line (`tick kimg lod minibatch
time sec/kimg`) and a row of scalars; every `image_snapshot_ticks` ticks a
grid of Gs images on fixed latents (`fakesKKKKKK.png`, KKKKKK = kimg), every
`network_snapshot_ticks` ticks a checkpoint and a network snapshot (G, Gs:
`snapshots/network-snapshot-KKKKKK`, kept for `evaluate --run`). The progress
line advances after every round, inside a tick.

The run's life around this loop (run file, resume, SIGINT/SIGTERM, divergence,
monitoring, the final checkpoint and Gs export) is the one every model shares:
`tf_gans.training.lifecycle`, `tf_gans.training.monitor`.

Input under several workers (MultiWorkerMirroredStrategy): each worker's
stream holds only the rows of each global minibatch its replicas train on
(`tf_gans.training.replicas.WorkerRows`, selected from the stream's positions
before any image is read), minibatch / W images a step instead of the whole
minibatch; the rows, and so the trajectory, are the one-device run's.

Checkpoints (`checkpoints/`, written atomically by CheckpointManager) hold G,
D, Gs, both optimizers, the step counter (which seeds every random draw),
cur_nimg, the images read at each lod (the data position), the last Adam
reset key and the float16 loss scales, so a killed run resumes on the same
trajectory.
"""

import dataclasses
import math
import os
import time

import numpy as np
import tensorflow as tf

from tf_gans.models import pggan
from tf_gans.models import savedmodel
from tf_gans.progressive import data as data_lib
from tf_gans.progressive import schedule as schedule_lib
from tf_gans.progressive import smoke as smoke_lib
from tf_gans.progressive import trainer as trainer_lib
from tf_gans.training import checkpoint as checkpoint_lib
from tf_gans.training import grids as grids_lib
from tf_gans.training import lifecycle
from tf_gans.training import replicas as replicas_lib
from tf_gans.training import run as run_lib
from tf_gans.training import snapshots as snapshots_lib



def fakes_name(cur_nimg, tick_kimg, net='Gs'):
  """fakesKKKKKK.png (kimg, as the original); sub-kimg ticks add .III (images); G's
  grid (written early, beside Gs's) adds _G."""
  extra = f'.{cur_nimg % 1000:03d}' if tick_kimg < 1 else ''
  return f'fakes{cur_nimg // 1000:06d}{extra}{"_G" if net == "G" else ""}.png'


class SnapshotGrids:
  """Image snapshots of a run: `reals.png`, Gs (and early on G) on fixed latents.

  Gs is G's moving average with beta = G_smoothing per D step, so after n D
  steps it still holds beta**n of its initialisation: for the first
  ln(0.1) / ln(beta) steps (2301 at 0.999) more than a tenth, and its grids
  look like an untrained net. While that holds, G's own grid is written
  beside Gs's (`fakesKKKKKK_G.png`), and the log says so once.
  """

  def __init__(self, run, dataset, resolution_log2, out_dir, monitor):
    self.run, self.dataset, self.out_dir, self.monitor = run, dataset, out_dir, monitor
    self.gw, self.gh = grids_lib.pggan_grid_size(2 ** resolution_log2)
    self.writer = grids_lib.GridWriter(monitor, cols=self.gw, pad=0, min_size=0)
    n = self.gw * self.gh
    self.latents = np.random.RandomState(run.cfg.seed).randn(n, run.G.latent_size).astype(
        np.float32)
    self.label_size = run.G.static_kwargs['label_size']
    self.labels = dataset.labels[np.arange(n) % max(len(dataset.labels), 1), :self.label_size]
    beta = run.cfg.G_smoothing
    self.early_steps = math.ceil(math.log(0.1) / math.log(beta)) if beta > 0 else 0
    self.last_path = None

  def _generate(self, net):
    inputs = [self.latents, self.labels] if self.label_size else self.latents
    chunks = [net([c[i:i + 16] for c in inputs] if self.label_size else inputs[i:i + 16])
              for i in range(0, len(self.latents), 16)]
    return np.concatenate([c.numpy() for c in chunks])

  def write(self, cur_nimg, tick_kimg):
    """fakesKKKKKK.png of Gs (and of G while Gs is mostly its initialisation)."""
    if self.out_dir is None:  # not the chief
      return
    self.last_path = os.path.join(self.out_dir, fakes_name(cur_nimg, tick_kimg))
    self.writer.write(grids_lib.pggan_to_uint8(self._generate(self.run.Gs)), self.last_path,
                      'Gs', cur_nimg / 1000)
    if 0 < int(self.run.trainer.step.numpy()) < 2 * self.early_steps:  # D + G steps
      self.writer.write(grids_lib.pggan_to_uint8(self._generate(self.run.G)),
                        os.path.join(self.out_dir, fakes_name(cur_nimg, tick_kimg, net='G')),
                        'G', cur_nimg / 1000)

  def write_reals(self, seed):
    """reals.png: the first grid of real images of the training stream (any dataset)."""
    if self.out_dir is None:
      return
    n = self.gw * self.gh
    reals = next(iter(self.dataset.images(0, seed).batch(n).take(1)))[0].numpy()  # uint8
    self.writer.write(reals, os.path.join(self.out_dir, run_lib.REALS_FILE))

  def smoothing_note(self, beta, minibatch):
    if not self.early_steps:
      return 'G_smoothing 0: Gs = G.'
    return (f'note: Gs is the moving average of G (G_smoothing {beta:g} per D step): for its '
            f'first {self.early_steps} D steps (~{self.early_steps * minibatch / 1000:.1f} kimg at '
            f'minibatch {minibatch}) it keeps more than 10% of its initialisation and its grids '
            f'look untrained; until then G\'s own grid is written beside them '
            f'(fakesKKKKKK_G.png).')


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
      dataset = data_lib.open_dataset(cfg.dataset, cfg.split, cfg.pad_to, cfg.data_dir,
                                      seed=cfg.seed)
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
    self._rounds_state = None
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

  def train_rounds(self, rounds=1, log=print):
    """Trains `rounds` schedule rounds from where it is (each: the schedule at cur_nimg,
    then minibatch_repeats x [D_repeats x D step, G step]); returns the last loss terms.
    Raises DivergenceError on a non-finite loss."""
    R, replicas = self.dataset.resolution_log2, self.strategy.num_replicas_in_sync
    if self._rounds_state is None:
      self._rounds_state = _LoopState(self.cur_nimg)
    for _ in range(rounds):
      sched = self.cfg.schedule(self.cur_nimg, R, replicas)
      _train_round(self, self.cfg, sched, R, replicas, self._rounds_state, log)
      _check_finite(self)
    return {k: float(v) for k, v in self.trainer.last_terms.items()}

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


class ProgressiveRun:
  """A PGGAN run inside the shared template (`tf_gans.training.run`): schedule rounds of
  D and G steps, ticks, Gs grids and network snapshots (original `train.py`
  `train_progressive_gan`)."""
  # pylint: disable=invalid-name
  unit = 'kimg'

  @classmethod
  def prepare(cls, cfg, resume=False, log=print, smoke=False, resolution=0, data=None):
    """Opens the data of a new run (`--smoke`: tiny nets, built-in photos when absent)."""
    if data is not None:
      return cfg, data
    return smoke_lib.prepare(cfg, resume, log, smoke=smoke, resolution=resolution)

  def __init__(self, life, dataset, log):
    cfg = self.cfg = life.cfg
    self.life, self.log = life, log
    if dataset is None:
      dataset = data_lib.open_dataset(cfg.dataset, cfg.split, cfg.pad_to, cfg.data_dir,
                                      seed=cfg.seed)
    cfg.check_schedule(dataset.resolution_log2, cfg.dataset)
    self.dataset, self.R = dataset, dataset.resolution_log2
    life.make_dirs()
    self.run = PGGAN(cfg, dataset, life.strategy, life.out_dir)
    self.checkpointer = self.run.checkpointer
    self.total = cfg.total_kimg

  def position(self):
    return self.run.cur_nimg / 1000

  def where(self):
    return self.run.where()

  def started(self, restored):
    cfg, run, log, replicas = self.cfg, self.run, self.log, self.life.replicas
    if restored:
      log(f'Resumed {cfg.logdir} at {run.cur_nimg / 1000:g} kimg of {cfg.total_kimg:g}.')
    elif cfg.resume_pkl:
      start_from_pickle(run, cfg.resume_pkl, cfg.resume_kimg)
      log(f'Started from {cfg.resume_pkl} (G, D, Gs) at {cfg.resume_kimg:g} kimg.')
    self.rows = replicas_lib.WorkerRows.of_strategy(self.life.strategy)
    if replicas > 1:
      log(f'--strategy={cfg.strategy}: {replicas} replicas; each minibatch is split evenly '
          f'(--max_minibatch_per_gpu caps each replica\'s share).')
    if not self.rows.everything:
      log(f'{self.rows.num_workers} workers of {self.rows.local_replicas} replicas: this worker '
          f'(index {self.rows.worker}) reads only its replicas\' rows, 1/{self.rows.num_workers} '
          f'of each minibatch.')

  def attach(self, monitor):
    self.monitor = monitor
    self.grids = SnapshotGrids(self.run, self.dataset, self.R,
                               self.life.out_dir if self.life.chief else None, monitor)
    self.state = _LoopState(self.run.cur_nimg, rows=self.rows)

  def first_grids(self):
    cfg = self.cfg
    self.grids.write_reals(cfg.seed)
    self.grids.write(0, 1.0)
    self.log(self.grids.smoothing_note(
        cfg.G_smoothing, cfg.schedule(0, self.R, self.life.replicas).minibatch))

  def rounds(self, check_stop):
    run, cfg, state, monitor = self.run, self.cfg, self.state, self.monitor
    say = lambda text: (monitor.end_line(), self.log(text))  # not onto the progress line
    total_nimg = int(cfg.total_kimg * 1000)
    while run.cur_nimg < total_nimg:
      sched = cfg.schedule(run.cur_nimg, self.R, self.life.replicas)
      _train_round(run, cfg, sched, self.R, self.life.replicas, state, say)
      _check_finite(run)
      check_stop()  # a round is the unit a resume continues from
      monitor.progress(run.cur_nimg / 1000, _progress_terms(run, sched))
      done = run.cur_nimg >= total_nimg
      if run.cur_nimg >= state.tick_start_nimg + sched.tick_kimg * 1000 or done:
        _end_tick(run, cfg, sched, state, monitor, self.grids, done, self.log)

  def end(self):
    self.run.snapshots.write(self.run.cur_nimg / 1000)

  def export(self, out_dir):
    Gs = self.run.Gs
    return savedmodel.export_generator(Gs, Gs.latent_size, 'normal', (-1.0, 1.0), out_dir,
                                       overwrite=True, label_size=Gs.static_kwargs['label_size'])

  def artefacts(self):
    return [('Gs grids', self.grids.last_path), ('network snapshots', self.run.snapshots.directory)]

  def result(self, **fields):
    return lifecycle.RunResult(self.cfg.logdir, int(self.run.trainer.step.numpy()),
                               cur_nimg=self.run.cur_nimg, lod=float(self.run.G.lod.numpy()),
                               **fields)


def train(cfg, resume=False, dataset=None, explicit=None, log=print, **options):
  """Runs (or resumes) progressive training (`tf_gans.training.run.train` over
  `ProgressiveRun`); returns a `RunResult` (with cur_nimg and lod).

  Args:
    dataset: an opened `tf_gans.progressive.data` dataset (default: `cfg.dataset`).
    explicit: the fields the user set; on resume only these override the
      saved run (None: none).
    options: `smoke`, `resolution` (`tf_gans.progressive.smoke`).
  """
  return run_lib.train(ProgressiveRun, cfg, resume, explicit, log, data=dataset, **options)


def start_from_pickle(run, path, resume_kimg):
  """G, D and Gs from an original network pickle; the schedule continues at `resume_kimg`.

  The original `train.py` `train_progressive_gan(resume_run_id, resume_snapshot,
  resume_kimg)`: the networks are unpickled, cur_nimg = resume_kimg * 1000, and
  training goes on with fresh optimizers (the snapshots hold no optimizer state).
  The architecture must match the run's (checked variable by variable).
  """
  from tf_gans.models import pggan_convert  # pylint: disable=import-outside-toplevel
  pggan_convert.load_pickle_into(path, run.G, run.D, run.Gs)
  with run.strategy.scope():
    run.trainer.cur_nimg.assign(int(round(resume_kimg * 1000)))


@dataclasses.dataclass
class _LoopState:
  """What the loop carries between rounds (not checkpointed: rebuilt on resume)."""
  tick_start_nimg: int
  tick: int = 0
  tick_start_time: float = dataclasses.field(default_factory=time.time)
  stream: object = None
  stream_key: tuple = None
  rows: object = None  # this worker's rows of each minibatch (`replicas.WorkerRows`)
  seen_resolution: int = 0


def _train_round(run, cfg, sched, R, replicas, state, log):
  """One schedule evaluation: data stream, Adam reset, then minibatch_repeats x
  [D_repeats x (D step + Gs update), G step] (original `train.py`
  `train_progressive_gan`)."""
  # pylint: disable=invalid-name
  data_lod = R - int(math.log2(sched.resolution))
  if sched.resolution > state.seen_resolution:
    state.seen_resolution = sched.resolution
    cfg.check_minibatch(sched, replicas)
    log(f'resolution {sched.resolution}x{sched.resolution} (lod {sched.lod:.2f}, '
        f'minibatch {sched.minibatch}) at {run.cur_nimg / 1000:.1f} kimg')
  rows = state.rows or replicas_lib.WorkerRows()
  if state.stream_key != (data_lod, sched.minibatch):
    state.stream_key = (data_lod, sched.minibatch)
    skip = int(run.data_pos[data_lod].numpy())
    state.stream = iter(_worker_stream(run.dataset, data_lod, cfg.seed, skip, rows)
                        .batch(rows.share(sched.minibatch), drop_remainder=True).prefetch(2))
  key = schedule_lib.opt_reset_key(sched.lod)
  if cfg.reset_opt_for_new_lod and tuple(run.opt_key.numpy()) != key:
    run.trainer.reset_optimizers()
    with run.strategy.scope():
      run.opt_key.assign(key)
  run.trainer.set_schedule(sched.lod, sched.G_lrate, sched.D_lrate)
  label_size = run.G.static_kwargs['label_size']
  for _ in range(cfg.minibatch_repeats):
    for _ in range(cfg.D_repeats):
      reals, labels = next(state.stream)
      run.trainer.d_step(reals, labels[:, :label_size], sched.resolution,
                         num_workers=rows.num_workers)
      run.advance_data(data_lod, sched.minibatch)
    run.trainer.g_step(sched.minibatch, sched.resolution)


def _worker_stream(dataset, lod, seed, skip, rows):
  """The data stream from position `skip`: every element with one worker, else this
  worker's (the dataset selects them before reading: `images(..., rows=rows)`).

  Minibatches start at `skip` (the stream is reopened at the data position),
  so stream element i is row i % minibatch of a global minibatch, and `rows`
  keeps the rows of this worker's replicas; batched by `rows.share(minibatch)`
  they are, minibatch by minibatch, what the global stream would give them.
  A dataset without the `rows` argument serves one worker only.
  """
  if rows.everything:
    return dataset.images(lod, seed, skip=skip)
  return dataset.images(lod, seed, skip=skip, rows=rows)


def _check_finite(run):
  """A non-finite D or G loss stops the run (DivergenceError, as for every model).

  The trainer skips a step whose gradients are not finite, so the weights stay
  good; with float16 loss scaling a skipped step is expected (the scale then
  drops) and only a non-finite loss at a loss scale below 1 counts.
  """
  for name in ('D_loss', 'G_loss'):
    value = run.trainer.last_terms.get(name)
    if value is None or math.isfinite(float(value)):
      continue
    if run.trainer.loss_scaling:
      scale = run.trainer.D_log2_scale if name == 'D_loss' else run.trainer.G_log2_scale
      if float(scale.numpy()) >= 0:
        continue
    raise checkpoint_lib.divergence(name, float(value), run.where())


def _progress_terms(run, sched):
  terms = run.trainer.last_terms
  out = {'lod': sched.lod}
  for name in ('D_loss', 'G_loss'):
    if name in terms:
      out[name] = float(terms[name])
  return out


def _end_tick(run, cfg, sched, state, monitor, grids, done, log):
  """The original's tick: a log line, scalars, and on their schedules a Gs grid and a checkpoint."""
  state.tick += 1
  now = time.time()
  seconds = now - state.tick_start_time
  kimg_done = (run.cur_nimg - state.tick_start_nimg) / 1000.0
  terms = {k: float(v) for k, v in run.trainer.last_terms.items() if 'applied' not in k}
  scalars = dict(terms, lod=sched.lod, minibatch=sched.minibatch, G_lrate=sched.G_lrate,
                 D_lrate=sched.D_lrate, images_per_sec=kimg_done * 1000 / max(seconds, 1e-9),
                 **run.trainer.loss_scale_values())
  monitor.scalars(run.cur_nimg / 1000, scalars)
  monitor.end_line()
  log(f'tick {state.tick:<5d} kimg {run.cur_nimg / 1000:<8.1f} lod {sched.lod:<5.2f} minibatch '
      f'{sched.minibatch:<4d} time {seconds:6.1f}s sec/kimg {seconds / max(kimg_done, 1e-9):<7.2f} '
      f'D_loss {terms.get("D_loss", float("nan")):.3f} G_loss {terms.get("G_loss", float("nan")):.3f}')
  state.tick_start_nimg, state.tick_start_time = run.cur_nimg, now
  if state.tick % cfg.image_snapshot_ticks == 0 or done:
    grids.write(run.cur_nimg, sched.tick_kimg)
  if state.tick % cfg.network_snapshot_ticks == 0 or done:
    run.save()
    run.snapshots.write(run.cur_nimg / 1000)

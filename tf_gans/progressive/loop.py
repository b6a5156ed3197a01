"""A PGGAN run (original `train.py` `train_progressive_gan`), resumable: `ProgressiveRun`.

Rounds of a `tf_gans.progressive.model.PGGAN` (the schedule at cur_nimg, the
data stream, Adam resets, minibatch_repeats x [D_repeats x (D step + Gs
update), G step]) inside the shared run template (`tf_gans.training.run`).
A tick ends every `tick_kimg`: one log line (`tick kimg lod minibatch
time sec/kimg`) and a row of scalars; every `image_snapshot_ticks` ticks a
grid of Gs images on fixed latents (`fakesKKKKKK.png`, KKKKKK = kimg), every
`network_snapshot_ticks` ticks a checkpoint and a network snapshot (G, Gs:
`snapshots/network-snapshot-KKKKKK`, kept for `evaluate --run`). The progress
line advances after every round, inside a tick. A stop (Ctrl-C, SIGTERM, a stop
request) lands after the D or G step in progress, and the run resumes there.

The run's life around this loop (run file, resume, SIGINT/SIGTERM, divergence,
monitoring, the final checkpoint and Gs export) is the one every model shares:
`tf_gans.training.lifecycle`, `tf_gans.training.monitor`.
"""

import dataclasses
import math
import os
import time

import numpy as np

from tf_gans.models import savedmodel
from tf_gans.progressive import data as data_lib
from tf_gans.progressive import model as model_lib
from tf_gans.progressive import smoke as smoke_lib
from tf_gans.training import grids as grids_lib
from tf_gans.training import lifecycle
from tf_gans.training import run as run_lib


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
      dataset = data_lib.open_run_dataset(cfg)
    cfg.check_schedule(dataset.resolution_log2, cfg.dataset)
    self.dataset, self.R = dataset, dataset.resolution_log2
    life.make_dirs()
    self.run = model_lib.PGGAN(cfg, dataset, life.strategy, life.out_dir)
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
      model_lib.start_from_pickle(run, cfg.resume_pkl, cfg.resume_kimg)
      log(f'Started from {cfg.resume_pkl} (G, D, Gs) at {cfg.resume_kimg:g} kimg.')
    rows = run.rows
    if replicas > 1:
      log(f'--strategy={cfg.strategy}: {replicas} replicas; each minibatch is split evenly '
          f'(--max_minibatch_per_gpu caps each replica\'s share).')
    if not rows.everything:
      log(f'{rows.num_workers} workers of {rows.local_replicas} replicas: this worker '
          f'(index {rows.worker}) reads only its replicas\' rows, 1/{rows.num_workers} '
          f'of each minibatch.')

  def attach(self, monitor):
    self.monitor = monitor
    self.grids = SnapshotGrids(self.run, self.dataset, self.R,
                               self.life.out_dir if self.life.chief else None, monitor)
    self.ticks = _Ticks(self.run.cur_nimg, skipped_start=self.run.trainer.skipped_updates())

  def first_grids(self):
    cfg = self.cfg
    self.grids.write_reals(cfg.seed)
    self.grids.write(0, 1.0)
    self.log(self.grids.smoothing_note(
        cfg.G_smoothing, cfg.schedule(0, self.R, self.life.replicas).minibatch))

  def rounds(self, check_stop):
    """Schedule rounds to total_kimg; a stop lands after any D or G step (`PGGAN.train_round`),
    a state a resume continues from on the same trajectory (`PGGAN.next_round`)."""
    run, cfg, ticks, monitor = self.run, self.cfg, self.ticks, self.monitor
    say = lambda text: (monitor.end_line(), self.log(text))  # not onto the progress line

    def at_step():
      try:
        check_stop()
      except KeyboardInterrupt:  # a diverged state is never saved: that error goes first
        run.check_finite()
        raise

    total_nimg = int(cfg.total_kimg * 1000)
    while run.cur_nimg < total_nimg:
      sched, done = run.next_round(say)
      run.train_round(sched, done, say, check_stop=at_step)
      run.check_finite()
      monitor.progress(run.cur_nimg / 1000, _progress_terms(run, sched, cfg))
      done = run.cur_nimg >= total_nimg
      if run.cur_nimg >= ticks.tick_start_nimg + sched.tick_kimg * 1000 or done:
        _end_tick(run, cfg, sched, ticks, monitor, self.grids, done, self.log)

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


@dataclasses.dataclass
class _Ticks:
  """The original's ticks (not checkpointed: a resumed run starts a new tick)."""
  tick_start_nimg: int
  tick: int = 0
  tick_start_time: float = dataclasses.field(default_factory=time.time)
  skipped_start: tuple = (0, 0)  # the trainer's (D, G) skipped updates at the tick's start


def _progress_terms(run, sched, cfg):
  """lod and the last losses; the updates skipped since this process started, under
  --skip_nonfinite_steps or once there are any."""
  terms = run.trainer.last_terms
  out = {'lod': sched.lod}
  for name in ('D_loss', 'G_loss'):
    if name in terms:
      out[name] = float(terms[name])
  skipped = run.trainer.skipped_updates()
  if cfg.skip_nonfinite_steps or any(skipped):
    out.update(D_skipped=skipped[0], G_skipped=skipped[1])
  return out


def _end_tick(run, cfg, sched, state, monitor, grids, done, log):
  """The original's tick: a log line, scalars, and on their schedules a Gs grid and a checkpoint."""
  state.tick += 1
  now = time.time()
  seconds = now - state.tick_start_time
  kimg_done = (run.cur_nimg - state.tick_start_nimg) / 1000.0
  terms = {k: float(v) for k, v in run.trainer.last_terms.items() if 'applied' not in k}
  skipped = run.trainer.skipped_updates()
  d_skipped, g_skipped = (a - b for a, b in zip(skipped, state.skipped_start))
  scalars = dict(terms, lod=sched.lod, minibatch=sched.minibatch, G_lrate=sched.G_lrate,
                 D_lrate=sched.D_lrate, images_per_sec=kimg_done * 1000 / max(seconds, 1e-9),
                 D_skipped=d_skipped, G_skipped=g_skipped, **run.trainer.loss_scale_values())
  monitor.scalars(run.cur_nimg / 1000, scalars)
  monitor.end_line()
  log(f'tick {state.tick:<5d} kimg {run.cur_nimg / 1000:<8.1f} lod {sched.lod:<5.2f} minibatch '
      f'{sched.minibatch:<4d} time {seconds:6.1f}s sec/kimg {seconds / max(kimg_done, 1e-9):<7.2f} '
      f'D_loss {terms.get("D_loss", float("nan")):.3f} G_loss {terms.get("G_loss", float("nan")):.3f}'
      + (f' skipped D {d_skipped} G {g_skipped}' if d_skipped or g_skipped else ''))
  state.tick_start_nimg, state.tick_start_time = run.cur_nimg, now
  state.skipped_start = skipped
  if state.tick % cfg.image_snapshot_ticks == 0 or done:
    grids.write(run.cur_nimg, sched.tick_kimg)
  if state.tick % cfg.network_snapshot_ticks == 0 or done:
    run.save()
    run.snapshots.write(run.cur_nimg / 1000)

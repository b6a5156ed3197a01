"""The one run template every family goes through.

    result = run.train(GanRun, cfg, resume, explicit, log)        # GAN / RGAN
    result = run.train(ProgressiveRun, cfg, resume, explicit, log)  # PGGAN

  prepare      the family opens its data and settles the config (before any
               TensorFlow op of the run: `Lifecycle` makes the strategy first)
  Lifecycle    run file, resume policy, chief / scratch folders, signals
  preflight    every folder the run writes is tried for a write (`preflight`)
  trainer      nets, optimizers and checkpointable state under the strategy
  free space   the disk must hold one more checkpoint (`check_free_space`)
  start        restore the latest checkpoint, or begin (first grids on the chief)
  Monitor      progress line, TensorBoard, history.csv, loss curves
  rounds       the family's body: its rounds, calling `check_stop` where the
               state is consistent (GAN: Keras `fit` executions; PGGAN: schedule rounds)
  end          last grids and snapshot, final checkpoint, SavedModel, "Done: ..."

Under several workers the stages from the trainer to the final save run under
`Lifecycle.watch_peers` (a lost worker -> `WorkerLostError`, exit 3, as in training),
and a stop signal during the set-up stops every worker at its end (`Lifecycle.setup_done`).
A stop during the chief's export raises `StoppedDuringExport`, naming the final checkpoint
and the export command (`lifecycle` module docstring, "Outside the training steps").

A trainer class (the protocol; `tf_gans.gan.loop.GanRun` and
`tf_gans.progressive.loop.ProgressiveRun` implement it):

  prepare(cfg, resume, log, **options) -> (cfg, data)   classmethod; data may be None
  __init__(life, data, log)      builds under life.strategy.scope(), calls life.make_dirs()
  checkpointer                   `tf_gans.training.checkpoint.Checkpointer`
  unit, total                    'step' / 'kimg' and the run's length in that unit
  position(), where()            how far it is (a number; 'step 600' / '1.200 kimg')
  started(restored)              logs how the run starts (new, resumed, from a pickle)
  attach(monitor)                its grids and snapshot writers report to the monitor
  first_grids()                  the grids of a new run (chief only)
  rounds(check_stop)             trains to `total`
  end()                          last grids and snapshot of a finished run
  export(out_dir) -> path        its generator as a SavedModel
  artefacts()                    (what, path) pairs for the closing line
  result(**fields)               the `lifecycle.RunResult`
"""

import os
import shlex
import shutil

from tf_gans import atomic
from tf_gans.training import checkpoint as checkpoint_lib
from tf_gans.training import lifecycle
from tf_gans.training import monitor as monitor_lib
from tf_gans.training import snapshots as snapshots_lib

EXPORT_DIR = os.path.join('export', 'generator')
REALS_FILE = 'reals.png'
SAMPLES_DIR = 'samples'  # GAN / RGAN sample grids (`tf_gans.gan.callbacks.SampleGrids`)


class NotEnoughSpaceError(OSError, ValueError):
  """The disk cannot hold one more checkpoint of the run (a ValueError: exit 2 in the CLI)."""


def run_folders(out_dir, export):
  """[(folder, what)] a run writes in `out_dir`, the run folder first."""
  folders = [(out_dir, 'the run folder'),
             (os.path.join(out_dir, checkpoint_lib.CHECKPOINT_DIR), 'its checkpoints folder'),
             (os.path.join(out_dir, snapshots_lib.SNAPSHOT_DIR), 'its snapshots folder'),
             (os.path.join(out_dir, SAMPLES_DIR), 'its samples folder'),
             (os.path.join(out_dir, monitor_lib.TENSORBOARD_DIR), 'its TensorBoard folder')]
  if export:
    folders.append((os.path.join(out_dir, os.path.dirname(EXPORT_DIR)), 'its export folder'))
  return folders


def preflight(out_dir, logdir, export):
  """Raises `atomic.NotWritableError` naming the first folder of the run that cannot be
  written (tried with a file, see `atomic.unwritable`), before anything is trained."""
  for folder, what in run_folders(out_dir, export):
    why = atomic.unwritable(folder)
    if why:
      raise atomic.NotWritableError(
          f'--logdir={logdir}: {what} cannot be written: {why}. Nothing was trained; make it '
          f'writable (a folder, not a file) or choose another --logdir.')


def check_free_space(checkpointer, logdir):
  """Raises `NotEnoughSpaceError` when the checkpoints' disk cannot hold one more
  checkpoint (the size of the state's variables): the first save would fail."""
  need = checkpointer.size_estimate()
  folder = checkpointer.directory
  while not os.path.isdir(folder) and os.path.dirname(folder) != folder:
    folder = os.path.dirname(folder)
  free = shutil.disk_usage(folder).free
  if free < need:
    raise NotEnoughSpaceError(
        f'--logdir={logdir}: {free / 1e6:.1f} MB free on the disk of {folder}, less than one '
        f'checkpoint of this run ({need / 1e6:.1f} MB). Nothing was trained; free some space '
        f'or choose another --logdir.')


def train(trainer_class, cfg, resume=False, explicit=None, log=print, **options):
  """Runs (or resumes) the run `cfg` describes with `trainer_class`; returns a `RunResult`.

  Raises DivergenceError on a non-finite loss (the last good checkpoint is
  kept); `atomic.NotWritableError` / `NotEnoughSpaceError` before training when
  a folder of the run cannot be written or its disk cannot hold a checkpoint;
  `checkpoint.SaveError` when a save fails (the previous checkpoint is kept);
  `checkpoint.DamagedCheckpointError` on resume when no checkpoint is intact.
  SIGINT / SIGTERM (when the caller installed the handlers) save a checkpoint
  and return interrupted=True.

  Args:
    explicit: the fields the user set; on resume only these override the
      saved run (None: none but logdir).
    options: the family's own options (`Family.cli_options`, e.g. PGGAN's
      `smoke`), or a ready `data` object.
  """
  cfg, data = trainer_class.prepare(cfg, resume=resume, log=log, **options)
  life = lifecycle.Lifecycle(cfg, resume, explicit, log)
  try:
    return _train(life, trainer_class, data, log)
  finally:
    life.release_signals()


def _train(life, trainer_class, data, log):
  """`train` once the Lifecycle (and so the strategy) exists. Under several workers every
  stage that may run a collective (the nets' first broadcast, the restore, the first
  grids, the final save) turns a lost worker into `WorkerLostError` as training does
  (`Lifecycle.watch_peers`), and a stop signal during the set-up stops every worker at
  its end (`Lifecycle.setup_done`)."""
  preflight(life.out_dir, life.logdir, life.cfg.export and life.chief)
  trainer = life.watch_peers(lambda: trainer_class(life, data, log), 'the set-up')
  check_free_space(trainer.checkpointer, life.logdir)
  restored = life.watch_peers(lambda: life.start(trainer.checkpointer), 'the restore',
                              trainer.checkpointer)
  trainer.started(restored is not None)
  if life.setup_done(trainer.checkpointer, trainer.where):
    return trainer.result(interrupted=True)
  cfg = life.cfg
  monitor = monitor_lib.Monitor(life.out_dir, trainer.total, trainer.unit,
                                start=trainer.position(),
                                show_progress=cfg.progress and life.chief,
                                plain_every_s=cfg.progress_every_s)
  trainer.attach(monitor)
  if trainer.position() == 0 and life.chief:
    life.watch_peers(trainer.first_grids, 'the first grids', trainer.checkpointer,
                     monitor=monitor)
  try:
    if life.train(lambda: trainer.rounds(life.check_stop), trainer.checkpointer, trainer.where,
                  monitor):
      return trainer.result(interrupted=True)
    trainer.end()
    export = lambda: _export(trainer, life)
    export_dir = life.finish(trainer.checkpointer, trainer.where, monitor,
                             export=export if cfg.export else None,
                             artefacts=trainer.artefacts())
  except checkpoint_lib.SaveError:
    monitor.end_line()  # the message starts on a line of its own, not after a \r progress line
    kept = trainer.checkpointer.latest()  # ckpt-N: the step, or PGGAN's images shown
    number = int(kept.rsplit('-', 1)[1]) if kept else 0
    monitor.truncate(number / 1000 if trainer.unit == 'kimg' else number)
    raise
  return trainer.result(export_dir=export_dir)


class StoppedDuringExport(KeyboardInterrupt):
  """A stop (Ctrl-C, SIGTERM) during the final export: the run itself is finished and its
  final checkpoint saved; only the SavedModel is missing. Its message says how to write it."""


def _export(trainer, life):
  """The chief's final export of the generator (no collective: the other workers have
  ended by then). A stop during it keeps the final checkpoint, and the message names it
  and the command that exports it (`python -m tf_gans.export --logdir=...`)."""
  out_dir = os.path.join(life.logdir, EXPORT_DIR)
  try:
    return trainer.export(out_dir)
  except KeyboardInterrupt as e:
    path = life.latest_checkpoint(trainer.checkpointer)
    kept = (f'the final checkpoint, {life.checkpoint_name(path)}, is kept' if path
            else 'no checkpoint is kept')
    name = e.args[0] if e.args and isinstance(e.args[0], str) else 'KeyboardInterrupt'
    raise StoppedDuringExport(
        f'Stopped by {name} during the export of the generator (training had finished at '
        f'{trainer.where()}); {kept}. Write the SavedModel with: python -m tf_gans.export '
        f'--logdir={shlex.quote(str(life.logdir))} --out={shlex.quote(out_dir)} '
        f'--overwrite') from None

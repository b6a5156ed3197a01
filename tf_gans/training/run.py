"""The one run template every family goes through.

    result = run.train(GanRun, cfg, resume, explicit, log)        # GAN / RGAN
    result = run.train(ProgressiveRun, cfg, resume, explicit, log)  # PGGAN

  prepare      the family opens its data and settles the config (before any
               TensorFlow op of the run: `Lifecycle` makes the strategy first)
  Lifecycle    run file, resume policy, chief / scratch folders, signals
  trainer      nets, optimizers and checkpointable state under the strategy
  start        restore the latest checkpoint, or begin (first grids on the chief)
  Monitor      progress line, TensorBoard, history.csv, loss curves
  rounds       the family's body: its rounds, calling `check_stop` where the
               state is consistent (GAN: Keras `fit` executions; PGGAN: schedule rounds)
  end          last grids and snapshot, final checkpoint, SavedModel, "Done: ..."

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

from tf_gans.training import lifecycle
from tf_gans.training import monitor as monitor_lib

EXPORT_DIR = os.path.join('export', 'generator')
REALS_FILE = 'reals.png'


def train(trainer_class, cfg, resume=False, explicit=None, log=print, **options):
  """Runs (or resumes) the run `cfg` describes with `trainer_class`; returns a `RunResult`.

  Raises DivergenceError on a non-finite loss (the last good checkpoint is
  kept); SIGINT / SIGTERM (when the caller installed the handlers) save a
  checkpoint and return interrupted=True.

  Args:
    explicit: the fields the user set; on resume only these override the
      saved run (None: none but logdir).
    options: the family's own options (`Family.cli_options`, e.g. PGGAN's
      `smoke`), or a ready `data` object.
  """
  cfg, data = trainer_class.prepare(cfg, resume=resume, log=log, **options)
  life = lifecycle.Lifecycle(cfg, resume, explicit, log)
  trainer = trainer_class(life, data, log)
  trainer.started(life.start(trainer.checkpointer) is not None)
  cfg = life.cfg
  monitor = monitor_lib.Monitor(life.out_dir, trainer.total, trainer.unit,
                                start=trainer.position(),
                                show_progress=cfg.progress and life.chief,
                                plain_every_s=cfg.progress_every_s)
  trainer.attach(monitor)
  if trainer.position() == 0 and life.chief:
    trainer.first_grids()
  if life.train(lambda: trainer.rounds(life.check_stop), trainer.checkpointer, trainer.where,
                monitor):
    return trainer.result(interrupted=True)
  trainer.end()
  export = lambda: trainer.export(os.path.join(life.logdir, EXPORT_DIR))
  export_dir = life.finish(trainer.checkpointer, trainer.where, monitor,
                           export=export if cfg.export else None,
                           artefacts=trainer.artefacts())
  return trainer.result(export_dir=export_dir)

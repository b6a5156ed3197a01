"""The life of a run, shared by every trainer: open, restore, train, stop, finish.

    run = Lifecycle(cfg, resume, explicit, log)   # strategy first, run file, folders
    ... build nets and a Checkpointer under run.strategy.scope() ...
    run.start(checkpointer)                      # restore, or write the run file
    result = run.train(body, checkpointer, where, monitor)  # SIGINT/SIGTERM -> save
    run.finish(checkpointer, where, monitor, export=...)    # save, plot, export, 'Done: ...'

What it guarantees for every model (GAN, RGAN, PGGAN):
- one run file (`tf_gans.training.runfile`): `--resume --logdir=DIR` alone
  continues any run; only flags the user typed may override it;
- chief and scratch folders (`tf_gans.training.strategy.write_dir`): only the
  chief writes the run folder, every worker restores the chief's checkpoint;
- SIGINT and SIGTERM save a checkpoint first, then say how to resume; a run
  stopped before its first checkpoint resumes from the beginning;
- a non-finite loss or weight raises `DivergenceError` (never saved), which
  the CLI turns into one error line and exit status 1;
- the end: a final checkpoint, the loss-curve PNG, the generator SavedModel
  and one "Done: ..." line naming what was written where.
"""

import dataclasses
import os

from tf_gans.training import interrupts
from tf_gans.training import runfile
from tf_gans.training import strategy as strategy_lib


@dataclasses.dataclass
class RunResult:
  """How a run ended. `step` counts the trainer's updates; PGGAN also has cur_nimg and lod."""
  logdir: str
  step: int
  interrupted: bool = False
  export_dir: str = ''
  cur_nimg: int = None
  lod: float = None


class Lifecycle:
  """One run folder through one training process.

  Args:
    cfg: the run's config (a `RunFileMixin` dataclass with `logdir`, `strategy`).
    resume: continue the run saved in cfg.logdir.
    explicit: names of the fields the user gave (None: see `runfile.resolve`).
    log: print-like callable for the run's messages.
  """

  def __init__(self, cfg, resume=False, explicit=None, log=print):
    # First: MultiWorkerMirroredStrategy must exist before TensorFlow runs any op. On
    # --resume the run's own strategy, unless the user typed another one.
    name = cfg.strategy
    saved = runfile.saved_value(cfg.logdir, 'strategy') if resume else None
    if saved and 'strategy' not in (explicit or ()):
      name = saved
    self.strategy = strategy_lib.get(name)
    self.out_dir = strategy_lib.write_dir(self.strategy, cfg.logdir)  # scratch on non-chiefs
    self.chief = self.out_dir == cfg.logdir
    self.resume = resume
    self.cfg = runfile.resolve(cfg, resume, explicit) if self.chief or resume else cfg.validate()
    self.log = log
    if saved and self.cfg.strategy != saved:
      log(f'note: --strategy={self.cfg.strategy} (the run had {saved}); a different replica '
          f'count changes how each minibatch is split (PGGAN: the schedule\'s minibatch '
          f'rounding and per-replica caps).')
    self.restored = None
    self.stop_request = interrupts.StopRequest()

  @property
  def logdir(self):
    return self.cfg.logdir

  @property
  def replicas(self):
    return self.strategy.num_replicas_in_sync

  def make_dirs(self):
    os.makedirs(self.out_dir, exist_ok=True)

  def start(self, checkpointer):
    """Restores the chief's latest checkpoint on --resume; (re)writes the run file.

    Returns the restored checkpoint's path, or None (a new run, or a resumed
    run that stopped before its first checkpoint: it starts from the beginning).
    """
    if self.resume:
      path = checkpointer.latest()
      if path:
        checkpointer.restore(path)
        self.restored = path
      else:
        self.log(f'No checkpoint in {checkpointer.restore_dir} yet (the run stopped before its '
                 f'first one): starting it from the beginning with its saved configuration.')
    if self.chief:
      self.cfg.save(os.path.join(self.logdir, runfile.RUN_FILE))
      for name, _ in runfile.LEGACY_RUN_FILES:  # the run file now has its one name
        legacy = os.path.join(self.logdir, name)
        if os.path.exists(legacy):
          os.remove(legacy)
    return self.restored

  def check_stop(self):
    """Raises `Interrupted` if SIGINT / SIGTERM arrived; call where the state is consistent."""
    self.stop_request.check()

  def train(self, body, checkpointer, where, monitor=None):
    """Runs `body()`, which calls `check_stop()` at its consistent points; a stop signal
    then saves a checkpoint and reports how to resume. Returns True if stopped."""
    with interrupts.stop_signals(self.stop_request):
      try:
        body()
      except KeyboardInterrupt as e:
        signal_name = e.args[0] if isinstance(e, interrupts.Interrupted) else 'SIGINT'
        if getattr(e, 'forced', False):  # a second signal: the state may be mid-update
          path = checkpointer.latest() or 'none yet'
          what = f'the last checkpoint ({path}) is kept, nothing newer was saved'
        else:
          with interrupts.shielded():  # a further signal must not cut the save short
            path = checkpointer.save()
          what = f'checkpoint {path} written'
        if monitor is not None:
          monitor.close()
        self.log(f'Stopped by {signal_name} at {where()}; {what}. '
                 f'Continue with: {runfile.resume_command(self.logdir)}')
        self.cleanup()
        return True
    return False

  def finish(self, checkpointer, where, monitor, export=None, artefacts=()):
    """The end of a run that reached its length.

    Args:
      checkpointer: saves the final state (unless its latest checkpoint is it).
      where: callable -> 'step 6000' / '72.0 kimg'.
      monitor: its close() draws the loss curves.
      export: callable() -> the SavedModel folder, or None (not exported).
      artefacts: (what, path) pairs to name in the summary, e.g. ('samples', ...).

    Returns the export folder ('' if none).
    """
    checkpoint = checkpointer.save_unless_saved()
    curves = monitor.close()
    export_dir = export() if export and self.chief else ''
    if self.chief:
      written = [('checkpoint', checkpoint)] + list(artefacts)
      if curves:
        written.append(('loss curves', curves))
      if export_dir:
        written.append(('generator SavedModel', export_dir))
      self.log(f'Done: {where()}; written to {self.logdir}: '
               + ', '.join(f'{what} {os.path.relpath(path, self.logdir)}'
                           for what, path in written if path) + '.')
    self.cleanup()
    return export_dir or ''

  def cleanup(self):
    """Removes a non-chief's scratch folder."""
    if not self.chief:
      strategy_lib.remove_scratch_dir(self.out_dir)

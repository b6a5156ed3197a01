"""The life of a run, shared by every trainer: open, restore, train, stop, finish.

    run = Lifecycle(cfg, resume, explicit, log)   # strategy first, run file, folders
    ... build nets and a Checkpointer under run.strategy.scope() ...
    run.start(checkpointer)                      # restore, or write the run file
    result = run.train(body, checkpointer, where, monitor)  # a stop request -> save
    run.finish(checkpointer, where, monitor, export=...)    # save, plot, export, 'Done: ...'

What it guarantees for every model (GAN, RGAN, PGGAN):
- one run file (`tf_gans.training.runfile`): `--resume --logdir=DIR` alone
  continues any run; only flags the user typed may override it;
- chief and scratch folders (`tf_gans.training.strategy.write_dir`): only the
  chief writes the run folder, every worker restores the chief's checkpoint;
- a stop request (`interrupts.StopRequest`) saves a checkpoint at the loop's
  next consistent point (a GAN execution, a PGGAN D or G step), then says how to
  resume. Its first signal is answered at once, by a thread (`interrupts.stop_signals`):
  "SIGINT: stopping at the next consistent point (about N s), ...", N from the time
  between the loop's recent consistent points; a second signal stops without saving
  and the message names the checkpoint kept (file and position). A run stopped before its
  first checkpoint resumes from the beginning. Who sets it is the caller's
  choice (`interrupts`): the command lines take SIGINT / SIGTERM
  (`interrupts.take_stop_signals`); library calls and in-process tests install
  no handler, so Ctrl-C is a KeyboardInterrupt that reaches the caller and
  saves nothing (see "A plain KeyboardInterrupt" below); they stop a run
  cleanly by setting its request (`interrupts.stop_with`);
- under several workers (MultiWorkerMirroredStrategy) a stop signal on any worker
  stops all of them after the same step, and each saves (see "Faults under several
  workers" below); a lost worker ends the others with `WorkerLostError`, one message
  naming the lost task, the last checkpoint and the resume command;
- a non-finite loss or weight raises `DivergenceError` (never saved), which
  the CLI turns into one error line and exit status 1;
- the end: a final checkpoint, the loss-curve PNG, the generator SavedModel
  and one "Done: ..." line naming what was written where.

A plain KeyboardInterrupt (Ctrl-C where no handler was taken, or one raised by
code) saves nothing: `train` closes the monitor, names the last checkpoint and
the resume command, and lets it propagate. It can arrive at any Python line:
between the D and G updates of a PGGAN round, or of a GAN step under
`run_eagerly`, in a callback that writes a grid, or in the middle of a
checkpoint write, and the lifecycle cannot tell these from a consistent point,
so a checkpoint taken then could resume to another run than the one stopped.
Resuming continues from the last periodic checkpoint instead. A second signal
under the handlers (a forced stop) is the same case, except that the command
line then exits 130 as after the first.

Faults under several workers. A stop signal reaches one process, but
MultiWorkerMirroredStrategy's collectives need every worker at every step: a
worker that stops alone leaves the others blocked in their next collective
(with TF 2.21 they waited for good). So `check_stop` is, under several workers,
an all-reduce of every worker's stop request (`strategy.StopVote`): all workers
learn of a signal at the same consistent point, stop after the same step and
save together; each names the worker that got the signal. TensorFlow's own
`tf.distribute.experimental.PreemptionCheckpointHandler` does the same through
the coordination service's key-value store, but it was not a fit: it counts its
own steps in a variable it adds to the checkpoint, takes over the SIGTERM handler
(not SIGINT), saves through its own CheckpointManager (its own non-chief folders)
and ends the process through `TerminationConfig.exit_fn` (default
`sys.exit(42)`) rather than returning to the loop; its per-step call is
`save_checkpoint_if_preempted`, deprecated. The vote costs one scalar-sized
collective per step (GAN, one per execution of the train function; PGGAN, one per
D or G step); one process makes no extra collective.

A worker that dies (SIGKILL) or freezes (SIGSTOP) makes the others' next
collective fail: gRPC cannot reach it, or the coordination service misses its
heartbeats. `train` and `finish` turn those errors (`strategy.peer_failure`)
into `interrupts.WorkerLostError`: nothing is saved (the collectives are broken
for the rest of the process: "Restart your program to reset"), the message
names the lost task when the error text does, the last checkpoint and the
command that resumes it on every worker. The coordination service that
MultiWorkerMirroredStrategy starts (TF 2.21, its default heartbeat timeout) covers
every way of losing a worker measured on two loopback workers: SIGKILL of either
(the survivor's exit 6-10 s later), SIGSTOP of a worker (12 s) or of the chief,
which hosts the service (30 s: the heartbeat RPC times out), and a worker's own
exit in the middle of the run, e.g. a second Ctrl-C (25 s); so no collective
timeout (`tf.distribute.experimental.CommunicationOptions(timeout_seconds=...)`)
is set, which would also have to outlast the chief's extra work between steps.

Outside the training steps (issue 25 item 8). The template (`tf_gans.training.run`)
runs every stage that may hold a collective under `watch_peers` too: the set-up (the
nets' variables are broadcast from worker 0 as they are made), the restore, the first
grids and the final save; a worker lost there ends the others with the same
`WorkerLostError` ("lost worker 1 (...) during the set-up ..."; before the run file is
written it says that there is nothing to resume yet). The restore itself reads files
only, so a worker lost at it is found at the next collective, `setup_done`'s vote.
Under the command lines' handlers a stop signal during a worker's set-up (once its
strategy exists) only sets its request: a worker that ended alone there would leave the
others blocked in their first collective until its heartbeats were missed. (Before,
SIGINT did so, and SIGTERM was not seen at all: making the strategy starts TensorFlow's
coordination agent, whose preemption notifier takes SIGTERM at the C level until the
lifecycle sets its handlers again.) `setup_done`, the first point all workers reach
after the restore, votes, and all of them stop there together, saving nothing (nothing
was trained) and naming the checkpoint kept; exit 130. The final export runs on the chief
alone, after the last collective (the final save): the other workers have ended by
then, so a stop during it concerns the chief only; it keeps the final checkpoint and
names the `python -m tf_gans.export` command that writes the SavedModel
(`run.StoppedDuringExport`). Not covered: a worker lost or stopped before its
strategy exists (the family's `prepare`, e.g. PGGAN's data; TensorFlow's start-up):
the others then wait in the strategy's creation for it to join (how long is
TensorFlow's cluster registration timeout; not measured here).
"""

import contextlib
import dataclasses
import gc
import os
import time

import tensorflow as tf

from tf_gans.training import checkpoint as checkpoint_lib
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
    stop: the run's `interrupts.StopRequest` (None: `interrupts.current_stop_request()`,
      the caller's `stop_with` block's or a new one).
    signals: whether SIGINT / SIGTERM set it while the run trains (None: whether this
      process called `interrupts.take_stop_signals()`, as the command lines do).
  """

  def __init__(self, cfg, resume=False, explicit=None, log=print, stop=None, signals=None):
    # First: MultiWorkerMirroredStrategy must exist before TensorFlow runs any op. On
    # --resume the run's own strategy, unless the user typed another one.
    name = cfg.strategy
    saved = runfile.saved_value(cfg.logdir, 'strategy') if resume else None
    if saved and 'strategy' not in (explicit or ()):
      name = saved
    self.log = log
    self.stop_request = stop if stop is not None else interrupts.current_stop_request()
    self.signals = interrupts.stop_signals_taken() if signals is None else signals
    self._signal_block = None  # the stop handlers held from the set-up on (several workers)
    try:
      self.strategy = strategy_lib.get(name)
      self.out_dir = strategy_lib.write_dir(self.strategy, cfg.logdir)  # scratch on non-chiefs
      self.chief = self.out_dir == cfg.logdir
      self.resume = resume
      self.cfg = (runfile.resolve(cfg, resume, explicit) if self.chief or resume
                  else cfg.validate())
      if saved and self.cfg.strategy != saved:
        log(f'note: --strategy={self.cfg.strategy} (the run had {saved}); a different replica '
            f'count changes how each minibatch is split (PGGAN: the schedule\'s minibatch '
            f'rounding and per-replica caps).')
      self.restored = None
      self.multi_worker = isinstance(self.strategy, tf.distribute.MultiWorkerMirroredStrategy)
      self._vote = strategy_lib.StopVote(self.strategy) if self.multi_worker else None
      self._pace = _Pace()
      if self.signals and self.multi_worker:
        # From here to the end of the set-up a stop signal only sets the request:
        # `setup_done` stops all workers. Not before the strategy exists: making it
        # starts TensorFlow's coordination service agent, whose preemption notifier
        # takes SIGTERM at the C level (a Python handler set before would never run).
        self._take_signals()
        self.stop_request.announce = self._announce_in_setup
    except BaseException:
      self.release_signals()
      raise

  def _take_signals(self):
    """SIGINT / SIGTERM set the stop request from now until `release_signals` (idempotent)."""
    if self._signal_block is None:
      self._signal_block = contextlib.ExitStack()
      self._signal_block.enter_context(interrupts.stop_signals(self.stop_request))

  def release_signals(self):
    """Gives SIGINT / SIGTERM back to the handlers the process had before (idempotent)."""
    block, self._signal_block = self._signal_block, None
    if block is not None:
      block.close()
    if self.stop_request.announce == self._announce_in_setup:
      self.stop_request.announce = None

  def _announce_in_setup(self, name):
    self.log(f'{name}: stopping every worker at the end of the set-up (the first point all of '
             f'them reach); a second signal stops this worker at once and the others as lost.')

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

  def setup_done(self, checkpointer, where):
    """The end of the set-up (after `start`): returns True if the run stops here.

    Under several workers a stop signal that came during the set-up (the data, the nets,
    the restore) only set the request (`_take_signals`): a worker that ended alone there
    would leave the others blocked in their first collective until its heartbeats were
    missed. Here, the first point every worker reaches after the restore, all of them vote
    (`strategy.StopVote`) and stop together, saving nothing (nothing was trained: the
    checkpoint they restored, if any, is the run's state), each saying what is kept.
    One process has no vote: its set-up stops as a KeyboardInterrupt (`tf_gans.train`).
    """
    if not self.multi_worker:
      return False
    try:
      self.watch_peers(lambda: self.stop_request.check(self._vote),
                       f'the set-up, before {where()}', checkpointer)
    except interrupts.Interrupted as e:
      if e.forced:
        raise
      origin = f' on {e.origin}' if e.origin else ''
      path = self.restored or self.latest_checkpoint(checkpointer)
      kept = (f'the last checkpoint, {self.checkpoint_name(path)}, is kept' if path
              else 'no checkpoint was written yet (a resume starts from the beginning)')
      self.log(f'Stopped by {e.args[0]}{origin} during the set-up, at {where()}; nothing was '
               f'trained, so nothing was saved: {kept}. Continue with: '
               f'{runfile.resume_command(self.logdir)} on every worker')
      self.cleanup()
      return True
    return False

  def latest_checkpoint(self, checkpointer=None):
    """The newest intact checkpoint of the run (None: none yet, or none can be read)."""
    try:
      if checkpointer is not None:
        return checkpointer.latest()
      return checkpoint_lib.newest_intact(
          os.path.join(self.logdir, checkpoint_lib.CHECKPOINT_DIR))[0]
    except Exception:  # pylint: disable=broad-except  # e.g. every checkpoint damaged
      return None

  def check_stop(self):
    """Raises `Interrupted` if a stop was requested; call where the state is consistent.

    Under several workers every worker must call it at the same points (it is a
    collective): all of them then raise together when any of them got a signal.
    The time between calls gives the "(about N s)" of a stop's first message.
    """
    self._pace.tick()
    self.stop_request.check(self._vote)

  def _announcement(self, name, checkpointer):
    """The first stop request's message: when the next consistent point comes, and what
    a second signal would keep."""
    when = self._pace.describe()
    latest = getattr(getattr(checkpointer, 'manager', None), 'latest_checkpoint', None)
    kept = f'the last checkpoint, {self.checkpoint_name(latest)},' if latest else (
        'the last checkpoint (none yet)')
    by = 'Ctrl-C' if name == 'SIGINT' else 'signal'
    again = (f'; a second {by} stops at once without saving: {kept} is kept'
             if name != interrupts.REQUESTED else '')
    return (f'{name}: stopping at the next consistent point ({when}), then saving a '
            f'checkpoint{again}.')

  def checkpoint_name(self, path):
    """'checkpoints/ckpt-5000 (5 kimg)' / '.../ckpt-600 (step 600)' (`checkpoint_name`)."""
    return checkpoint_name(path, getattr(self.cfg, 'FAMILY', ''))

  def watch_peers(self, work, stage, checkpointer=None, where=None, monitor=None):
    """Returns `work()`; under several workers a lost peer's collective errors ->
    `WorkerLostError`, raised outside the handler: the TensorFlow error's traceback
    (its frames hold TensorFlow's reduce thread pools) is then freed here, not at
    interpreter exit, where a pool's __del__ prints "Exception ignored ... Bad file
    descriptor".

    Args:
      stage: what the run was doing, for the message when `where` is None ('the set-up').
      checkpointer: names the last checkpoint (None: the newest intact one of the run folder).
      where: callable -> 'step 600' / '1.200 kimg' (None: `stage`).
      monitor: closed first (its progress line ended).
    """
    lost = None
    try:
      return work()
    except (tf.errors.OpError, ValueError, RuntimeError) as e:
      error = strategy_lib.peer_error_in(e) if self.multi_worker else None
      if error is None:
        raise
      lost = self._worker_lost(error, checkpointer, where, stage, monitor)
      del error  # holds the traceback too (`e` itself is dropped at the block's end)
    gc.collect()
    raise lost

  def _worker_lost(self, error, checkpointer, where, stage, monitor):
    lost = strategy_lib.lost_task(error, self.strategy)
    try:
      at = f'at {where()}' if where is not None else f'during {stage}'
    except Exception:  # pylint: disable=broad-except  # the runtime may refuse reads now
      at = 'at its current step'
    if monitor is not None:
      try:
        monitor.close()
      except Exception:  # pylint: disable=broad-except
        pass
    self.release_signals()
    self.cleanup()
    detail = error_detail(error)
    path = self.latest_checkpoint(checkpointer)
    saved = (f'the last checkpoint is {path} (nothing newer was saved)' if path
             else 'no checkpoint was written yet (a resume starts from the beginning)')
    if runfile.locate(self.logdir)[0]:
      again = f'again with: {runfile.resume_command(self.logdir)}'
    else:  # lost before `start` wrote the run file: there is nothing to resume
      saved = 'nothing was written yet (no run file: there is nothing to resume)'
      again = 'with the command that started them'
    me = strategy_lib.task(self.strategy)
    return interrupts.WorkerLostError(
        f'{"lost " + lost if lost else "lost another worker"} {at} '
        f'(this is {strategy_lib.describe_task(*me)}; {type(error).__name__}: {detail}). '
        f'Stopped this worker; {saved}. Once every worker can run, start all of them {again}')

  def train(self, body, checkpointer, where, monitor=None):
    """Runs `body()`, which calls `check_stop()` at its consistent points; a stop request
    then saves a checkpoint and reports how to resume. Returns True if stopped.

    SIGINT / SIGTERM set the request only under `self.signals`. A plain KeyboardInterrupt
    saves nothing and propagates (see the module docstring).

    Raises:
      WorkerLostError: under several workers, another worker was lost.
      KeyboardInterrupt: not through the stop request; the last checkpoint is kept.
    """
    # Under several workers the handlers were taken at the set-up already (`_take_signals`).
    handlers = (interrupts.stop_signals(self.stop_request)
                if self.signals and self._signal_block is None else contextlib.nullcontext())

    def announce(name):
      if monitor is not None:
        monitor.end_line()  # not onto a \r progress line
      self.log(self._announcement(name, checkpointer))
    self.stop_request.announce = announce
    try:
      with handlers:
        try:
          self.watch_peers(body, 'training', checkpointer, where, monitor)
        except interrupts.Interrupted as e:
          self._stopped(e, e.args[0], checkpointer, where, monitor)
          return True
        except KeyboardInterrupt as e:
          self._stopped(e, 'KeyboardInterrupt', checkpointer, where, monitor)
          raise
    finally:
      self.stop_request.announce = None
      self.release_signals()
    return False

  def _stopped(self, error, name, checkpointer, where, monitor):
    """Saves (a stop through the request) or keeps the last checkpoint, then says so.

    Under the handlers the whole stop (the save, the loss curves, the message) is
    shielded: a further signal waits for it, so it cannot end the process between
    the checkpoint and the line that names it.
    """
    with interrupts.shielded() if self.signals else contextlib.nullcontext():
      consistent = isinstance(error, interrupts.Interrupted) and not error.forced
      if consistent:
        path = checkpointer.save()
        what = f'checkpoint {path} written'
        if self.multi_worker:
          what += ' (every worker saved at this step)'
      else:  # a forced stop or a KeyboardInterrupt: the state may be mid-update
        try:
          path = checkpointer.latest()
        except Exception:  # pylint: disable=broad-except  # e.g. every checkpoint damaged
          path = None
        what = (f'the last checkpoint, {self.checkpoint_name(path)}, is kept; nothing newer '
                f'was saved' if path else 'no checkpoint was written yet (nothing is kept; a '
                'resume starts from the beginning)')
      if monitor is not None:
        monitor.close()
      origin = getattr(error, 'origin', None)
      by = f'{name} on {origin}' if origin else name
      if getattr(error, 'forced', False):
        by = f'a second {by}'
      self.log(f'Stopped by {by} at {where()}; {what}. '
               f'Continue with: {runfile.resume_command(self.logdir)}'
               + (' on every worker' if self.multi_worker else ''))
      self.cleanup()

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
    checkpoint = self.watch_peers(checkpointer.save_unless_saved, 'the final save',
                                  checkpointer, where, monitor)
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


def error_detail(error, limit=300):
  """A TensorFlow error's message on one line, at most `limit` characters, without the
  graph's "Detected at node ... defined at (most recent call last):" frames (a
  `tf.function`'s collective), gRPC's details and the "previous operation" note."""
  text = str(error.message if hasattr(error, 'message') else error)
  kept = [line for line in text.splitlines()
          if line.strip() and not line[:1].isspace()
          and not line.startswith(('Graph execution error', 'Detected at node', 'File "'))]
  detail = ' '.join(' '.join(kept).split())
  detail = detail.split(' Additional GRPC error information')[0]
  detail = detail.split(' The error could be from a previous operation')[0]
  return detail[:limit] + '...' if len(detail) > limit else detail


def checkpoint_name(path, family):
  """'checkpoints/ckpt-5000 (5 kimg)' / '.../ckpt-600 (step 600)': the file and its
  position (PGGAN, `family` 'pggan', numbers checkpoints by images shown, the others by step)."""
  base = os.path.basename(path)
  try:
    number = int(base.rsplit('-', 1)[1])
  except (IndexError, ValueError):
    return path
  at = f'{number / 1000:g} kimg' if family == 'pggan' else f'step {number}'
  return f'{path} ({at})'


def kept_checkpoint(logdir):
  """'the latest checkpoint, <path> (step 600), is kept' for the run in `logdir` (read only:
  `checkpoint.newest_intact`; what a stop outside the training steps keeps), or what holds
  when there is none."""
  try:
    family = runfile.locate(logdir)[1]
    path = checkpoint_lib.newest_intact(os.path.join(logdir, checkpoint_lib.CHECKPOINT_DIR))[0]
  except Exception:  # pylint: disable=broad-except  # an unreadable folder or run file
    family, path = None, None
  if path:
    return f'the latest checkpoint, {checkpoint_name(path, family)}, is kept'
  return 'no checkpoint was written yet'


class _Pace:
  """How often the loop reaches a consistent point (`Lifecycle.check_stop`): an average of
  the recent intervals, for the first stop message's estimate."""

  def __init__(self):
    self.last, self.interval = None, None

  def tick(self):
    now = time.monotonic()
    if self.last is not None:
      gap = now - self.last
      self.interval = gap if self.interval is None else 0.7 * self.interval + 0.3 * gap
    self.last = now

  def describe(self):
    """'about 3 s'; or why no estimate holds (no step finished yet, a slow step)."""
    if self.last is None:
      return 'after the first step, which is still running'
    since = time.monotonic() - self.last
    if self.interval is None:
      return f'after the step in progress, running for {since:.0f} s'
    left = self.interval - since
    if left > 0:
      return f'about {max(1, round(left))} s'
    return (f'when the step in progress ends: it has run {since:.0f} s, longer than the usual '
            f'{self.interval:.1f} s')

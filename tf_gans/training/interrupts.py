"""Stopping a run cleanly: SIGINT and SIGTERM, and output streams that may die.

`stop_signals(request)` turns SIGINT (Ctrl-C) and SIGTERM (how schedulers and
`kill` stop a job) into a `StopRequest` that the training loop honours at its
next consistent point by raising `Interrupted` (a KeyboardInterrupt); the
loops catch KeyboardInterrupt, save a checkpoint first and only then print,
so a run stopped either way resumes exactly where it stopped
(`tf_gans.training.lifecycle.Lifecycle.train` does the catching and saving).

`protect_output()` makes a dead stdout / stderr harmless: a run piped into
`tee` or `head`, or started from an ssh session that closed, would otherwise
die with BrokenPipeError at its next progress line (Python ignores SIGPIPE and
raises instead). After the first failed write the stream is pointed at
/dev/null, at the file-descriptor level too, so TensorFlow's C++ logging and
the interpreter's final flush stay quiet and training, checkpoints and the
export go on.
"""

import contextlib
import errno
import logging
import os
import signal
import sys
import threading


class Interrupted(KeyboardInterrupt):
  """A stop signal arrived (SIGINT or SIGTERM). `forced`: a second one, raised at once,
  possibly in the middle of an update, so the loop must not save that state. `origin`:
  under several workers, where the signal arrived ('worker 1'; None: this process)."""

  def __init__(self, signal_name, forced=False, origin=None):
    super().__init__(signal_name)
    self.forced = forced
    self.origin = origin


class WorkerLostError(RuntimeError):
  """Another worker of a multi-worker run died, froze or left: the collectives are
  broken and the process must end (TensorFlow: 'Restart your program to reset').
  The message names the lost task (when the error said), the last checkpoint and the
  resume command; `tf_gans.cli` exits with `WORKER_LOST_EXIT_STATUS`."""


class SafeStream:
  """A text stream whose writes never raise; it goes silent once its reader is gone."""

  def __init__(self, stream):
    self._stream = stream
    self.dead = False

  def _die(self):
    self.dead = True
    try:
      fd = self._stream.fileno()
      devnull = os.open(os.devnull, os.O_WRONLY)
      os.dup2(devnull, fd)  # later writes, from Python or C++, go nowhere
      os.close(devnull)
    except (OSError, ValueError, AttributeError):
      pass

  def write(self, text):
    if self.dead:
      return len(text)
    try:
      return self._stream.write(text)
    except (OSError, ValueError) as e:  # EPIPE, EIO, a closed file
      if isinstance(e, OSError) and e.errno not in (errno.EPIPE, errno.EIO, errno.EBADF, None):
        raise
      self._die()
      return len(text)

  def flush(self):
    if self.dead:
      return
    try:
      self._stream.flush()
    except (OSError, ValueError) as e:
      if isinstance(e, OSError) and e.errno not in (errno.EPIPE, errno.EIO, errno.EBADF, None):
        raise
      self._die()

  def isatty(self):
    try:
      return not self.dead and self._stream.isatty()
    except (OSError, ValueError):
      return False

  def __getattr__(self, name):
    return getattr(self._stream, name)


def protect_output():
  """Replaces sys.stdout / sys.stderr with SafeStreams (idempotent)."""
  for name in ('stdout', 'stderr'):
    stream = getattr(sys, name)
    if stream is not None and not isinstance(stream, SafeStream):
      setattr(sys, name, SafeStream(stream))
  # A logging handler whose stream died must not print a traceback about it.
  logging.raiseExceptions = False
  point_absl_at_stderr()


def point_absl_at_stderr():
  """absl's Python log handler keeps the stderr of its import; give it today's."""
  from absl import logging as absl_logging  # pylint: disable=import-outside-toplevel
  absl_logging.get_absl_handler().python_handler.stream = sys.stderr


class StopRequest:
  """SIGINT / SIGTERM as a request that the training loop honours at its next safe point.

  The first signal only sets the request; the loop calls `check()` where its
  state is consistent (the GAN after a step, PGGAN after a schedule round), which
  raises `Interrupted` there, and the loop saves that state. A second signal
  raises at once (an impatient user still gets out) as a forced stop, which
  keeps the last checkpoint instead of saving a state caught mid-update.
  """

  def __init__(self):
    self.signal_name = None
    self.signum = 0

  def handle(self, signum, frame):  # pylint: disable=unused-argument
    name = signal.Signals(signum).name
    if self.signal_name is not None:
      raise Interrupted(name, forced=True)
    self.signal_name, self.signum = name, int(signum)

  def check(self, vote=None):
    """Raises `Interrupted` if a stop was requested.

    vote: under several workers, callable(signum) -> {worker: signum} of every worker
      asked to stop (`tf_gans.training.strategy.StopVote`, an all-reduce): then all
      workers raise together, after the same step, whichever of them got the signal.
    """
    if vote is None:
      if self.signal_name is not None:
        raise Interrupted(self.signal_name)
      return
    stops = vote(self.signum)
    if not stops:
      return
    if self.signal_name is not None:
      raise Interrupted(self.signal_name)
    (task_type, task_id), signum = sorted(stops.items())[0]
    raise Interrupted(signal.Signals(signum).name, origin=f'{task_type} {task_id}')


@contextlib.contextmanager
def stop_signals(request):
  """Within the block SIGINT and SIGTERM set `request` (a `StopRequest`).

  Only the main thread can install handlers; elsewhere this does nothing.
  """
  if threading.current_thread() is not threading.main_thread():
    yield request
    return
  previous = {s: signal.signal(s, request.handle) for s in (signal.SIGINT, signal.SIGTERM)}
  try:
    yield request
  finally:
    for s, handler in previous.items():
      signal.signal(s, handler)


@contextlib.contextmanager
def shielded():
  """Within the block SIGINT and SIGTERM are held back (a save in progress finishes)."""
  if threading.current_thread() is not threading.main_thread():
    yield
    return
  held = []
  previous = {s: signal.signal(s, lambda signum, frame: held.append(signum))
              for s in (signal.SIGINT, signal.SIGTERM)}
  try:
    yield
  finally:
    for s, handler in previous.items():
      signal.signal(s, handler)

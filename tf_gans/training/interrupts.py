"""Stopping a run cleanly: stop requests, SIGINT / SIGTERM, output streams that may die.

A run stops cleanly through its `StopRequest`: the training loop calls
`check()` where its state is consistent (the GAN after a step or an execution of
`steps_per_execution` steps, PGGAN after a D or G step), which then raises
`Interrupted` (a KeyboardInterrupt); the
lifecycle (`tf_gans.training.lifecycle.Lifecycle.train`) catches it, saves a
checkpoint first and only then prints, so the run resumes exactly where it
stopped. Who sets the request is the caller's choice:

- command lines (`python -m tf_gans.train`, `python -m tf_gans.study`) call
  `take_stop_signals()`: while a run trains, SIGINT (Ctrl-C) and SIGTERM (how
  schedulers and `kill` stop a job) set its request (`stop_signals`), so a
  stopped run is saved, says how to resume, and the command exits 130;
- library calls and in-process tests install no process-wide handler: Ctrl-C
  stays Python's KeyboardInterrupt and reaches the caller (the lifecycle saves
  nothing then: see `Lifecycle.train`). To stop such a run at a consistent
  point, set its request: `with stop_with() as stop:` around the call, then
  `stop.set()` from a callback, another thread or a notebook.

`protect_output()` makes a dead stdout / stderr harmless: a run piped into
`tee` or `head`, or started from an ssh session that closed, would otherwise
die with BrokenPipeError at its next progress line (Python ignores SIGPIPE and
raises instead). After the first failed write the stream is pointed at
/dev/null, at the file-descriptor level too, so TensorFlow's C++ logging and
the interpreter's final flush stay quiet and training, checkpoints and the
export go on.
"""

import contextlib
import contextvars
import errno
import logging
import os
import signal
import sys
import threading


class Interrupted(KeyboardInterrupt):
  """A stop was requested (SIGINT, SIGTERM or `StopRequest.set`). `forced`: a second
  signal, raised at once, possibly in the middle of an update, so the loop must not save
  that state. `origin`: under several workers, where the request arose ('worker 1'; None:
  this process)."""

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


# What `StopRequest.set()` votes under several workers (signal numbers are below 65).
REQUEST_CODE = 100
REQUESTED = 'a stop request'


def _name(signum):
  return REQUESTED if signum == REQUEST_CODE else signal.Signals(signum).name


class StopRequest:
  """A request that the training loop stop at its next consistent point.

  Set by `set()` or, under `stop_signals`, by SIGINT / SIGTERM; the loop calls
  `check()` where its state is consistent, which raises `Interrupted` there,
  and the lifecycle saves that state. A second signal raises at once (an
  impatient user still gets out) as a forced stop, which keeps the last
  checkpoint instead of saving a state caught mid-update.

  `announce`: None, or callable(name) the first request calls to say that the
  stop is on its way (the lifecycle's "stopping at the next consistent point
  (about N s)"). Set by `set()` it is called at once; for a signal it is called by
  `stop_signals`' watcher thread the moment the signal arrives, not when Python
  next runs its handler, which waits for the TensorFlow call in progress to return.
  """

  def __init__(self):
    self.signal_name = None
    self.signum = 0
    self.announce = None
    self._announced = False
    self._lock = threading.Lock()
    self._watched = False  # a watcher thread announces the signals

  @property
  def is_set(self):
    return self.signal_name is not None

  def set(self):
    """Asks the run to stop at its next consistent point (as a first signal does)."""
    if self.signal_name is None:
      self.signal_name, self.signum = REQUESTED, REQUEST_CODE
      self.announce_once(REQUESTED)

  def announce_once(self, name):
    """Calls `announce(name)` for the first request only; a failing message never
    breaks the stop."""
    with self._lock:
      if self._announced or self.announce is None:
        return
      self._announced = True
    try:
      self.announce(name)
    except Exception:  # pylint: disable=broad-except
      pass

  def handle(self, signum, frame):  # pylint: disable=unused-argument
    name = signal.Signals(signum).name
    if self.signal_name is not None:
      raise Interrupted(name, forced=True)
    self.signal_name, self.signum = name, int(signum)
    if not self._watched:  # no watcher thread: say it here (a write may be in progress)
      try:
        self.announce_once(name)
      except RuntimeError:  # a reentrant write to the stream Python was writing
        pass

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
    raise Interrupted(_name(signum), origin=f'{task_type} {task_id}')


_requests = contextvars.ContextVar('tf_gans_stop_request', default=None)
_signals = {'taken': False}


def take_stop_signals(take=True):
  """The command lines' opt-in: from now on, while a run trains, SIGINT and SIGTERM
  set its stop request (`stop_signals`). Library calls do not call it."""
  _signals['taken'] = bool(take)


def stop_signals_taken():
  """Whether `take_stop_signals()` was called in this process."""
  return _signals['taken']


@contextlib.contextmanager
def stop_with(request=None):
  """Runs started within the block take `request` (default: a new one) as their stop
  request; yields it. Once set, every run of the block stops at its next consistent
  point, saving a checkpoint and returning interrupted=True."""
  request = request if request is not None else StopRequest()
  token = _requests.set(request)
  try:
    yield request
  finally:
    _requests.reset(token)


def current_stop_request():
  """The stop request of a run starting now: the innermost `stop_with` block's, else a new one."""
  request = _requests.get()
  return request if request is not None else StopRequest()


@contextlib.contextmanager
def stop_signals(request):
  """Within the block SIGINT and SIGTERM set `request` (a `StopRequest`).

  Only the main thread can install handlers; elsewhere this does nothing. Python
  runs a signal's handler only when the main thread is back in the interpreter, so
  during a TensorFlow step it waits for the step; a watcher thread, woken through
  `signal.set_wakeup_fd` the moment the signal arrives, calls the request's
  `announce` at once (`_SignalWatcher`).
  """
  if threading.current_thread() is not threading.main_thread():
    yield request
    return
  previous = {s: signal.signal(s, request.handle) for s in (signal.SIGINT, signal.SIGTERM)}
  watcher = _SignalWatcher.start(request)
  try:
    yield request
  finally:
    if watcher:
      watcher.stop()
    for s, handler in previous.items():
      signal.signal(s, handler)


class _SignalWatcher:
  """A thread that announces a stop request's first SIGINT / SIGTERM as it arrives.

  CPython's C-level handler writes each signal's number to the wakeup file
  descriptor (`signal.set_wakeup_fd`) at once, while the Python handler waits
  for the main thread; this thread reads that pipe.
  """

  def __init__(self, request, read_fd, write_fd, previous_fd):
    self.request, self.read_fd, self.write_fd = request, read_fd, write_fd
    self.previous_fd = previous_fd
    self.thread = threading.Thread(target=self._run, name='tf_gans-stop-signals', daemon=True)

  @classmethod
  def start(cls, request):
    """A running watcher, or None where the wakeup descriptor cannot be taken."""
    read_fd, write_fd = os.pipe()
    try:
      os.set_blocking(write_fd, False)
      previous = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    except (ValueError, OSError):
      os.close(read_fd)
      os.close(write_fd)
      return None
    watcher = cls(request, read_fd, write_fd, previous)
    request._watched = True  # pylint: disable=protected-access
    watcher.thread.start()
    return watcher

  def _run(self):
    wanted = {int(signal.SIGINT), int(signal.SIGTERM)}
    while True:
      try:
        data = os.read(self.read_fd, 64)
      except OSError:
        return
      if not data:  # the write end was closed: the block ended
        return
      for signum in data:
        if signum in wanted:
          self.request.announce_once(signal.Signals(signum).name)

  def stop(self):
    try:
      signal.set_wakeup_fd(self.previous_fd)
    except (ValueError, OSError):
      signal.set_wakeup_fd(-1)
    self.request._watched = False  # pylint: disable=protected-access
    os.close(self.write_fd)
    self.thread.join(timeout=5)
    os.close(self.read_fd)


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

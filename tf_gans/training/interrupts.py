"""Stopping a run cleanly: SIGINT and SIGTERM, and output streams that may die.

`stop_signals()` makes SIGTERM (how schedulers and `kill` stop a job) raise
`Interrupted`, a KeyboardInterrupt, exactly where SIGINT (Ctrl-C) would: the
training loops catch KeyboardInterrupt, save a checkpoint first and only then
print, so a run stopped either way resumes from where it stopped.

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
  """A stop signal arrived (SIGINT or SIGTERM)."""


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
    except (OSError, ValueError):
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
  for handler in logging.getLogger().handlers:
    if isinstance(handler, logging.StreamHandler) and hasattr(handler, 'setStream'):
      if handler.stream in (sys.stderr._stream, sys.stdout._stream):  # pylint: disable=protected-access
        handler.setStream(sys.stderr if handler.stream is sys.stderr._stream  # pylint: disable=protected-access
                          else sys.stdout)


def _raise_interrupted(signum, frame):  # pylint: disable=unused-argument
  raise Interrupted(signal.Signals(signum).name)


@contextlib.contextmanager
def stop_signals():
  """Within the block SIGTERM raises `Interrupted` as SIGINT raises KeyboardInterrupt.

  Only the main thread can install handlers; elsewhere this does nothing.
  """
  if threading.current_thread() is not threading.main_thread():
    yield
    return
  previous = signal.signal(signal.SIGTERM, _raise_interrupted)
  try:
    yield
  finally:
    signal.signal(signal.SIGTERM, previous)


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

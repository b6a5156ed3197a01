"""One progress writer for every command: redrawn in place on a terminal, plain lines elsewhere.

On a terminal a counter is redrawn on one line (`\\r`, at most every 0.5 s);
written to a file or a pipe (a log, `| tee`, a CI job) the same text comes as
whole lines, at most every `plain_every_s` seconds and once at the end, so a
log never holds `frame 1/20frame 2/20...`. `train`'s progress line
(`tf_gans.training.monitor`), `evaluate`'s feature passes, `generate`'s frames,
`dataset_tool`'s records and the image-folder loader all write through it.
"""

import sys
import time

TTY_EVERY_S = 0.5     # redraws per second on a terminal, at most 2
PLAIN_EVERY_S = 10.0  # a plain line every 10 s in a file or pipe


def _is_tty(stream):
  try:
    return bool(stream.isatty())
  except (AttributeError, ValueError):  # closed or not a real file
    return False


class LineWriter:
  """Writes status lines to `stream`: one line redrawn in place on a terminal, whole lines otherwise."""

  def __init__(self, stream=None):
    self._stream = stream
    self._open = False

  @property
  def stream(self):
    return self._stream if self._stream is not None else sys.stderr

  @property
  def tty(self):
    return _is_tty(self.stream)

  def draw(self, text):
    """Shows `text`: replaces the current line on a terminal, appends a line elsewhere."""
    if self.tty:
      self.stream.write('\r' + text + '\033[K')
      self._open = True
    else:
      self.stream.write(text + '\n')
    self.stream.flush()

  def end(self):
    """Ends a line left open by `draw` on a terminal, so the next message starts on a new line."""
    if self._open:
      self.stream.write('\n')
      self.stream.flush()
      self._open = False


class Progress:
  """'what: done/total unit (rate/s)', throttled; `finish` writes the last count.

  Args:
    what: What is counted, e.g. 'Inception features (reals)'.
    total: The count at the end, or None when unknown.
    unit: Word after the counts ('images', 'frames'; '' for none).
    stream: Where to write (default: sys.stderr at write time).
    enabled: False writes nothing (tests, `--noprogress`).
    plain_every_s: Seconds between lines in a file or pipe.
    quiet_start: Write nothing during the first interval, and nothing at all for work
      that ends within it (short jobs stay silent).
  """

  def __init__(self, what, total=None, unit='', stream=None, enabled=True,
               plain_every_s=PLAIN_EVERY_S, quiet_start=False):
    self.what, self.total, self.unit, self.enabled = what, total, unit, enabled
    self.plain_every_s = plain_every_s
    self._line = LineWriter(stream)
    self._start = time.monotonic()
    self._quiet_start = quiet_start
    self._last = self._start if quiet_start else None  # time of the last line written
    self._written = False
    self._finished = False
    self._done = 0
    self._first = None  # (time, done) of the first update: rates count from there

  def update(self, done, force=False):
    """Records `done`; writes it when the interval has passed (or `force`, or done reaches total)."""
    self._done = done
    if self._first is None:
      self._first = (time.monotonic(), done)
    if not self.enabled or self._finished:
      return
    if self.total is not None and done >= self.total:
      self.finish()
      return
    now = time.monotonic()
    interval = TTY_EVERY_S if self._line.tty else self.plain_every_s
    # The first count is written at once (it shows the work started), then one per interval.
    if not force and self._last is not None and now - self._last < interval:
      return
    self._last = now
    self._line.draw(self._text(now))
    self._written = True

  def finish(self, done=None):
    """Writes the final count and ends the line (once)."""
    if done is not None:
      self._done = done
    if not self.enabled or self._finished:
      return
    self._finished = True
    if self._quiet_start and not self._written:
      return
    self._line.draw(self._text(time.monotonic()))
    self._line.end()

  def _text(self, now):
    total = '' if self.total is None else f'/{self.total}'
    unit = f' {self.unit}' if self.unit else ''
    t0, d0 = self._first or (self._start, 0)  # rates count from the first update
    rate = f' ({(self._done - d0) / (now - t0):.1f}/s)' if self._done > d0 and now > t0 else ''
    return f'{self.what}: {self._done}{total}{unit}{rate}'


_OPEN = {}  # (what, start) -> Progress, for `report`


def report(what, done, total, start, enabled=True, unit=''):
  """Stateless form of `Progress` for loops that pass their own start time.

  Consecutive calls with the same `what` and `start` share one throttled
  counter; the call where `done` reaches `total` writes the last line.
  """
  if not enabled:
    return
  key = (what, start)
  counter = _OPEN.get(key)
  if counter is None:
    counter = _OPEN[key] = Progress(what, total, unit)
  counter.update(done)
  if total is not None and done >= total:
    del _OPEN[key]

"""What a run shows and records while it trains, the same for every model.

  tensorboard/      scalars (losses; for PGGAN also lod, kimg, learning rates,
                    minibatch, loss scales, images/s) and image grids
  history.csv       one row per logging interval (GAN) or tick (PGGAN)
  loss_curves.png   drawn from history.csv when the run ends or stops

and one progress line with rate and ETA, written by `tf_gans.progress.LineWriter`
as every command's progress is: redrawn in place (`\\r`) on a terminal, plain
lines every `plain_every_s` seconds into a file or pipe (a log file then reads
line by line).
"""

import csv
import os
import sys
import time

import tensorflow as tf

from tf_gans import progress as progress_lib
from tf_gans.training import plots

HISTORY_FILE = 'history.csv'
LOSS_CURVES_FILE = 'loss_curves.png'
TENSORBOARD_DIR = 'tensorboard'
# Progress units: (how a position is printed, the rate's name, rate per position unit).
UNITS = {'step': ('{:.0f}', 'steps/s', 1.0), 'kimg': ('{:.1f}', 'img/s', 1000.0)}


def format_duration(seconds):
  """12 -> '12s', 130 -> '2m10s', 7300 -> '2h01m'."""
  if seconds != seconds or seconds == float('inf'):  # NaN or inf
    return '?'
  seconds = int(round(seconds))
  if seconds < 60:
    return f'{seconds}s'
  if seconds < 3600:
    return f'{seconds // 60}m{seconds % 60:02d}s'
  return f'{seconds // 3600}h{seconds % 3600 // 60:02d}m'


class Monitor:
  """TensorBoard, history.csv, the loss-curve PNG and the progress line of one run.

  Args:
    out_dir: this process's folder (the run folder on the chief).
    total: the run's length in `unit`s (steps, or kimg for PGGAN).
    unit: 'step' or 'kimg' (the history's first column and the progress unit).
    start: the position the run (re)starts from; history rows beyond it are
      dropped (they belong to progress a kill lost and will be recomputed).
    show_progress: draw the progress line (on the chief).
    stream: where the progress line goes (default: sys.stderr at each write).
    plain_every_s: seconds between plain progress lines when not on a terminal.
  """

  def __init__(self, out_dir, total, unit='step', start=0, show_progress=True, stream=None,
               plain_every_s=30.0):
    self.out_dir = out_dir
    self.total, self.unit = total, unit
    self._fmt, self._rate_name, self._rate_factor = UNITS[unit]
    self.writer = tf.summary.create_file_writer(os.path.join(out_dir, TENSORBOARD_DIR))
    self.history_path = os.path.join(out_dir, HISTORY_FILE)
    self.show_progress = show_progress
    self._stream = stream
    self.plain_every_s = plain_every_s
    self._t0, self._p0 = None, start
    self._last_draw = 0.0
    self._line = progress_lib.LineWriter(stream)
    _truncate_history(self.history_path, unit, start)

  @property
  def stream(self):
    return self._stream or sys.stderr

  def _to_step(self, position):
    return int(round(position * 1000)) if self.unit == 'kimg' else int(position)

  def scalars(self, position, values):
    """Writes `values` ({name: float}) to TensorBoard and appends a history row."""
    row = {k: float(v) for k, v in values.items()}
    with self.writer.as_default(step=self._to_step(position)):
      for k, v in row.items():
        tf.summary.scalar(k, v)
    self.writer.flush()
    columns = _header(self.history_path)  # an existing file keeps its columns
    with open(self.history_path, 'a', newline='') as f:
      w = csv.DictWriter(f, columns or [self.unit] + list(row), extrasaction='ignore',
                         restval='')
      if not columns:
        w.writeheader()
      w.writerow({self.unit: position, **row})

  def image(self, tag, grid_uint8, position):
    """One image grid (uint8 [H, W, C]) to TensorBoard."""
    with self.writer.as_default(step=self._to_step(position)):
      tf.summary.image(tag, grid_uint8[None])
    self.writer.flush()

  def progress(self, position, values=None, force=False):
    """Redraws (terminal) or prints (file, every plain_every_s) the progress line."""
    if not self.show_progress:
      return
    now = time.time()
    if self._t0 is None:  # rates count from the first report (after tracing)
      self._t0, self._p0, self._last_draw = now, position, now
      return
    interval = progress_lib.TTY_EVERY_S if self._line.tty else self.plain_every_s
    if not force and now - self._last_draw < interval and position < self.total:
      return
    self._last_draw = now
    elapsed = max(now - self._t0, 1e-9)
    rate = (position - self._p0) / elapsed
    eta = (self.total - position) / rate if rate > 0 else float('nan')
    width = 20
    done = int(width * min(position / self.total, 1.0)) if self.total else width
    terms = ' '.join(f'{k} {float(v):.4g}' for k, v in (values or {}).items())
    line = (f'{self.unit} {self._fmt.format(position)}/{self._fmt.format(self.total)} '
            f'[{"=" * done}{"." * (width - done)}] {rate * self._rate_factor:.1f} '
            f'{self._rate_name} ETA {format_duration(eta)} {terms}'.rstrip())
    self._line.draw(line)

  def truncate(self, position):
    """Drops the history rows after `position` (after a failed save, the newest checkpoint's:
    history.csv then claims no step the run cannot resume from)."""
    _truncate_history(self.history_path, self.unit, position)

  def end_line(self):
    """Ends a `\\r` progress line so the next message starts on a fresh line."""
    self._line.end()

  def close(self):
    """Flushes TensorBoard and draws loss_curves.png; returns its path (or None)."""
    self.end_line()
    self.writer.flush()
    if not os.path.exists(self.history_path):
      return None
    try:
      return plots.plot_loss_curves(self.history_path,
                                    os.path.join(self.out_dir, LOSS_CURVES_FILE))
    except ValueError:  # a history without rows
      return None


def _header(path):
  """The column names of an existing CSV file, or None."""
  if not os.path.exists(path):
    return None
  with open(path, newline='') as f:
    return next(csv.reader(f), None)


def _truncate_history(path, unit, start):
  """Drops the rows of `path` past `start` (progress that a kill lost)."""
  if not os.path.exists(path):
    return
  with open(path, newline='') as f:
    rows = list(csv.reader(f))
  if not rows or rows[0][:1] != [unit]:
    return
  keep = [rows[0]] + [r for r in rows[1:] if r and float(r[0]) <= start + 1e-9]
  if len(keep) == len(rows):
    return
  tmp = path + '.tmp'
  with open(tmp, 'w', newline='') as f:
    csv.writer(f).writerows(keep)
  os.replace(tmp, path)

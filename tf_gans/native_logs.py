"""Keeps TensorFlow's native start-up logs out of a CLI's terminal.

TensorFlow 2.21's C++ side logs through absl before anything can configure it
("WARNING: All log messages before absl::InitializeLog() is called are
written to STDERR", "Could not find cuda drivers", "failed call to cuInit",
the oneDNN and CPU-feature notices, "Sharding callback duration"), and
TF_CPP_MIN_LOG_LEVEL no longer silences those. `filter_native_logs()` puts a
filter on file descriptor 2: native lines in absl's format are dropped, every
other byte reaches the real stderr. Python's own `sys.stderr` is moved to a
copy of the real stderr first, so Python messages (errors, tracebacks, the
progress line) never pass through the filter and cannot be lost or delayed.
`--tf_log` on a CLI leaves all of this off.
"""

import os
import re
import sys
import threading

from tf_gans.training.interrupts import SafeStream, point_absl_at_stderr

# absl / TSL native log lines ("I0000 00:00:17... 123 file.cc:31] ...", "W1202 06:35:49...")
# and the continuation and preamble lines TensorFlow prints with them.
NATIVE_LINE = re.compile(
    rb'^(?:[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^\]]*\] '
    rb'|WARNING: All log messages before absl::InitializeLog\(\) is called'
    rb'|To enable the following instructions: ).*')

_installed = False


def _pump(read_fd, write_fd):
  """Copies lines from the pipe to the real stderr, dropping native log lines.

  Keeps reading even when the real stderr is gone (a dead pipe): a full pipe
  would block TensorFlow's logging threads.
  """
  alive = True
  buffer = b''
  while True:
    try:
      chunk = os.read(read_fd, 65536)
    except OSError:
      return
    if not chunk:
      return
    buffer += chunk
    *lines, buffer = buffer.split(b'\n')
    out = b''.join(line + b'\n' for line in lines if not NATIVE_LINE.match(line))
    if out and alive:
      try:
        os.write(write_fd, out)
      except OSError:
        alive = False


def filter_native_logs():
  """Filters fd 2 as described above (once per process; a no-op without a real fd 2)."""
  global _installed  # pylint: disable=global-statement
  if _installed:
    return
  try:
    real = os.dup(2)
  except OSError:
    return
  _installed = True
  sys.stderr.flush()
  sys.stderr = SafeStream(os.fdopen(real, 'w', buffering=1, encoding='utf-8',
                                    errors='backslashreplace', closefd=False))
  point_absl_at_stderr()
  read_fd, write_fd = os.pipe()
  os.dup2(write_fd, 2)
  os.close(write_fd)
  threading.Thread(target=_pump, args=(read_fd, real), name='native-log-filter',
                   daemon=True).start()

"""Keeps TensorFlow's native start-up and INFO logs out of a CLI's terminal.

TensorFlow 2.21's C++ side logs through absl before anything can configure it
("WARNING: All log messages before absl::InitializeLog() is called are
written to STDERR", "Could not find cuda drivers", "failed call to cuInit",
the oneDNN and CPU-feature notices, "Sharding callback duration"), and
TF_CPP_MIN_LOG_LEVEL no longer silences those. `filter_native_logs()` puts a
filter on file descriptor 2 for the life of the process: native INFO lines and
the CUDA-probing warnings are dropped (`NATIVE_LINE`), every other byte reaches
the real stderr (a native crash's last lines may be lost with the process). Python's own `sys.stderr` is moved to a
copy of the real stderr first, so Python messages (errors, tracebacks, the
progress line) never pass through the filter and cannot be lost or delayed.
`--tf_log` on a CLI leaves all of this off.
"""

import os
import re
import sys
import threading

from tf_gans.training.interrupts import SafeStream, point_absl_at_stderr

# What is dropped: absl / TSL native INFO lines ("I0000 00:00:17... 123 file.cc:31] ...",
# e.g. "Could not find cuda drivers", oneDNN, "Sharding callback duration"), the preamble
# and continuation lines TensorFlow prints with them, and the WARNING / ERROR lines of
# CUDA probing on a machine without a usable GPU. Every other native warning or error
# (out of memory, a failed kernel, a CHECK failure) passes.
NATIVE_LINE = re.compile(
    rb'^(?:I\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^\]]*\] '
    rb'|[WE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^\]]*\] .*(?:cuInit|cuda_dnn|cuda_fft|cuda_blas'
    rb'|cuda_platform|cudart_stub|Unable to register cu|TF-TRT|computation placer)'
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
      chunk = b''
    if not chunk:  # the write end closed: pass on what is left
      lines, buffer = [buffer] if buffer else [], b''
    else:
      buffer += chunk
      *lines, buffer = buffer.split(b'\n')
    out = b''.join(line + b'\n' for line in lines if not NATIVE_LINE.match(line))
    while out and alive:
      try:
        out = out[os.write(write_fd, out):]
      except OSError:
        alive = False
    if not chunk:
      return


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

"""What every CLI shares: quiet TensorFlow start-up, safe output, clean, specific errors.

TensorFlow's C++ logging (CUDA probing such as "failed call to cuInit" on a
machine without a GPU, oneDNN notices, "Sharding callback duration") reads
TF_CPP_MIN_LOG_LEVEL once, when TensorFlow loads, so it is set here, before
any CLI imports TensorFlow: 3 (nothing) by default, 0 (everything) with
`--tf_log`; a value already in the environment wins. `quiet_logs` does the
same for the Python side (absl INFO, the `tensorflow` logger, e.g. the
SavedModel writer's notes).
"""

import json
import logging
import os
import re
import sys

from absl import app as absl_app
from absl import flags as absl_flags
from absl import logging as absl_logging

from tf_gans import native_logs
from tf_gans.training.interrupts import WorkerLostError
from tf_gans.training.interrupts import protect_output  # pylint: disable=unused-import


def _tf_log_requested(argv):
  return any(a in ('--tf_log', '--tf_log=true', '--tf_log=True', '--tf_log=1') for a in argv)


# Before any CLI imports TensorFlow (its native logging starts with the import).
if _tf_log_requested(sys.argv):
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '0')
else:
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
  if (__import__('__main__').__dict__.get('__package__') or '').startswith('tf_gans'):  # -m tf_gans.X
    native_logs.filter_native_logs()

# oneDNN (TF_ENABLE_ONEDNN_OPTS, read once when TensorFlow loads; TF 2.21 leaves it off on CPUs
# without AVX-512, e.g. AMD EPYC with AVX2): the project's default per command, where one setting
# was clearly faster (won every interleaved round by >= 10%, separate processes,
# docs/results/bench/extraction_onednn.json): the FID Inception forward is faster with it on; the
# train steps disagree (GAN MLPs faster on, the small PGGAN step slower), so training keeps
# TensorFlow's default. A value already in the environment wins.
ONEDNN_DEFAULTS = {'tf_gans.evaluate': '1'}


def onednn_default(environ, program):
  """Sets environ['TF_ENABLE_ONEDNN_OPTS'] to ONEDNN_DEFAULTS[program] unless it holds a value.

  program: the command's module ('tf_gans.evaluate' for `python -m tf_gans.evaluate`).
  Returns the value in effect afterwards (None: TensorFlow's own default).
  """
  if program in ONEDNN_DEFAULTS:
    environ.setdefault('TF_ENABLE_ONEDNN_OPTS', ONEDNN_DEFAULTS[program])
  return environ.get('TF_ENABLE_ONEDNN_OPTS')


onednn_default(os.environ, getattr(getattr(sys.modules.get('__main__'), '__spec__', None),
                                   'name', None))

# Errors a user can fix from the message alone: print it, no traceback.
USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError, KeyError, WorkerLostError)
# Exit status of a run stopped by SIGINT / SIGTERM (after its checkpoint was saved); under
# several workers a signal on any of them stops all of them with it (each saves).
INTERRUPTED_EXIT_STATUS = 130
# Exit status of a multi-worker run's survivors when another worker died, froze or left
# (`WorkerLostError`: nothing newer than the last checkpoint was saved; resume every worker).
WORKER_LOST_EXIT_STATUS = 3


def quiet_logs(show=False):
  """Python-side logs: absl and TensorFlow at WARNING / ERROR unless `show`."""
  if show:
    absl_logging.set_verbosity(absl_logging.INFO)
    return
  absl_logging.set_verbosity(absl_logging.WARNING)
  logging.getLogger('tensorflow').setLevel(logging.ERROR)


def fail(error):
  """Prints `error` as one line on stderr and exits with status 2
  (`WORKER_LOST_EXIT_STATUS` for a `WorkerLostError`)."""
  msg = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
  sys.stderr.write(f'error: {msg}\n')
  sys.exit(WORKER_LOST_EXIT_STATUS if isinstance(error, WorkerLostError) else 2)


_REQUIRED = re.compile(r'Flag --(\w+) must (?:have a value other than None|be (?:set|specified))')


def _flag_error_message(error):
  """absl's flag error as one sentence: a missing required flag says so plainly."""
  text = str(error).strip()
  missing = _REQUIRED.findall(text)
  if missing:
    return f'{", ".join("--" + m for m in missing)} {"is" if len(missing) == 1 else "are"} required.'
  text = re.sub(r'^ERROR:+\s*', '', text)
  text = text.replace('Unable to open flagfile:', '--flagfile cannot be read:')
  return text.replace('\n', ' ')


def parse_flags(argv):
  """absl's flag parser with the project's error style: one `error:` line, a usage hint, exit 2.

  Covers an unknown or mistyped flag (absl adds its "Did you mean" suggestions),
  a flagfile that cannot be read, a bad value and a missing required flag
  (also what running a command with no arguments gives); absl's own default is
  a `FATAL Flags parsing error` with exit status 1.
  """
  try:
    return absl_flags.FLAGS(argv)
  except absl_flags.Error as e:
    program = _program_name(argv[0] if argv else '')
    sys.stderr.write(f'error: {_flag_error_message(e)}\n'
                     f'usage: {program} --flag=value ... (--help lists the flags, '
                     f'--helpfull all of them)\n')
    sys.exit(2)


def _program_name(argv0):
  """'python -m tf_gans.train' for `-m tf_gans.train` (argv[0] is then the file's path)."""
  module = os.path.splitext(os.path.basename(argv0))[0]
  if module and module != '__main__' and os.path.basename(os.path.dirname(argv0)) == 'tf_gans':
    return f'python -m tf_gans.{module}'
  return os.path.basename(argv0) or 'python -m tf_gans.<command>'


def run(main):
  """`absl.app.run(main)` whose flag errors follow the project's error style (`parse_flags`)."""
  absl_app.run(main, flags_parser=parse_flags)


def print_json(result, path=None):
  """Prints `result` as JSON and, if `path` is given, writes it there too."""
  text = json.dumps(result, indent=2, sort_keys=True)
  print(text)
  if path:
    with open(path, 'w') as f:
      f.write(text + '\n')


def sigterm_as_keyboard_interrupt():
  """SIGTERM raises KeyboardInterrupt, as SIGINT does (outside a run's own stop handling)."""
  import signal  # pylint: disable=import-outside-toplevel

  def handler(signum, frame):  # pylint: disable=unused-argument
    raise KeyboardInterrupt(signal.Signals(signum).name)
  signal.signal(signal.SIGTERM, handler)

"""A command line's `main()` run in the test process, as `python -m tf_gans.<module>` runs it.

A subprocess costs a TensorFlow import (3-10 s on the shared 2-core machine) per
call; a refusal checked by the flag parsing or by `main()` needs none. absl's
flags are one process-wide registry and the CLIs define flags of the same name
(--model, --out, --tf_log), so each call imports the module afresh into a
registry holding only absl's own flags and puts everything back afterwards:
the registry, the module, sys.argv and the log levels. The stop-signal opt-in
that `tf_gans.train` / `tf_gans.study` take (`interrupts.take_stop_signals`) is
recorded, not taken: Ctrl-C during an in-process run still stops pytest.
"""

import contextlib
import importlib
import io
import logging
import sys
import types

from absl import app
from absl import flags
from absl import logging as absl_logging

from tf_gans import cli as cli_lib
from tf_gans.training import interrupts

FLAGS = flags.FLAGS


def _absl_registry():
  """A FlagValues holding only the flags absl itself defines (--flagfile, --verbosity, ...)."""
  fresh = flags.FlagValues()
  for module, module_flags in FLAGS.flags_by_module_dict().items():
    if module.startswith('absl'):
      for flag in module_flags:
        fresh[flag.name] = flag
        fresh.register_flag_by_module(module, flag)
  return fresh


@contextlib.contextmanager
def _isolated(module_name, argv):
  """Imports `module_name` with its flags in a registry of its own; restores all after."""
  saved_flags = dict(FLAGS.__dict__)
  saved_module = sys.modules.pop(module_name, None)
  package, _, leaf = module_name.rpartition('.')
  saved_attr = getattr(sys.modules[package], leaf, None)
  saved_argv, saved_verbosity = sys.argv, absl_logging.get_verbosity()
  saved_tf_level = logging.getLogger('tensorflow').level
  take, opted_in = interrupts.take_stop_signals, []
  interrupts.take_stop_signals = lambda take=True: opted_in.append(take)
  fresh = _absl_registry()
  FLAGS.__dict__.clear()
  FLAGS.__dict__.update(fresh.__dict__)
  sys.argv = list(argv)
  try:
    yield importlib.import_module(module_name), opted_in
  finally:
    interrupts.take_stop_signals = take
    FLAGS.__dict__.clear()
    FLAGS.__dict__.update(saved_flags)
    sys.modules.pop(module_name, None)
    if saved_module is not None:
      sys.modules[module_name] = saved_module
    if saved_attr is not None:
      setattr(sys.modules[package], leaf, saved_attr)
    sys.argv = saved_argv
    absl_logging.set_verbosity(saved_verbosity)
    logging.getLogger('tensorflow').setLevel(saved_tf_level)


def run_main(module, *args):
  """Runs `python -m tf_gans.<module> *args` in this process: the commands' flag parsing
  (`tf_gans.cli.parse_flags`, as `tf_gans.cli.run`), then the module's `main`.

  Returns a namespace with `returncode` (of the SystemExit, else what `main` returned),
  `stdout`, `stderr` and `stop_signals` (whether main opted in to them). Any other
  exception propagates: a user would see a traceback.
  """
  argv = [f'tf_gans/{module}.py', *map(str, args)]
  out, err = io.StringIO(), io.StringIO()
  code = 0
  with _isolated(f'tf_gans.{module}', argv) as (cli, opted_in), \
      contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    try:
      code = cli.main(cli_lib.parse_flags(argv)) or 0  # app.run exits with it
    except SystemExit as e:
      code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except app.UsageError as e:  # what app.run prints and exits with
      err.write(f'FATAL Flags parsing error: {e}\n')
      code = e.exitcode
  return types.SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue(),
                               stop_signals=any(opted_in))

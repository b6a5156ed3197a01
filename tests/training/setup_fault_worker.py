"""One worker of a multi-worker `python -m tf_gans.train`, with a fault injected (tests only).

  python tests/training/setup_fault_worker.py POINT ACTION TASK_INDEX [train flags ...]

Runs `tf_gans.train` as `-m` would, after wrapping one function of the run template so
that the worker whose TF_CONFIG task index is TASK_INDEX does ACTION there:

  POINT   setup    `tf_gans.training.run.preflight` (the strategy exists; no collective yet)
          restore  `Checkpointer.restore` (a --resume, before the checkpoint is read)
          export   `GanRun.export` (the chief's final export of the generator)
  ACTION  kill     SIGKILL to itself (a worker lost there)
          term     SIGTERM to itself (a stop signal there), then the function runs on
          int      SIGINT to itself (Ctrl-C there), then the function runs on

The code under test has no hook of its own: the fault comes from this wrapper only.
"""

import json
import os
import runpy
import signal
import sys


def _act(action):
  os.kill(os.getpid(), {'kill': signal.SIGKILL, 'term': signal.SIGTERM,
                       'int': signal.SIGINT}[action])


def _wrap(owner, name, action):
  original = getattr(owner, name)

  def faulty(*args, **kwargs):
    _act(action)
    return original(*args, **kwargs)
  setattr(owner, name, faulty)


def main():
  point, action, victim = sys.argv[1], sys.argv[2], int(sys.argv[3])
  index = json.loads(os.environ['TF_CONFIG'])['task']['index']
  sys.argv = [os.path.join(os.path.dirname(__import__('tf_gans').__file__), 'train.py')]\
      + sys.argv[4:]
  if index == victim:
    # pylint: disable=import-outside-toplevel
    from tf_gans.gan import loop
    from tf_gans.training import checkpoint
    from tf_gans.training import run
    owner, name = {'setup': (run, 'preflight'), 'restore': (checkpoint.Checkpointer, 'restore'),
                   'export': (loop.GanRun, 'export')}[point]
    _wrap(owner, name, action)
  runpy.run_module('tf_gans.train', run_name='__main__', alter_sys=True)


if __name__ == '__main__':
  main()

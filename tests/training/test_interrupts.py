"""Stopping a run: the stop request, the caller's choice of signal handlers, Ctrl-C in a library.

The handlers are looked at and called directly, so the suite's own Ctrl-C is never taken
over (the conftest checks that after every test); one test sends this process SIGINT
while the run's own handler is installed, to see the first stop answered at once.
"""

import os
import signal
import threading
import time
import types

import pytest

from tf_gans.gan.config import RunConfig
from tf_gans.training import interrupts
from tf_gans.training import lifecycle

RESUME = 'Continue with: python -m tf_gans.train --resume --logdir='


class Checkpointer:
  """Records saves; its last periodic checkpoint is ckpt-5."""

  def __init__(self, folder):
    self.folder = folder
    self.saved = []
    self.manager = types.SimpleNamespace(latest_checkpoint=f'{folder}/ckpt-5')

  def save(self):
    self.saved.append(f'{self.folder}/ckpt-7')
    return self.saved[-1]

  def latest(self):
    return f'{self.folder}/ckpt-5'


def make_run(tmp_path, **kwargs):
  log = []
  run = lifecycle.Lifecycle(RunConfig(logdir=str(tmp_path / 'run')), log=log.append, **kwargs)
  return run, Checkpointer(tmp_path / 'ckpts'), log


def handlers():
  return signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)


def test_a_library_run_takes_no_signal_and_ctrl_c_reaches_the_caller_saving_nothing(tmp_path):
  before = handlers()
  run, ckpt, log = make_run(tmp_path)
  seen = []

  def body():
    seen.append(handlers())
    raise KeyboardInterrupt  # what Python's own SIGINT handler raises, at any line
  with pytest.raises(KeyboardInterrupt):
    run.train(body, ckpt, lambda: 'step 6')
  assert not run.signals and seen == [before] and handlers() == before
  assert before[0] is signal.default_int_handler
  assert ckpt.saved == []  # the state may be mid-update: the periodic checkpoint stays
  assert log == [f'Stopped by KeyboardInterrupt at step 6; the last checkpoint, '
                 f'{tmp_path}/ckpts/ckpt-5 (step 5), is kept; nothing newer was saved. '
                 f'{RESUME}{tmp_path}/run']


def test_a_stop_request_set_by_the_caller_saves_at_the_next_check(tmp_path):
  with interrupts.stop_with() as stop:
    run, ckpt, log = make_run(tmp_path)
    assert run.stop_request is stop

    def body():
      run.check_stop()
      stop.set()  # e.g. from a callback
      assert ckpt.saved == []
      run.check_stop()  # the next consistent point
      raise AssertionError('not stopped')
    assert run.train(body, ckpt, lambda: 'step 6') is True
  assert ckpt.saved == [f'{tmp_path}/ckpts/ckpt-7']
  assert log == ['a stop request: stopping at the next consistent point (after the step in '
                 'progress, running for 0 s), then saving a checkpoint.',
                 f'Stopped by a stop request at step 6; checkpoint {tmp_path}/ckpts/ckpt-7 '
                 f'written. {RESUME}{tmp_path}/run']
  assert interrupts.current_stop_request() is not stop  # outside the block: a new one
  assert not interrupts.current_stop_request().is_set


def test_a_run_given_its_request_stops_on_it(tmp_path):
  stop = interrupts.StopRequest()
  run, ckpt, _ = make_run(tmp_path, stop=stop)
  stop.set()
  assert run.train(run.check_stop, ckpt, lambda: 'step 1') and len(ckpt.saved) == 1
  run, ckpt, _ = make_run(tmp_path / 'other')
  assert run.train(run.check_stop, ckpt, lambda: 'step 1') is False and ckpt.saved == []


@pytest.mark.parametrize('opt_in', ['process', 'argument'])
def test_the_command_lines_opt_in_makes_sigint_and_sigterm_stop_requests(tmp_path, opt_in):
  """What `tf_gans.train` / `tf_gans.study` do: the handlers exist while the run trains
  only; a first signal saves at the next check, a second stops at once, saving nothing.
  The signals are delivered by calling the installed handler."""
  before = handlers()
  try:
    if opt_in == 'process':
      interrupts.take_stop_signals()
      run, ckpt, log = make_run(tmp_path)
    else:
      run, ckpt, log = make_run(tmp_path, signals=True)
  finally:
    interrupts.take_stop_signals(False)
  assert run.signals

  def body():
    assert handlers() == (run.stop_request.handle, run.stop_request.handle)
    signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None)
    run.check_stop()
  assert run.train(body, ckpt, lambda: 'step 6') is True
  assert handlers() == before and len(ckpt.saved) == 1
  assert log[-1].startswith('Stopped by SIGTERM at step 6; checkpoint ')

  run, ckpt, log = make_run(tmp_path / 'forced', signals=True)

  def impatient():
    signal.getsignal(signal.SIGINT)(signal.SIGINT, None)
    signal.getsignal(signal.SIGINT)(signal.SIGINT, None)  # raises at once: mid-update
  assert run.train(impatient, ckpt, lambda: 'step 6') is True  # the CLI exits 130
  assert ckpt.saved == [] and handlers() == before
  assert log[-1].startswith(f'Stopped by a second SIGINT at step 6; the last checkpoint, '
                            f'{ckpt.folder}/ckpt-5 (step 5), is kept; nothing newer was saved.')


def test_a_first_signal_is_answered_at_once_with_the_time_to_the_next_consistent_point(
    tmp_path):
  """The announcement comes from the watcher thread (woken by the signal itself, while the
  main thread may be inside a TensorFlow call), with the time the loop's recent steps took."""
  wakeup_before = signal.set_wakeup_fd(-1)
  signal.set_wakeup_fd(wakeup_before)
  lines, threads = [], []

  def log(line):
    lines.append(line)
    threads.append(threading.current_thread().name)
  run = lifecycle.Lifecycle(RunConfig(logdir=str(tmp_path / 'run')), log=log, signals=True)
  ckpt = Checkpointer(tmp_path / 'ckpts')

  def body():
    run.check_stop()
    for _ in range(2):  # consistent points 1 s apart
      time.sleep(1)
      run.check_stop()
    os.kill(os.getpid(), signal.SIGINT)  # at one: the next is due in about 1 s
    deadline = time.time() + 10
    while not lines and time.time() < deadline:
      time.sleep(0.01)
    run.check_stop()
  assert run.train(body, ckpt, lambda: 'step 6') is True and len(ckpt.saved) == 1
  assert lines[0] == ('SIGINT: stopping at the next consistent point (about 1 s), then saving '
                      'a checkpoint; a second Ctrl-C stops at once without saving: the last '
                      f'checkpoint, {tmp_path}/ckpts/ckpt-5 (step 5), is kept.')
  assert threads[0] == 'tf_gans-stop-signals' and lines[1].startswith('Stopped by SIGINT')
  assert signal.set_wakeup_fd(-1) == wakeup_before  # the watcher gave the descriptor back
  signal.set_wakeup_fd(wakeup_before)
  assert not any(t.name == 'tf_gans-stop-signals' for t in threading.enumerate())


def test_the_estimate_follows_the_recent_consistent_points(monkeypatch):
  clock = types.SimpleNamespace(now=100.0)
  monkeypatch.setattr(lifecycle, 'time', types.SimpleNamespace(monotonic=lambda: clock.now))
  pace = lifecycle._Pace()  # pylint: disable=protected-access
  assert pace.describe() == 'after the first step, which is still running'
  pace.tick()
  clock.now += 2
  assert pace.describe() == 'after the step in progress, running for 2 s'
  for _ in range(5):
    clock.now += 10
    pace.tick()
  clock.now += 4
  # Intervals 12, 10, 10, 10, 10 s: the average 10.48 s (0.7 old + 0.3 new), 4 s into this one.
  assert pace.describe() == 'about 6 s'
  clock.now += 20
  assert pace.describe() == ('when the step in progress ends: it has run 24 s, longer than '
                             'the usual 10.5 s')


def test_a_request_without_a_signal_is_voted_to_every_worker():
  stop = interrupts.StopRequest()
  stop.set()
  stop.set()  # setting twice is no second signal
  with pytest.raises(interrupts.Interrupted) as e:
    stop.check(vote=lambda code: {('worker', 0): code})
  assert e.value.args[0] == interrupts.REQUESTED and not e.value.forced
  assert stop.signum == interrupts.REQUEST_CODE
  with pytest.raises(interrupts.Interrupted) as e:  # another worker's request
    interrupts.StopRequest().check(vote=lambda code: {('worker', 1): interrupts.REQUEST_CODE})
  assert e.value.args[0] == 'a stop request' and e.value.origin == 'worker 1'

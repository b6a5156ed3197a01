"""Several train steps per compiled call (Keras steps_per_execution): same weights, sizing rule."""

import numpy as np
import pytest

from tf_gans.gan import callbacks as cb
from tf_gans.gan import execution
from tf_gans.gan import loop
from tf_gans.gan.config import RunConfig
from tf_gans.training import interrupts

from tests.gan.test_loop import quiet, small_config, weights_of


def test_choose_takes_the_largest_divisor_of_log_every_that_fits_the_target():
  assert execution.divisors(100) == [1, 2, 4, 5, 10, 20, 25, 50, 100]
  assert execution.choose(0.030, 100, target_seconds=1.0) == 25   # 33 steps fit, 25 divides
  assert execution.choose(0.001, 100, target_seconds=1.0) == 100
  assert execution.choose(0.6, 100, target_seconds=1.0) == 1
  assert execution.choose(2.0, 100, target_seconds=1.0) == 1       # never below 1
  assert execution.choose(0.1, 7, target_seconds=1.0) == 7


def test_auto_size_is_chosen_once_from_the_first_judgeable_interval():
  sizer = execution.ExecutionSize(0, 100, target_seconds=1.0)
  assert sizer.k == 1 and sizer.auto
  sizer._seconds = [0.001] * 2                 # too few executions to judge
  sizer.on_epoch_end(0)
  assert sizer.k == 1 and sizer.auto
  sizer._seconds = [0.5, 0.03, 0.03, 0.031]  # first execution traced: the median ignores it
  sizer.on_epoch_end(1)
  assert sizer.k == 25 and not sizer.auto
  sizer._seconds = [0.11] * 4                  # slower later: K stays (a change retraces)
  sizer.on_epoch_end(2)
  assert sizer.k == 25
  fixed = execution.ExecutionSize(10, 100)
  fixed._seconds = [0.001] * 10
  fixed.on_epoch_end(0)
  assert fixed.k == 10 and not fixed.auto
  multi_worker = execution.ExecutionSize(0, 100, fixed_when_auto=1)
  multi_worker._seconds = [0.001] * 10
  multi_worker.on_epoch_end(0)
  assert multi_worker.k == 1


def test_an_interval_runs_whole_executions():
  sizer = execution.ExecutionSize(25, 100)
  assert sizer.for_interval(100) == 25
  assert sizer.for_interval(30) == 5    # a last, shorter interval
  assert sizer.for_interval(7) == 1


@pytest.mark.parametrize('bad', [-1, 3, 200])
def test_a_size_that_does_not_divide_log_every_is_refused_naming_both_flags(tmp_path, bad):
  with pytest.raises(ValueError, match=r'--steps_per_execution=.* --log_every=10'):
    small_config(tmp_path, steps_per_execution=bad).validate()
  with pytest.raises(ValueError, match=r'--steps_per_execution=.* must divide --log_every=10'):
    execution.ExecutionSize(bad, 10)


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
  """The same 45-step run with K = 1, 10 and auto: {name: weights}, trained once."""
  weights = {}
  for name, k in (('one', 1), ('ten', 10), ('auto', 0)):
    logdir = tmp_path_factory.mktemp(name)
    result = loop.train(small_config(logdir, steps=45, steps_per_execution=k), log=quiet)
    assert result.step == 45 and not result.interrupted
    weights[name] = weights_of(logdir)
  return weights


def test_any_steps_per_execution_trains_the_same_weights(runs):
  """K = 1, a fixed K, and auto (which changes K between intervals) give identical weights,
  with a last interval shorter than K (steps=45: 45 % 10 = 5)."""
  for name in ('ten', 'auto'):
    assert runs[name].keys() == runs['one'].keys()
    for var in runs['one']:
      np.testing.assert_array_equal(runs[name][var], runs['one'][var], err_msg=f'{name}: {var}')


def test_callbacks_see_one_call_per_execution(tmp_path, monkeypatch):
  """With K = 5, the per-step callbacks (progress, signal check, divergence guard) run once per
  5 steps and see the step counter at execution ends."""
  seen = []
  original = cb.DivergenceGuard.on_train_batch_end

  def record(self, batch, logs=None):
    original(self, batch, logs)
    seen.append(int(self.model.step.numpy()))
  monkeypatch.setattr(cb.DivergenceGuard, 'on_train_batch_end', record)
  loop.train(small_config(tmp_path, steps=20, steps_per_execution=5), log=quiet)
  assert seen == [5, 10, 15, 20]


def test_a_stop_request_ends_at_an_execution_boundary_and_resumes_to_the_same_weights(
    tmp_path, monkeypatch, runs):
  """K = 5, stopped at step 25, resumed to 45: the weights of the straight K = 1 run."""
  split = tmp_path / 'split'
  original = cb.DivergenceGuard.on_train_batch_end

  def stop_at_25(self, batch, logs=None):
    original(self, batch, logs)
    if int(self.model.step.numpy()) == 25:
      stop.set()
  monkeypatch.setattr(cb.DivergenceGuard, 'on_train_batch_end', stop_at_25)
  with interrupts.stop_with() as stop:
    result = loop.train(small_config(split, steps=45, steps_per_execution=5), log=quiet)
  assert result.interrupted and result.step == 25
  monkeypatch.setattr(cb.DivergenceGuard, 'on_train_batch_end', original)
  assert loop.train(small_config(split), resume=True, log=quiet).step == 45
  a, b = runs['one'], weights_of(split)
  assert a.keys() == b.keys()
  for var in a:
    np.testing.assert_array_equal(a[var], b[var], err_msg=var)


def test_steps_per_execution_may_change_on_resume():
  assert 'steps_per_execution' in RunConfig.RESUME_OVERRIDABLE


def test_several_steps_per_call_are_refused_with_several_replicas(tmp_path):
  with pytest.raises(ValueError, match=r'--steps_per_execution=5 needs one replica; '
                                       r'--strategy=mirrored has 2'):
    loop.train(small_config(tmp_path, strategy='mirrored', steps_per_execution=5), log=quiet)
  execution.check_strategy(1, 2, 'mirrored')
  execution.check_strategy(0, 2, 'mirrored')
  execution.check_strategy(5, 1, 'default')

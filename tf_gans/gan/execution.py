"""How many train steps one call of the compiled train function runs.

Keras runs `steps_per_execution` = K train steps inside one `tf.function`
call (a `tf.while_loop` over the dataset iterator), so Python, the callbacks
and the host-device sync cost once per K steps instead of once per step. For
the small nets of the GAN 2014 / RGAN runs that per-call cost was a third of
the wall clock (issue 14: the quickstart ran at 0.66 of its bare step).

The numbers do not depend on K: the steps are the same ops in the same order,
the noise is drawn from (seed, step) and the data position from the step
counter, so a run with any K trains the weights of K = 1 (tested). What K
changes is how often the host looks: the progress line, a signal's stop, the
divergence check (a non-finite loss is reported at the end of its execution;
the last good checkpoint is still the one kept) happen every K steps.

`--steps_per_execution=0` (the default) sizes K from the step time measured
in the run's first logging interval (one step per call): the largest divisor
of `--log_every` whose execution takes at most about `TARGET_SECONDS`. It is
chosen once per process: a change of K retraces the train function (seconds
for the MLPs), and re-choosing on a loaded 2-core machine made K flap and
cost more than it saved (measured with `benchmark --loop_bench`).
Under a strategy with several replicas K is 1: Keras 3.15's multi-step loop
(a `tf.while_loop` over `get_next_as_optional` with a `tf.cond` inside) does
not run under MirroredStrategy in TF 2.21 ("You must feed a value for
placeholder tensor 'while/cond/Placeholder'", with either input path), and
multi-worker runs would also need every worker to pick the same K (measured
times differ per worker). `--steps_per_execution` > 1 is refused there.
"""

import math
import statistics
import time

import keras

TARGET_SECONDS = 1.0


def divisors(n):
  """The divisors of n, ascending."""
  return [d for d in range(1, n + 1) if n % d == 0]


def choose(step_seconds, log_every, target_seconds=TARGET_SECONDS):
  """The largest divisor K of log_every with K * step_seconds <= target (at least 1)."""
  fitting = [d for d in divisors(log_every) if d * step_seconds <= target_seconds]
  return max(fitting) if fitting else 1


def check_requested(requested, log_every):
  """Refuses a --steps_per_execution that is negative or does not divide --log_every."""
  if requested < 0 or (requested and log_every % requested):
    raise ValueError(f'--steps_per_execution={requested} must divide --log_every={log_every} '
                     f'(0: sized automatically).')


def check_strategy(requested, replicas, strategy_name):
  """Refuses K > 1 with several replicas (see the module docstring)."""
  if requested > 1 and replicas > 1:
    raise ValueError(f'--steps_per_execution={requested} needs one replica; '
                     f'--strategy={strategy_name} has {replicas} (Keras\' multi-step loop '
                     f'fails under tf.distribute in TF 2.21). Leave it at 0 (auto: 1 here) or 1.')


class ExecutionSize(keras.callbacks.Callback):
  """Chooses K per logging interval and times the executions it ran.

  Put it first in the callback list: its end-of-execution time then leaves
  out the other callbacks' work.

  Args:
    requested: --steps_per_execution; 0 sizes K from measured times.
    log_every: the logging interval K must divide.
    fixed_when_auto: K when `requested` is 0 but K may not be measured
      (several replicas: 1), or None to measure.
  """

  def __init__(self, requested, log_every, fixed_when_auto=None,
               target_seconds=TARGET_SECONDS):
    super().__init__()
    check_requested(requested, log_every)
    self.auto = requested == 0 and fixed_when_auto is None
    self.k = requested or fixed_when_auto or 1
    self.log_every = log_every
    self.target_seconds = target_seconds
    self._seconds = []
    self._t = None

  def for_interval(self, num_steps):
    """K for an interval of num_steps (it must divide the interval: Keras runs whole executions)."""
    return math.gcd(self.k, num_steps)

  def apply(self, model, num_steps):
    """Sets the model's steps_per_execution for this interval (a change rebuilds its
    train function)."""
    k = self.for_interval(num_steps)
    if model.steps_per_execution != k:
      model.steps_per_execution = k
      model.train_function = None  # Keras builds it again at the next fit()
    return k

  def on_train_batch_begin(self, batch, logs=None):
    self._t = time.perf_counter()

  def on_train_batch_end(self, batch, logs=None):
    if self._t is not None:
      self._seconds.append((time.perf_counter() - self._t) / self.model.steps_per_execution)

  def on_epoch_end(self, epoch, logs=None):
    seconds, self._seconds = self._seconds, []
    if not self.auto or len(seconds) < 3:  # the first execution after a trace is an outlier
      return
    self.k = choose(statistics.median(seconds), self.log_every, self.target_seconds)
    self.auto = False  # chosen once: see the module docstring

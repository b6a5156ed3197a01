"""GAN/RGAN training-speed benchmark: variants of one run, timed side by side.

Every variant (a `RunConfig`) is built and warmed up first, then all are
timed in interleaved rounds; a variant's rate is its median over the rounds,
so a change in background load hits every variant alike
(`python -m tf_gans.benchmark --flagfile=...`).
"""

import dataclasses
import resource
import time

import numpy as np


def peak_rss_mb():
  """Peak resident set size of this process so far, in MiB."""
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Variant:
  """One configuration, built and warmed up, timed in rounds."""

  def __init__(self, cfg, source, warmup_steps):
    import keras  # pylint: disable=import-outside-toplevel
    from tf_gans.gan import loop  # pylint: disable=import-outside-toplevel
    from tf_gans.training import strategy  # pylint: disable=import-outside-toplevel
    self.cfg = cfg
    keras.utils.set_random_seed(cfg.seed)
    strat = strategy.get(cfg.strategy)
    with strat.scope():
      self.gan, nets = loop.build_gan(cfg, source)  # optimizers built, as for training
    # --steps_per_execution=0 (sized by the loop from measured times) is timed at 1 step per
    # call here; --loop_bench times the loop itself.
    self.gan.steps_per_execution = cfg.steps_per_execution or 1
    self._dataset = lambda: loop.make_train_dataset(cfg, source, self.gan, nets.value_range,
                                                    strat)
    self.first_step_seconds = self.run(1)
    self.run(warmup_steps)
    self.rates = []

  def run(self, n):
    ds = self._dataset()
    t = time.perf_counter()
    self.gan.fit(ds, steps_per_epoch=n, epochs=1, verbose=0, shuffle=False)
    return time.perf_counter() - t

  def time_round(self, n):
    self.rates.append(n / self.run(n))

  def report(self):
    steps_per_sec = float(np.median(self.rates))
    m = self.cfg.batch_size
    return dict(
        config=dataclasses.asdict(self.cfg), first_step_seconds=self.first_step_seconds,
        steps_per_sec=steps_per_sec, steps_per_sec_rounds=self.rates,
        real_images_per_sec=steps_per_sec * m * self.gan.real_batches_per_step,
        generated_images_per_sec=steps_per_sec * m * (self.gan.d_steps + 1),
        peak_rss_mb_after=peak_rss_mb())


def run(variants, source, warmup_steps, bench_steps, rounds, log=print):
  """Builds every variant, times them in `rounds` interleaved rounds, returns the JSON report.

  Args:
    variants: {name: RunConfig}, checked by the caller; must hold 'default', the
      baseline of the ratios.
    source: The loaded dataset every variant trains on.
    warmup_steps: Untimed steps after each variant's first step.
    bench_steps: Timed steps per variant, split evenly over the rounds.
    rounds: Number of interleaved rounds (1 <= rounds <= bench_steps).
    log: print-like progress callback.
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  built = {}
  for name, variant in variants.items():
    log(f'building and warming up {name} ...', flush=True)
    built[name] = Variant(variant, source, warmup_steps)
  per_round = bench_steps // rounds
  for r in range(rounds):
    log(f'timing round {r + 1}/{rounds} ({per_round} steps per variant) ...', flush=True)
    for variant in built.values():
      variant.time_round(per_round)
  results = {name: variant.report() for name, variant in built.items()}
  cfg = variants['default']
  report = dict(tensorflow=tf.__version__, dataset=cfg.dataset, model=cfg.model,
                bench_steps=per_round * rounds, rounds=rounds, variants=results)
  base = results['default']['steps_per_sec']
  report['steps_per_sec_relative_to_default'] = {
      name: r['steps_per_sec'] / base for name, r in results.items()}
  if 'jit_compile' in results:
    report['jit_speedup'] = results['jit_compile']['steps_per_sec'] / base
  return report


def _timed(fn):
  """(wall seconds, process CPU seconds) of fn()."""
  t, c = time.perf_counter(), time.process_time()
  fn()
  return time.perf_counter() - t, time.process_time() - c


class BareStep:
  """`GAN.train_step` in a `tf.function` called once per step on one fixed batch: the
  step with no input pipeline, callbacks or run bookkeeping (the baseline of issue 14)."""

  def __init__(self, cfg, source):
    import keras  # pylint: disable=import-outside-toplevel
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    from tf_gans.gan import loop  # pylint: disable=import-outside-toplevel
    keras.utils.set_random_seed(cfg.seed)
    self.gan, nets = loop.build_gan(cfg, source)
    ds = loop.make_train_dataset(cfg, source, self.gan, nets.value_range)
    self.batch = next(iter(ds))
    self.step = tf.function(self.gan.train_step)
    self.run(2)

  def run(self, n):
    for _ in range(n):
      out = self.step(self.batch)
    float(out['d_loss'])  # waits for the last step


class WholeLoop:
  """`tf_gans.gan.loop.train` end to end (data, callbacks, samples, checkpoints,
  snapshots, export) in fresh run folders. A run of `base` steps and one of base + n
  are timed; their difference is the cost of n steps of training, start-up and the
  end of the run (tracing, export) cancelled."""

  def __init__(self, cfg, scratch, base_steps):
    self.cfg, self.scratch, self.base_steps = cfg, scratch, base_steps

  def _train(self, steps):
    import dataclasses  # pylint: disable=import-outside-toplevel
    import keras  # pylint: disable=import-outside-toplevel
    import os  # pylint: disable=import-outside-toplevel
    import tempfile  # pylint: disable=import-outside-toplevel
    from tf_gans.gan import loop  # pylint: disable=import-outside-toplevel
    logdir = os.path.join(tempfile.mkdtemp(dir=self.scratch), 'run')
    keras.backend.clear_session()
    cfg = dataclasses.replace(self.cfg, logdir=logdir, steps=steps, progress=False)
    return _timed(lambda: loop.train(cfg, log=lambda *a, **k: None))

  def time_steps(self, n):
    base = self._train(self.base_steps)
    full = self._train(self.base_steps + n)
    return full[0] - base[0], full[1] - base[1]


def loop_vs_bare(cfg, source, bench_steps, rounds, scratch, log=print):
  """The training loop's rate relative to its bare step (issue 14 item 1), side by side.

  Variants, timed in `rounds` interleaved rounds of `bench_steps` steps each:
  `bare_step` (BareStep), `loop` (WholeLoop with the run's --steps_per_execution,
  0 = sized automatically) and `loop_steps_per_execution_1` (one step per call, the
  loop before issue 14). Rates are medians over rounds, in steps per wall-clock
  second and per process CPU second (the latter is steadier on a shared machine).
  """
  import dataclasses  # pylint: disable=import-outside-toplevel
  base = cfg.log_every * 2
  if bench_steps % cfg.log_every:
    raise ValueError(f'--bench_steps={bench_steps} must be a multiple of --log_every='
                     f'{cfg.log_every} for --loop_bench.')
  variants = {'bare_step': None, 'loop': WholeLoop(cfg, scratch, base)}
  if cfg.steps_per_execution != 1:
    variants['loop_steps_per_execution_1'] = WholeLoop(
        dataclasses.replace(cfg, steps_per_execution=1), scratch, base)
  log('building the bare step ...', flush=True)
  bare = BareStep(cfg, source)
  times = {name: [] for name in variants}
  for r in range(rounds):
    log(f'timing round {r + 1}/{rounds} ({bench_steps} steps per variant) ...', flush=True)
    for name, variant in variants.items():
      if variant is None:
        times[name].append(_timed(lambda: bare.run(bench_steps)))
      else:
        times[name].append(variant.time_steps(bench_steps))
  results = {}
  for name, pairs in times.items():
    results[name] = dict(
        steps_per_sec=float(np.median([bench_steps / w for w, _ in pairs])),
        steps_per_cpu_sec=float(np.median([bench_steps / c for _, c in pairs])),
        steps_per_sec_rounds=[bench_steps / w for w, _ in pairs],
        steps_per_cpu_sec_rounds=[bench_steps / c for _, c in pairs])
  ratio = lambda name, key: results[name][key] / results['bare_step'][key]
  per_round = lambda name: [b / a for (a, _), (b, _) in zip(times[name], times['bare_step'])]
  report = dict(
      what='whole training loop vs its bare step (issue 14 item 1)', model=cfg.model,
      dataset=cfg.dataset, loss=cfg.loss, batch_size=cfg.batch_size, log_every=cfg.log_every,
      steps_per_execution=cfg.steps_per_execution, bench_steps=bench_steps, rounds=rounds,
      loop_base_steps=base, variants=results,
      loop_over_bare_step=ratio('loop', 'steps_per_sec'),
      loop_over_bare_step_per_round=per_round('loop'),
      loop_over_bare_step_per_round_median=float(np.median(per_round('loop'))),
      loop_over_bare_step_cpu=ratio('loop', 'steps_per_cpu_sec'))
  if 'loop_steps_per_execution_1' in results:
    report['loop_steps_per_execution_1_over_bare_step'] = ratio(
        'loop_steps_per_execution_1', 'steps_per_sec')
    report['loop_steps_per_execution_1_over_bare_step_cpu'] = ratio(
        'loop_steps_per_execution_1', 'steps_per_cpu_sec')
  return report

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
    from tf_gans.training import loop, strategy  # pylint: disable=import-outside-toplevel
    self.cfg = cfg
    keras.utils.set_random_seed(cfg.seed)
    strat = strategy.get(cfg.strategy)
    with strat.scope():
      self.gan, nets = loop.build_gan(cfg, source)  # optimizers built, as for training
    self._dataset = lambda: loop.make_train_dataset(cfg, source, self.gan, nets.value_range,
                                                    strat.num_replicas_in_sync)
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

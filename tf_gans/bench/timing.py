"""Side-by-side timing for the benchmarks: every variant warmed up, then interleaved rounds.

Each round runs every variant `iters` times; a variant's rate is the median of its round
rates, so a change in background load (these machines are shared) hits all variants alike.
"""

import time

import numpy as np


def rate(fn, items, iters):
  """items * iters / seconds of `iters` calls of fn()."""
  t = time.perf_counter()
  for _ in range(iters):
    fn()
  return items * iters / (time.perf_counter() - t)


def interleaved(variants, items, rounds, iters, log=None):
  """({name: median rate}, {name: [rate per round]}, {name: first-call seconds}).

  variants: {name: fn}, each call processing `items` items (images, steps).
  """
  first = {}
  for name, fn in variants.items():  # build / trace every variant before timing any
    t = time.perf_counter()
    fn()
    first[name] = time.perf_counter() - t
    fn()
  rates = {name: [] for name in variants}
  for r in range(rounds):
    if log:
      log(f'round {r + 1}/{rounds}')
    for name, fn in variants.items():
      rates[name].append(rate(fn, items, iters))
  return {name: float(np.median(v)) for name, v in rates.items()}, rates, first

"""Evaluation-metric benchmarks, as JSON (`python -m tf_gans.benchmark --metrics_bench`).

  * Feature extraction: images/s of the metric code path (`fid.classifier_features`
    on the digit classifier; with --inception, `inception.inception_features`)
    vs a bare Keras `predict` of the same extractor on the same, already
    prepared inputs. The metric's overhead is 1 - ours / bare (target < 10%).
  * SWD: seconds for `swd.sliced_wasserstein` of N real vs N fake images at
    R x R (the protocol: 16384 at 128x128), descriptors and distances.
  * SWD implementations side by side (`--swd_compare=streamed,previous`):
    the level-by-level `swd.sliced_wasserstein` ('streamed') and the
    previous all-at-once `swd.reference_sliced_wasserstein` ('previous'),
    each run in its own subprocess so that its peak RSS (getrusage
    ru_maxrss of that process: Python, TensorFlow, the two uint8 image sets
    and the computation) is its own; rounds alternate the order. The
    previous implementation peaks at ~23 GB at the protocol size: compare at
    a smaller N and run 'streamed' alone at 16384.

Rates are medians over interleaved rounds (background load hits both alike).
"""

import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from tf_gans.bench import timing


def classifier_features(num=1024, rounds=3, iters=2):
  """Digit-classifier features: the FID-with-any-classifier path vs bare predict."""
  import keras  # pylint: disable=import-outside-toplevel
  from tf_gans.metrics import classifier, fid  # pylint: disable=import-outside-toplevel
  model = classifier.build_digit_classifier((32, 32, 1))
  extract = fid.classifier_features(model)
  bare = keras.Model(model.inputs, model.layers[-1].input)
  x = np.random.default_rng(0).uniform(-1, 1, [num, 32, 32, 1]).astype(np.float32)
  median, rates, _ = timing.interleaved(
      {'metric': lambda: extract(x),
       'bare_predict': lambda: bare.predict(x, batch_size=256, verbose=0)}, num, rounds, iters)
  return dict(path='classifier_features', num_images=num, images_per_sec=median,
              overhead=1 - median['metric'] / median['bare_predict'], rates_per_round=rates)


def inception_features(weights, num=64, rounds=2, iters=1):
  """FID Inception pool_3 features: `inception_features` (uint8 in) vs bare predict of
  the already resized and scaled batch."""
  from tf_gans.metrics import inception  # pylint: disable=import-outside-toplevel
  model = inception.load_fid_inception(weights)
  images = np.random.default_rng(0).integers(0, 256, [num, 64, 64, 3]).astype(np.uint8)
  prepared = inception.preprocess(images).numpy()
  median, rates, _ = timing.interleaved(
      {'metric': lambda: inception.inception_features(model, images),
       'bare_predict': lambda: model.predict(prepared, batch_size=inception.BATCH_SIZE,
                                             verbose=0)},
      num, rounds, iters)
  return dict(path='inception_features', num_images=num, images_per_sec=median,
              overhead=1 - median['metric'] / median['bare_predict'], rates_per_round=rates,
              note='the metric path includes the resize to 299x299; the bare path does not')


SWD_IMPLEMENTATIONS = {'streamed': 'sliced_wasserstein',
                       'previous': 'reference_sliced_wasserstein'}


def swd_images(num, resolution):
  """Uniform uint8 noise reals and fakes, [num, resolution, resolution, 3] each (seed 0).

  Drawn as uint8 directly: an int64 draw would briefly take 8x the images'
  memory and dominate a peak-RSS measurement.
  """
  rng = np.random.default_rng(0)
  shape = [num, resolution, resolution, 3]
  return (rng.integers(0, 256, shape, dtype=np.uint8),
          rng.integers(0, 256, shape, dtype=np.uint8))


def swd_time(num=16384, resolution=128, log=print):
  """Seconds for the PGGAN SWD of `num` vs `num` uint8 images at resolution^2."""
  from tf_gans.metrics import swd  # pylint: disable=import-outside-toplevel
  reals, fakes = swd_images(num, resolution)
  log(f'SWD of {num} vs {num} images at {resolution}x{resolution} ...', flush=True)
  t = time.perf_counter()
  result = swd.sliced_wasserstein(reals, fakes)
  return dict(num_images=num, resolution=resolution, seconds=time.perf_counter() - t,
              result=result)


def _max_rss_mb():
  import resource  # pylint: disable=import-outside-toplevel
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # KiB on Linux


def swd_worker(implementation, num, resolution):
  """One SWD run of `implementation` in this process: seconds and this process's peak RSS."""
  from tf_gans.metrics import swd  # pylint: disable=import-outside-toplevel
  fn = getattr(swd, SWD_IMPLEMENTATIONS[implementation])
  rss_start = _max_rss_mb()
  reals, fakes = swd_images(num, resolution)
  rss_before = _max_rss_mb()
  t = time.perf_counter()
  result = fn(reals, fakes)
  seconds = time.perf_counter() - t
  peak = _max_rss_mb()
  return dict(implementation=implementation, function=f'swd.{fn.__name__}', seconds=seconds,
              peak_rss_mb=peak, rss_before_images_mb=rss_start, rss_before_swd_mb=rss_before,
              swd_rss_increase_mb=peak - rss_before, result=result)


def _run_worker(implementation, num, resolution, log):
  with tempfile.TemporaryDirectory() as scratch:
    out = os.path.join(scratch, 'worker.json')
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get('TF_CPP_MIN_LOG_LEVEL', '2'))
    cmd = [sys.executable, '-m', 'tf_gans.bench.metrics', '--swd_worker', implementation,
           str(num), str(resolution), out]
    proc = subprocess.run(cmd, env=env, check=False)
    if proc.returncode:
      raise RuntimeError(f'SWD worker {implementation} exited with {proc.returncode}')
    with open(out) as f:
      report = json.load(f)
  log(f'  {implementation}: {report["seconds"]:.1f} s, peak RSS {report["peak_rss_mb"]:.0f} MB',
      flush=True)
  return report


def swd_compare(implementations=('streamed', 'previous'), num=4096, resolution=128, rounds=2,
                log=print):
  """SWD implementations side by side: per round each one once, each in a fresh subprocess.

  Odd rounds run the implementations in reverse order. Reports every run,
  each implementation's median seconds and largest peak RSS, and with both
  present the ratios previous / streamed and the largest relative
  difference of their per-level values.
  """
  unknown = [i for i in implementations if i not in SWD_IMPLEMENTATIONS]
  if unknown or not implementations:
    raise ValueError(f'--swd_compare takes a list of {", ".join(SWD_IMPLEMENTATIONS)}, '
                     f'got {",".join(implementations)}.')
  runs = {name: [] for name in implementations}
  for r in range(rounds):
    log(f'SWD compare round {r + 1}/{rounds}: {num} vs {num} at {resolution}x{resolution}',
        flush=True)
    for name in (implementations if r % 2 == 0 else list(reversed(implementations))):
      runs[name].append(_run_worker(name, num, resolution, log))
  summary = {name: dict(median_seconds=float(np.median([x['seconds'] for x in v])),
                        peak_rss_mb=max(x['peak_rss_mb'] for x in v),
                        swd_rss_increase_mb=max(x['swd_rss_increase_mb'] for x in v),
                        result=v[0]['result'])
             for name, v in runs.items()}
  report = dict(benchmark='swd_compare', num_images=num, resolution=resolution, rounds=rounds,
                memory='peak RSS = getrusage(RUSAGE_SELF).ru_maxrss of each run\'s own '
                       'subprocess (includes Python, TensorFlow and both uint8 image sets)',
                summary=summary, runs=runs)
  if 'streamed' in summary and 'previous' in summary:
    new, old = summary['streamed'], summary['previous']
    report['time_ratio_previous_over_streamed'] = old['median_seconds'] / new['median_seconds']
    report['peak_rss_ratio_previous_over_streamed'] = old['peak_rss_mb'] / new['peak_rss_mb']
    report['max_relative_difference'] = max(
        abs(new['result'][k] / old['result'][k] - 1) for k in old['result'] if old['result'][k])
  return report


def run(inception_weights=None, swd_images=16384, swd_resolution=128, rounds=3, log=print,
        swd_compare_implementations=()):
  """The metrics report; with `swd_compare_implementations`, only `swd_compare` at that size."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  if swd_compare_implementations:
    return dict(swd_compare(swd_compare_implementations, swd_images, swd_resolution, rounds, log),
                tensorflow=tf.__version__)
  report = dict(benchmark='metrics', tensorflow=tf.__version__,
                features=[classifier_features(rounds=rounds)])
  if inception_weights:
    report['features'].append(inception_features(inception_weights, rounds=rounds))
  if swd_images:
    report['swd'] = swd_time(swd_images, swd_resolution, log)
  return report


if __name__ == '__main__':
  # Internal: python -m tf_gans.bench.metrics --swd_worker IMPLEMENTATION NUM RESOLUTION OUT_JSON
  if len(sys.argv) != 6 or sys.argv[1] != '--swd_worker':
    sys.exit('usage: python -m tf_gans.bench.metrics --swd_worker streamed|previous NUM '
             'RESOLUTION OUT_JSON (internal; see python -m tf_gans.benchmark --swd_compare)')
  _report = swd_worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
  with open(sys.argv[5], 'w') as _f:
    json.dump(_report, _f, indent=1)

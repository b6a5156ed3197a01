"""Evaluation-metric benchmarks, as JSON (`python -m tf_gans.benchmark --metrics_bench`).

  * Feature extraction: images/s of the metric code path (`fid.classifier_features`
    on the digit classifier; with --inception, `inception.inception_features`)
    vs a bare Keras `predict` of the same extractor on the same, already
    prepared inputs. The metric's overhead is 1 - ours / bare (target < 10%).
  * SWD: seconds for `swd.sliced_wasserstein` of N real vs N fake images at
    R x R (the protocol: 16384 at 128x128), descriptors and distances.

Rates are medians over interleaved rounds (background load hits both alike).
"""

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


def swd_time(num=16384, resolution=128, log=print):
  """Seconds for the PGGAN SWD of `num` vs `num` uint8 images at resolution^2."""
  from tf_gans.metrics import swd  # pylint: disable=import-outside-toplevel
  rng = np.random.default_rng(0)
  reals = rng.integers(0, 256, [num, resolution, resolution, 3]).astype(np.uint8)
  fakes = rng.integers(0, 256, [num, resolution, resolution, 3]).astype(np.uint8)
  log(f'SWD of {num} vs {num} images at {resolution}x{resolution} ...', flush=True)
  t = time.perf_counter()
  result = swd.sliced_wasserstein(reals, fakes)
  return dict(num_images=num, resolution=resolution, seconds=time.perf_counter() - t,
              result=result)


def run(inception_weights=None, swd_images=16384, swd_resolution=128, rounds=3, log=print):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  report = dict(benchmark='metrics', tensorflow=tf.__version__,
                features=[classifier_features(rounds=rounds)])
  if inception_weights:
    report['features'].append(inception_features(inception_weights, rounds=rounds))
  if swd_images:
    report['swd'] = swd_time(swd_images, swd_resolution, log)
  return report

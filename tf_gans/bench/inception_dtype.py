"""FID Inception features in bfloat16 vs float32 on CPU: speed and the FID change, as JSON.

`python -m tf_gans.benchmark --inception_dtype_bench --inception=<weights.h5> --out=x.json`

The same two sets of real images (MNIST: the first N test images vs the first
N training images, N = 2100 by default) go through the FID Inception
(`tf_gans.metrics.inception`) twice, once with the float32 network and once
with a bfloat16 copy of it, through the metric's own path
(`inception.inception_features`: uint8 in, resize and scaling included,
TTUR's batch of 50). The report holds:

  * images/s of each (median over interleaved rounds: each round is one chunk
    of images through both networks, the order alternating between rounds,
    so background load on a shared machine hits both alike) and their ratio;
  * FID(float32 features) and FID(bfloat16 features) between the same two
    image sets, by the TTUR computation (`fid.frechet_distance`,
    method 'sqrtm', what `evaluate` reports) and by 'eigh', with the
    relative change |FID_bf16 - FID_f32| / FID_f32;
  * the same for a pair with a large FID from the same features (test digits
    0-4 vs training digits 5-9), so that the change is seen at both ends;
  * max / mean |feature_bf16 - feature_f32| over all images and features.

`offer_bfloat16` is true only when every relative FID change is below
`MAX_RELATIVE_FID_CHANGE` (0.1%).

The bfloat16 network (`bfloat16_model`): the graph built under Keras'
`mixed_bfloat16` policy (float32 variables cast to bfloat16 per call, every
convolution and pooling computed in bfloat16; Keras' BatchNormalization
normalises bfloat16 inputs in float32 and casts back), holding the float32
model's weights; only the final 8x8 average (pool_3) and the reshape run in
float32, so the features are not rounded to bfloat16's 8 significant bits on
the way out (they feed float64 statistics). The input stays the float32
`preprocess` output; the first convolution casts it.
"""

import os
import pathlib
import time

import numpy as np

MAX_RELATIVE_FID_CHANGE = 1e-3     # offer bfloat16 only below 0.1% of the FID
NUM_IMAGES = 2100                  # per set; >= 2048 gives full-rank covariances
CHUNK = 300                        # images per timed round and network (6 batches of 50)
METHODS = ('sqrtm', 'eigh')
DEFAULT_MNIST = pathlib.Path(__file__).resolve().parents[2].parent / 'shared' / 'data' / 'mnist'


def bfloat16_model(model):
  """A copy of the FID Inception `model` (features only) computing in bfloat16.

  Built under the `mixed_bfloat16` policy with `model`'s weights; pool_3 and
  its reshape in float32 (see the module doc). Outputs float32 [N, 2048].
  """
  import keras  # pylint: disable=import-outside-toplevel
  from keras import layers  # pylint: disable=import-outside-toplevel
  from tf_gans.metrics import inception  # pylint: disable=import-outside-toplevel
  previous = keras.config.dtype_policy()
  keras.config.set_dtype_policy('mixed_bfloat16')
  try:
    graph = inception.build_fid_inception(include_logits=False)
  finally:
    keras.config.set_dtype_policy(previous)
  source = inception.graph_variables(model)
  for name, v in inception.graph_variables(graph).items():
    v.assign(source[name])
  x = layers.AveragePooling2D(8, strides=1, padding='valid', name='pool_3', dtype='float32')(
      graph.get_layer('mixed_10.join').output)
  features = layers.Reshape((inception.NUM_FEATURES,), name='pool_3._reshape',
                            dtype='float32')(x)
  return keras.Model(graph.inputs, features, name='fid_inception_bfloat16')


def fid_change(a32, b32, a16, b16, methods=METHODS):
  """{method: {fid_float32, fid_bfloat16, relative_change}} between sets a and b.

  relative_change = |FID(a16, b16) - FID(a32, b32)| / FID(a32, b32).
  """
  from tf_gans.metrics import fid  # pylint: disable=import-outside-toplevel
  s32 = fid.statistics(a32) + fid.statistics(b32)
  s16 = fid.statistics(a16) + fid.statistics(b16)
  out = {}
  for method in methods:
    f32 = fid.frechet_distance(*s32, method=method)
    f16 = fid.frechet_distance(*s16, method=method)
    out[method] = dict(fid_float32=f32, fid_bfloat16=f16,
                       relative_change=abs(f16 - f32) / abs(f32))
  return out


def feature_diffs(f32, f16):
  """max / mean |f16 - f32| and the mean |f32| they compare with."""
  d = np.abs(np.asarray(f16, np.float64) - np.asarray(f32, np.float64))
  return dict(max_abs_diff=float(d.max()), mean_abs_diff=float(d.mean()),
              mean_abs_feature=float(np.abs(np.asarray(f32, np.float64)).mean()))


def extract(nets, images_a, images_b, chunk=CHUNK, batch_size=None, log=print):
  """Features of both image sets by every network of `nets`, timed in interleaved rounds.

  Args:
    nets: {name: FID Inception model}, e.g. float32 and `bfloat16_model`.
    images_a, images_b: [0, 255] images for `inception_features`.
    chunk: images per round and network (a multiple of the batch).
    batch_size: forward-pass batch (default: the metric's, 50).

  Returns:
    ({name: {'a': features, 'b': features}}, {name: [images/s per round]}).
  """
  from tf_gans.metrics import inception  # pylint: disable=import-outside-toplevel
  batch_size = batch_size or inception.BATCH_SIZE
  if chunk < 1 or chunk % batch_size:
    raise ValueError(f'chunk ({chunk}) must be a positive multiple of the batch ({batch_size}).')
  for net in nets.values():  # trace every network before timing any
    inception.inception_features(net, images_a[:batch_size], batch_size)
  pieces = [('a', s) for s in range(0, len(images_a), chunk)]
  pieces += [('b', s) for s in range(0, len(images_b), chunk)]
  sets = {'a': images_a, 'b': images_b}
  feats = {k: {'a': [], 'b': []} for k in nets}
  rates = {k: [] for k in nets}
  for r, (which, start) in enumerate(pieces):
    x = sets[which][start:start + chunk]
    order = list(nets) if r % 2 == 0 else list(nets)[::-1]
    for name in order:
      t = time.perf_counter()
      feats[name][which].append(inception.inception_features(nets[name], x, batch_size))
      rates[name].append(len(x) / (time.perf_counter() - t))
    log(f'round {r + 1}/{len(pieces)}: ' + ', '.join(
        f'{k} {rates[k][-1]:.2f} img/s' for k in nets), flush=True)
  return {k: {w: np.concatenate(v[w]) for w in v} for k, v in feats.items()}, rates


def summarize(feats, rates, methods=METHODS, split_labels=None):
  """The report of `extract`'s float32 and bfloat16 features and rates.

  split_labels: optional (labels_a, labels_b): also the FID change between
  a's digits 0-4 and b's digits 5-9.
  """
  f = feats
  median = {k: float(np.median(v)) for k, v in rates.items()}
  n = [len(f['float32']['a']), len(f['float32']['b'])]
  comparisons = {'a_vs_b': dict(num_images=n, **fid_change(
      f['float32']['a'], f['float32']['b'], f['bfloat16']['a'], f['bfloat16']['b'], methods))}
  if split_labels is not None:
    la, lb = (np.asarray(l) for l in split_labels)
    ia, ib = la < 5, lb >= 5
    comparisons['a_digits_0_4_vs_b_digits_5_9'] = dict(
        num_images=[int(ia.sum()), int(ib.sum())], **fid_change(
            f['float32']['a'][ia], f['float32']['b'][ib], f['bfloat16']['a'][ia],
            f['bfloat16']['b'][ib], methods))
  worst = max(c[m]['relative_change'] for c in comparisons.values() for m in methods)
  return dict(
      images_per_sec=median, bfloat16_over_float32=median['bfloat16'] / median['float32'],
      rounds=len(rates['float32']), rates_per_round=rates, fid=comparisons,
      features=feature_diffs(np.concatenate([f['float32']['a'], f['float32']['b']]),
                             np.concatenate([f['bfloat16']['a'], f['bfloat16']['b']])),
      max_relative_fid_change=worst, threshold=MAX_RELATIVE_FID_CHANGE,
      offer_bfloat16=bool(worst < MAX_RELATIVE_FID_CHANGE))


def measure(model, images_a, images_b, chunk=CHUNK, batch_size=None, methods=METHODS,
            split_labels=None, log=print):
  """`extract` by `model` (float32) and its `bfloat16_model` copy, then `summarize`."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from tf_gans.metrics import inception  # pylint: disable=import-outside-toplevel
  batch_size = batch_size or inception.BATCH_SIZE
  nets = {'float32': model, 'bfloat16': bfloat16_model(model)}
  feats, rates = extract(nets, images_a, images_b, chunk, batch_size, log)
  log('FID of both feature sets ...', flush=True)
  return dict(
      benchmark='inception_dtype', tensorflow=tf.__version__, batch_size=batch_size,
      images_per_round=chunk, **summarize(feats, rates, methods, split_labels),
      bfloat16_network='mixed_bfloat16 policy (float32 variables, bfloat16 convolutions / '
                       'pooling, batch norm in float32), pool_3 average and output in float32')


def run(weights, mnist_dir=None, num=NUM_IMAGES, chunk=CHUNK, log=print):
  """`measure` on the first `num` MNIST test images vs the first `num` training images."""
  from tf_gans.data import mnist_idx  # pylint: disable=import-outside-toplevel
  from tf_gans.metrics import inception  # pylint: disable=import-outside-toplevel
  if not weights:
    raise ValueError('--inception_dtype_bench needs --inception=<weights file>.')
  mnist_dir = os.fspath(mnist_dir or DEFAULT_MNIST)
  test = mnist_idx.load_mnist_idx(mnist_dir, 'test')
  train = mnist_idx.load_mnist_idx(mnist_dir, 'train')
  if min(test.num_examples, train.num_examples) < num:
    raise ValueError(f'{mnist_dir}: need {num} images per split, have {test.num_examples} '
                     f'test and {train.num_examples} training images.')
  model = inception.load_fid_inception(weights)
  labels = None
  if test.labels is not None and train.labels is not None:
    labels = (test.labels[:num], train.labels[:num])
  report = measure(model, test.images[:num], train.images[:num], chunk, split_labels=labels,
                   log=log)
  report['images'] = dict(a=f'{test.name} [0, {num})', b=f'{train.name} [0, {num})',
                          source=mnist_dir, weights=os.fspath(weights))
  return report

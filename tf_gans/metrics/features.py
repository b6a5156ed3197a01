"""Features of an image source, streamed and cached by content: `--features`, `--feature_cache`.

Extractors (`EXTRACTORS`, `--features=`):

  inception   pool_3 of the FID Inception (TTUR's graph, `tf_gans.metrics.inception`),
              2048-d; needs its weights file (--inception); `--resize` chooses how
              images reach its 299x299 input (`tf_gans.metrics.resize`).
  classifier  the penultimate layer of the small digit classifier trained on the
              built-in digits (`tf_gans.metrics.classifier`), 128-d, for digit data.

  vgg16       fc2 of VGG16 (4096-d), the space Kynkaanniemi et al. 2019 compute precision
              and recall in: images resized to 224x224 (bilinear) and preprocessed as
              `keras.applications.vgg16.preprocess_input`; needs its ImageNet weights file
              (--vgg16_weights: Keras' vgg16_weights_tf_dim_ordering_tf_kernels.h5, which
              Keras would download at run time; this project never does).

A registry entry is all another extractor needs.

Cache. Features are kept in `<cache>/<key>.npy`, where the key hashes the source's
content (every uint8 image it yields, in order; for generators, the weights and
the seed) with the extractor's identity (weights file hash, resize mode): a second
metric, or a second comparison against the same reals, runs no network. A pass
writes what it has computed to `<key>.partial.npy` every `SAVE_EVERY_S` seconds
and when it is interrupted (Ctrl-C / SIGTERM), so the next call continues where
it stopped.
"""

import dataclasses
import hashlib
import json
import os
import time
from typing import Callable, Dict, Optional

import numpy as np

from tf_gans import progress as progress_lib
from tf_gans.registry import Registry

EXTRACTORS = Registry('feature extractor')
SAVE_EVERY_S = 60.0  # a partial pass is saved at least this often
CACHE_ENV = 'TF_GANS_FEATURE_CACHE'


def default_cache_dir() -> str:
  """$TF_GANS_FEATURE_CACHE, else $XDG_CACHE_HOME/tf_gans/features, else ~/.cache/..."""
  if os.environ.get(CACHE_ENV):
    return os.environ[CACHE_ENV]
  base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
  return os.path.join(base, 'tf_gans', 'features')


@dataclasses.dataclass
class Extractor:
  """uint8 NHWC images -> float [n, d] features; `identity` names everything they depend on."""
  name: str
  identity: Dict[str, object]
  extract: Callable[[np.ndarray], np.ndarray]


def file_sha256(path: str, chunk: int = 1 << 22) -> str:
  digest = hashlib.sha256()
  with open(path, 'rb') as f:
    for block in iter(lambda: f.read(chunk), b''):
      digest.update(block)
  return digest.hexdigest()


@EXTRACTORS.register('inception')
def inception_extractor(inception='', resize='legacy_tf', batch_size=50, model=None, **_):
  """pool_3 of the FID Inception in `inception` (`model`: that file already loaded)."""
  from tf_gans.metrics import inception as inception_lib  # pylint: disable=import-outside-toplevel
  from tf_gans.metrics import resize as resize_lib  # pylint: disable=import-outside-toplevel
  resize_lib.get(resize)
  if not inception:
    raise ValueError('--features=inception needs --inception=<weights file> (make one with '
                     '`python -m tf_gans.tools.import_inception`), or use --features=classifier '
                     'for digit data.')
  if not os.path.isfile(inception):
    raise FileNotFoundError(f'--inception={inception}: no such file; make one with '
                            '`python -m tf_gans.tools.import_inception`.')
  model = model or inception_lib.load_fid_inception(inception)
  return Extractor('inception', {'features': 'inception pool_3', 'weights_sha256':
                                 file_sha256(inception), 'resize': resize},
                   lambda x: inception_lib.inception_features(model, x, batch_size, resize))


def weights_sha256(model) -> str:
  """sha256 over a Keras model's weights (what its features depend on)."""
  digest = hashlib.sha256()
  for w in model.get_weights():
    digest.update(np.ascontiguousarray(w).tobytes())
  return digest.hexdigest()


def array_source(spec, images):
  """An in-memory uint8 [N, H, W, C] array as a `sources.ImageSource` (kind 'array')."""
  from tf_gans.metrics import sources  # pylint: disable=import-outside-toplevel
  images = np.asarray(images)
  if images.dtype != np.uint8 or images.ndim != 4:
    raise ValueError(f'{spec}: expected uint8 [N, H, W, C] images, got {images.dtype} '
                     f'{images.shape}.')
  return sources.ImageSource(spec, 'array', len(images), tuple(images.shape[1:]),
                             lambda first, count: images[first:first + count])


@EXTRACTORS.register('classifier')
def classifier_extractor(classifier_epochs=2, seed=0, **_):
  # pylint: disable=import-outside-toplevel
  from tf_gans import data as data_lib
  from tf_gans.metrics import classifier
  from tf_gans.metrics import fid
  model = classifier.train_digit_classifier(data_lib.load_source('digits', 'train'),
                                            epochs=classifier_epochs, seed=seed)
  features = fid.classifier_features(model)

  def extract(images):
    if images.shape[1:3] != tuple(model.input_shape[1:3]):
      raise ValueError(f'--features=classifier reads {model.input_shape[1]}x'
                       f'{model.input_shape[2]} digit images; got {images.shape[1]}x'
                       f'{images.shape[2]}: use --features=inception.')
    return features(classifier.to_range(images.astype(np.float32) / 255.0, (-1.0, 1.0)))
  return Extractor('classifier', {'features': 'digit classifier penultimate layer',
                                  'weights_sha256': weights_sha256(model)}, extract)


@EXTRACTORS.register('vgg16')
def vgg16_extractor(vgg16_weights='', batch_size=50, **_):
  import keras  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  if not vgg16_weights:
    raise ValueError('--features=vgg16 needs --vgg16_weights=<file>: the ImageNet weights of '
                     'keras.applications.VGG16 (vgg16_weights_tf_dim_ordering_tf_kernels.h5, from '
                     'the Keras applications release on GitHub); nothing is downloaded here.')
  if not os.path.isfile(vgg16_weights):
    raise FileNotFoundError(f'--vgg16_weights={vgg16_weights}: no such file.')
  net = keras.applications.VGG16(weights=vgg16_weights, include_top=True)
  fc2 = keras.Model(net.input, net.get_layer('fc2').output)

  def extract(images):
    out = []
    for first in range(0, len(images), batch_size):
      x = tf.image.resize(tf.cast(images[first:first + batch_size], tf.float32), (224, 224))
      if x.shape[-1] == 1:
        x = tf.tile(x, [1, 1, 1, 3])
      x = keras.applications.vgg16.preprocess_input(x)
      out.append(np.asarray(fc2(x, training=False), np.float64))
    return np.concatenate(out)
  return Extractor('vgg16', {'features': 'vgg16 fc2', 'weights_sha256': file_sha256(vgg16_weights),
                             'resize': 'tf bilinear 224'}, extract)


def get_extractor(name, **options) -> Extractor:
  EXTRACTORS.check_flag('features', name)
  return EXTRACTORS.get(name)(**options)


def content_key(source, batch_size: int = 256) -> str:
  """sha256 over what `source` yields: its shape, then every image in order (cheap beside any
  network: a decode pass). Generators hash their `info` (weights, seed, count) instead."""
  digest = hashlib.sha256(json.dumps([source.num, list(source.image_shape)]).encode())
  if source.kind == 'generator' and 'weights_sha256' in source.info:
    digest.update(json.dumps(source.info, sort_keys=True, default=str).encode())
    return digest.hexdigest()
  for _, batch in source.batches(batch_size):
    digest.update(np.ascontiguousarray(batch).tobytes())
  return digest.hexdigest()


def source_features(source, extractor: Extractor, cache_dir: Optional[str] = None,
                    batch_size: int = 50, show_progress: bool = True, what: str = '') -> np.ndarray:
  """float64 [N, d] features of `source`, from the cache when there, else computed and cached.

  `cache_dir=''` turns the cache off. An interrupted pass (KeyboardInterrupt) keeps the
  features computed so far in `<key>.partial.npy` and re-raises; the next call resumes.
  """
  label = what or source.spec
  if cache_dir == '':
    return _compute(source, extractor, batch_size, show_progress, label, None, None)
  cache_dir = cache_dir or default_cache_dir()
  key = hashlib.sha256(json.dumps([content_key(source), extractor.identity],
                                  sort_keys=True).encode()).hexdigest()[:32]
  final = os.path.join(cache_dir, f'{key}.npy')
  if os.path.exists(final):
    features = np.load(final, allow_pickle=False)
    if len(features) == source.num:
      return features
  os.makedirs(cache_dir, exist_ok=True)
  partial_path = os.path.join(cache_dir, f'{key}.partial.npy')
  done = np.load(partial_path, allow_pickle=False) if os.path.exists(partial_path) else None
  features = _compute(source, extractor, batch_size, show_progress, label, done, partial_path)
  _save(final, features)
  if os.path.exists(partial_path):
    os.remove(partial_path)
  with open(os.path.join(cache_dir, f'{key}.json'), 'w') as f:
    json.dump({'source': source.describe(), 'extractor': extractor.identity}, f, indent=2,
              default=str)
  return features


def _save(path, array):
  tmp = f'{path[:-4]}.tmp-{os.getpid()}.npy'
  np.save(tmp, array)
  os.replace(tmp, path)


def _compute(source, extractor, batch_size, show_progress, label, done, partial_path):
  parts = [] if done is None or not len(done) else [np.asarray(done, np.float64)]
  start = 0 if done is None else len(done)
  counter = progress_lib.Progress(f'{extractor.name} features of {label}', source.num, 'images',
                                  enabled=show_progress)
  if start:
    counter.update(start, force=True)
  last_save = time.monotonic()
  try:
    for first, batch in source.batches(batch_size, start=start):
      parts.append(np.asarray(extractor.extract(batch), np.float64))
      counter.update(first + len(batch))
      if partial_path and time.monotonic() - last_save > SAVE_EVERY_S:
        _save(partial_path, np.concatenate(parts))
        last_save = time.monotonic()
  except KeyboardInterrupt:
    if partial_path and parts:
      _save(partial_path, np.concatenate(parts))
      kept = sum(len(p) for p in parts)
      counter.finish()
      raise KeyboardInterrupt(f'{label}: {kept} of {source.num} feature rows kept in '
                              f'{partial_path}; the next call continues from there') from None
    raise
  counter.finish()
  return np.concatenate(parts)

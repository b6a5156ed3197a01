"""What the evaluate metrics share: their options, their inputs computed once, image helpers.

An `Evaluation` holds what several metrics share and computes each thing
once: the generator's uint8 samples, the real images of --data/--split, the
feature extractor and features. The metric adapters that read it are named
in tf_gans.metrics.protocols; the PGGAN presets (tf_gans.metrics.presets)
and the RGAN FID (tf_gans.metrics.rgan_fid) read it too.

Features (`--features`): `inception` (the FID Inception of
tf_gans.metrics.inception, from a weights file made by
`python -m tf_gans.tools.import_inception`) or `classifier` (the digit
classifier of tf_gans.metrics.classifier trained on the labels of
--data/--split: a domain "Frechet classifier distance" / classifier score
for MNIST-like data, where no Inception weights are needed).

Real images: the first N of --data/--split in the dataset's order (N =
--num_reals, default --num_samples), as uint8 NHWC, each flipped along the
width with p = 0.5 under --mirror_augment (`mirror_augment`, the original
PGGAN's `misc.apply_mirror_augment`); the generator's samples come from its
`generate` signature (uint8) with --seed, in chunks of `GENERATE_CHUNK`.
Greyscale is tiled to RGB for the Inception (`to_rgb`, the original's
`np.tile(images, [1, 3, 1, 1])`).
"""

import dataclasses
import os
import sys
import time
from typing import Any, Callable, Dict, Optional

import numpy as np

FEATURES = ('inception', 'classifier')
MIRROR_STREAM = 7     # first words of the mirror-augment draws: [seed, MIRROR_STREAM, pass]
GENERATE_CHUNK = 500  # images per `generate` call


def progress(what: str, done: int, total: int, start: float, enabled: bool) -> None:
  """'what: done/total (rate/s)' on one stderr line, ended when done reaches total."""
  if not enabled:
    return
  elapsed = time.perf_counter() - start
  rate = done / elapsed if elapsed > 0 else 0.0
  end = '\n' if done >= total else ''
  sys.stderr.write(f'\r{what}: {done}/{total} ({rate:.0f}/s)' + end)
  sys.stderr.flush()


def generator_samples(module, num, seed, batch=1000):
  """`num` samples in [0, 1] from an export's `sample` signature, in batches."""
  if module is None:
    raise ValueError('this metric needs --model=<generator SavedModel>.')
  sample = module.signatures['sample']
  out = []
  for start in range(0, num, batch):
    n = min(batch, num - start)
    out.append(sample(seed=seed + start, num=n)['images'].numpy())
  return np.concatenate(out)


@dataclasses.dataclass
class Options:
  """What the metrics read (the evaluate flags of the same names)."""
  data: str = 'digits'
  split: str = 'test'
  pad_to: int = 0
  num_samples: int = 10000
  num_reals: int = 0                   # 0: num_samples
  seed: int = 0
  features: str = 'inception'
  inception: str = ''                  # weights file of the FID Inception
  fid_stats: str = ''                  # TTUR .npz of the reals (read if it exists, else written)
  classifier_epochs: int = 2
  nn_out: str = ''
  nn_num: int = 8
  nn_k: int = 3
  progress: bool = True
  batch_size: int = 50
  mirror_augment: bool = False         # the run trained with mirror augment: flip reals, p = 0.5
  fid_small_sample: bool = False       # fid: allow --num_samples <= 2048 (rank-deficient S_g)
  fid_method: str = 'sqrtm'            # fid: 'sqrtm' (TTUR) or 'eigh' (same trace, faster)
  num_images: int = 0                  # presets: images per pass (0: the preset's count)
  warmup: bool = True                  # presets: untimed noise minibatch first
  extra: Dict[str, Any] = dataclasses.field(default_factory=dict)


class Evaluation:
  """Lazily computed, shared inputs of the metrics of one evaluate run."""

  def __init__(self, module, options: Options):
    self.module = module
    self.opt = options
    self._cache: Dict[str, Any] = {}

  def _once(self, key: str, make: Callable[[], Any]):
    if key not in self._cache:
      self._cache[key] = make()
    return self._cache[key]

  # -------------------------------------------------------------------- images

  def source(self, split: Optional[str] = None):
    from tf_gans import data as data_lib  # pylint: disable=import-outside-toplevel
    split = split or self.opt.split
    options = {'pad_to': self.opt.pad_to} if self.opt.pad_to else {}
    return self._once(f'source:{split}',
                      lambda: data_lib.load_source(self.opt.data, split=split, **options))

  def reals(self) -> np.ndarray:
    """uint8 NHWC: the first num_reals images of --data/--split."""
    def make():
      source = self.source()
      want = self.opt.num_reals or self.opt.num_samples
      if source.num_examples < want:
        raise ValueError(f'--data={self.opt.data} --split={self.opt.split} holds '
                         f'{source.num_examples} images; the metrics need --num_reals='
                         f'{want} (lower --num_reals / --num_samples or use a larger split).')
      images = to_uint8(source, source.images[:want])
      if self.opt.mirror_augment:
        images = mirror_augment(images, mirror_rng(self.opt.seed, 0))
      return images
    return self._once('reals', make)

  def fakes(self) -> np.ndarray:
    """uint8 NHWC: --num_samples generator samples (its `generate` signature, --seed)."""
    def make():
      if self.module is None:
        raise ValueError('this metric needs --model=<generator SavedModel>.')
      generate = self.module.signatures['generate']
      total, out, start = self.opt.num_samples, [], time.perf_counter()
      for first in range(0, total, GENERATE_CHUNK):
        num = min(GENERATE_CHUNK, total - first)
        out.append(generate(seed=self.opt.seed + first, num=num)['images'].numpy())
        progress('generating', first + num, total, start, self.opt.progress)
      return np.concatenate(out)
    return self._once('fakes', make)

  def fakes_float(self) -> np.ndarray:
    """Generator samples in [0, 1] (float32), for the Parzen estimate."""
    return self._once('fakes_float', lambda: generator_samples(
        self.module, self.opt.num_samples, self.opt.seed))

  # ------------------------------------------------------------------ features

  def digit_classifier(self):
    from tf_gans.metrics import classifier  # pylint: disable=import-outside-toplevel
    return self._once('classifier', lambda: classifier.train_digit_classifier(
        self.source(), epochs=self.opt.classifier_epochs, seed=self.opt.seed))

  def inception_model(self):
    from tf_gans.metrics import inception  # pylint: disable=import-outside-toplevel
    if not self.opt.inception:
      raise ValueError('--features=inception needs --inception=<weights file> (make one with '
                       '`python -m tf_gans.tools.import_inception`), or use '
                       '--features=classifier.')
    return self._once('inception', lambda: inception.load_fid_inception(self.opt.inception))

  def classifier_input(self, images_uint8):
    """uint8 images -> the digit classifier's input range [-1, 1]."""
    from tf_gans.metrics import classifier  # pylint: disable=import-outside-toplevel
    return classifier.to_range(images_uint8.astype(np.float32) / 255.0, (-1.0, 1.0))

  def features(self, which: str) -> np.ndarray:
    """float64 [N, d] features of 'reals' or 'fakes' with --features."""
    def make():
      images = self.reals() if which == 'reals' else self.fakes()
      if self.opt.features == 'classifier':
        from tf_gans.metrics import fid  # pylint: disable=import-outside-toplevel
        extract = fid.classifier_features(self.digit_classifier())
        convert = self.classifier_input
      else:
        from tf_gans.metrics import inception  # pylint: disable=import-outside-toplevel
        model = self.inception_model()
        extract = lambda x: inception.inception_features(model, x, self.opt.batch_size)
        convert = lambda x: x
      out, start, step = [], time.perf_counter(), max(self.opt.batch_size, 1) * 10
      for first in range(0, len(images), step):
        out.append(np.asarray(extract(convert(images[first:first + step])), np.float64))
        progress(f'{self.opt.features} features of the {which}', min(first + step, len(images)),
                 len(images), start, self.opt.progress)
      return np.concatenate(out)
    return self._once(f'features:{which}', make)

  def real_statistics(self):
    """(mu, sigma) of the reals: from --fid_stats if it exists, else computed (and saved there)."""
    from tf_gans.metrics import fid  # pylint: disable=import-outside-toplevel
    path = self.opt.fid_stats
    if path and os.path.exists(path):
      return fid.load_statistics(path), f'{path} (cached)'
    stats = full_rank_statistics('real', self.features('reals'))
    if path:
      fid.save_statistics(path, *stats)
    return stats, f'{self.opt.data} {self.opt.split} [:{len(self.reals())}]'


# ---------------------------------------------------------------------- images


def to_uint8(source, images) -> np.ndarray:
  """Stored images of `source` as uint8 NHWC on 0..255."""
  if images.dtype == np.uint8 and abs(source.scale * 255 - 1) < 1e-12:
    return images
  return np.clip(np.rint(images.astype(np.float64) * source.scale * 255), 0, 255).astype(np.uint8)


def mirror_rng(seed: int, real_pass: int) -> np.random.Generator:
  """The mirror-augment draws of reals pass `real_pass`."""
  return np.random.default_rng([seed, MIRROR_STREAM, real_pass])


def mirror_augment(images, rng: np.random.Generator) -> np.ndarray:
  """Each NHWC image flipped along the width with p = 0.5 (original `misc.apply_mirror_augment`).

  One uniform draw per image, in order, so a set gets the same flips
  whatever minibatches it is cut into.
  """
  images = np.array(images)
  flip = rng.random(len(images)) < 0.5
  images[flip] = images[flip, :, ::-1]
  return images


def to_rgb(images) -> np.ndarray:
  """Greyscale NHWC tiled to 3 channels (the original's grayscale => RGB); others unchanged."""
  images = np.asarray(images)
  return np.tile(images, [1, 1, 1, 3]) if images.shape[-1] == 1 else images


# -------------------------------------------------------------------- features


def full_rank_statistics(name, features, small_sample: bool = False):
  """(mu, sigma) of `features`; refuses n <= d unless `small_sample` (--fid_small_sample)."""
  from tf_gans.metrics import fid  # pylint: disable=import-outside-toplevel
  n, d = features.shape
  if n <= d and not small_sample:
    raise ValueError(f'FID needs more {name} images than feature dimensions for a full-rank '
                     f'covariance: got {n} images of {d}-d features, need at least {d + 1} '
                     f'(the protocol uses 10000 or 50000; raise --num_samples / --num_reals).')
  return fid.statistics(features)


def image_features(ev: Evaluation, images) -> np.ndarray:
  """Features of uint8 images with --features (Inception: RGB; the digit classifier: as stored)."""
  if ev.opt.features == 'classifier':
    from tf_gans.metrics import fid  # pylint: disable=import-outside-toplevel
    extract = ev._once('classifier_features',  # pylint: disable=protected-access
                       lambda: fid.classifier_features(ev.digit_classifier()))
    return extract(ev.classifier_input(images))
  from tf_gans.metrics import inception  # pylint: disable=import-outside-toplevel
  return inception.inception_features(ev.inception_model(), to_rgb(images), ev.opt.batch_size)


def image_logits(ev: Evaluation, images) -> np.ndarray:
  """Class logits of uint8 images: the Inception's (RGB) or the digit classifier's."""
  if ev.opt.features == 'classifier':
    from tf_gans.metrics import inception_score  # pylint: disable=import-outside-toplevel
    return inception_score.classifier_logits(ev.digit_classifier(), ev.classifier_input(images))
  from tf_gans.metrics import inception  # pylint: disable=import-outside-toplevel
  return inception.inception_logits(ev.inception_model(), to_rgb(images), ev.opt.batch_size)


# ------------------------------------------------------------ conditional exports


def label_size(module) -> int:
  """How many label inputs an export's generator takes (0: unconditional)."""
  size = getattr(module, 'label_size', 0)
  return int(size.numpy()) if hasattr(size, 'numpy') else int(size)


def generate_with_labels(module, seed: int, labels) -> np.ndarray:
  """uint8 NHWC images of a conditional export for `labels` [n, label_size].

  The latents are those `generate(seed, n)` draws (savedmodel.fixed_latents);
  the images are mapped to uint8 as `generate` does.
  """
  from tf_gans.models import savedmodel  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  dist = module.latent_distribution
  dist = dist.numpy() if hasattr(dist, 'numpy') else dist
  dist = dist.decode() if isinstance(dist, bytes) else str(dist)
  dim = module.latent_dim
  dim = int(dim.numpy()) if hasattr(dim, 'numpy') else int(dim)
  lo, hi = (float(v) for v in np.asarray(module.value_range))
  latents = savedmodel.fixed_latents(dist, len(labels), dim, seed)
  images = module.signatures['serving_default'](
      latents=latents, labels=tf.constant(labels, tf.float32))['images'].numpy()
  unit = np.clip((images - lo) / (hi - lo), 0.0, 1.0)
  return np.round(unit * 255.0).astype(np.uint8)

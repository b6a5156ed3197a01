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
import time
from typing import Any, Callable, Dict, Optional

import numpy as np

from tf_gans.data.source import to_uint8  # pylint: disable=unused-import (its home before)

FEATURES = ('inception', 'classifier', 'vgg16')
MIRROR_STREAM = 7     # first words of the mirror-augment draws: [seed, MIRROR_STREAM, pass]
GENERATE_CHUNK = 500  # images per `generate` call


def progress(what: str, done: int, total: int, start: float, enabled: bool) -> None:
  """'what: done/total (rate/s)' on stderr through `tf_gans.progress` (redrawn on a terminal,
  throttled plain lines in a file or pipe), ended when done reaches total."""
  from tf_gans import progress as progress_lib  # pylint: disable=import-outside-toplevel
  progress_lib.report(what, done, total, start, enabled)


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
  vgg16_weights: str = ''              # --features=vgg16: Keras' VGG16 ImageNet weights file
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
  ci: float = 0.0                      # bootstrap interval coverage (e.g. 0.95); 0: none
  ci_resamples: int = 100              # bootstrap resamples per interval
  reals: str = ''                      # --reals=SOURCE (tf_gans.metrics.sources): with --fakes,
  fakes: str = ''                      # any two image sources instead of --data / --model
  resize: str = 'legacy_tf'            # Inception input resize (tf_gans.metrics.resize)
  feature_cache: Optional[str] = None  # features cache folder (None: the default; '': off)
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

  @property
  def compares_sources(self) -> bool:
    """--reals / --fakes: two image sources (tf_gans.metrics.sources), no --data / --model."""
    return bool(self.opt.reals)

  def image_source(self, which: str):
    """The `sources.ImageSource` of --reals or --fakes ('reals' / 'fakes'), opened once: all its
    images, or the first --num_reals / typed --num_samples (a generator: --num_samples)."""
    from tf_gans.metrics import sources  # pylint: disable=import-outside-toplevel
    spec = self.opt.reals if which == 'reals' else self.opt.fakes
    # Stored images: all of them unless a count is typed; a generator: --num_samples.
    num = self.opt.num_reals if which == 'reals' else self.opt.num_images
    return self._once(f'image_source:{which}', lambda: sources.open_source(
        spec, num=num or None, seed=self.opt.seed, what=f'--{which}',
        generator_num=self.opt.num_samples))

  def extractor(self):
    """The --features extractor of `tf_gans.metrics.features` (the Inception shared with the
    logits of `inception_model`: loaded once)."""
    from tf_gans.metrics import features  # pylint: disable=import-outside-toplevel
    model = self.inception_model() if self.opt.features == 'inception' else None
    return self._once('extractor', lambda: features.get_extractor(
        self.opt.features, inception=self.opt.inception, resize=self.opt.resize,
        batch_size=self.opt.batch_size, classifier_epochs=self.opt.classifier_epochs,
        seed=self.opt.seed, vgg16_weights=self.opt.vgg16_weights, model=model))

  def extractor_identity(self):
    """The identity of the --features extractor if one was built (what the features depend on)."""
    built = self._cache.get('extractor')
    return built.identity if built is not None else None

  def _source_images(self, which: str) -> np.ndarray:
    source = self.image_source(which)
    return np.concatenate([batch for _, batch in source.batches(GENERATE_CHUNK)])

  def source(self, split: Optional[str] = None):
    from tf_gans import data as data_lib  # pylint: disable=import-outside-toplevel
    split = split or self.opt.split
    options = {'pad_to': self.opt.pad_to} if self.opt.pad_to else {}
    return self._once(f'source:{split}',
                      lambda: data_lib.load_source(self.opt.data, split=split, **options))

  def reals(self) -> np.ndarray:
    """uint8 NHWC: the first num_reals images of --data/--split (or of --reals)."""
    if self.compares_sources:
      return self._once('reals', lambda: self._source_images('reals'))

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
    """uint8 NHWC: --num_samples generator samples (its `generate` signature, --seed), or --fakes."""
    if self.compares_sources:
      return self._once('fakes', lambda: self._source_images('fakes'))

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

  def array_extractor(self):
    """The --features extractor of --data / --model evaluations: `extractor()`, except the
    digit classifier, which is trained on --data's labels (its weights in the cache key)."""
    from tf_gans.metrics import features  # pylint: disable=import-outside-toplevel
    if self.opt.features != 'classifier':
      return self.extractor()

    def make():
      from tf_gans.metrics import fid  # pylint: disable=import-outside-toplevel
      model = self.digit_classifier()
      extract = fid.classifier_features(model)
      return features.Extractor('classifier', {
          'features': f'digit classifier trained on {self.opt.data}@{self.opt.split}',
          'weights_sha256': features.weights_sha256(model)},
          lambda x: extract(self.classifier_input(x)))
    return self._once('array_extractor', make)

  def features(self, which: str) -> np.ndarray:
    """float64 [N, d] features of 'reals' or 'fakes' with --features.

    Through `tf_gans.metrics.features`: cached by content (--feature_cache; '' off), an
    interrupted pass continued by the next call. With --reals / --fakes the sources stream.
    """
    if self.compares_sources:
      from tf_gans.metrics import features  # pylint: disable=import-outside-toplevel
      source = self.image_source(which)
      return self._once(f'features:{which}', lambda: features.source_features(
          source, self.extractor(), self.opt.feature_cache, self.opt.batch_size,
          self.opt.progress, what=f'the {which} ({source.spec})'))

    def make():
      from tf_gans.metrics import features  # pylint: disable=import-outside-toplevel
      images = self.reals() if which == 'reals' else self.fakes()
      spec = (f'{self.opt.data}@{self.opt.split}' if which == 'reals'
              else f'generator samples (seed {self.opt.seed})')
      return features.source_features(
          features.array_source(spec, images), self.array_extractor(), self.opt.feature_cache,
          max(self.opt.batch_size, 1) * 10, self.opt.progress, what=f'the {which}')
    return self._once(f'features:{which}', make)

  def fake_logits(self) -> np.ndarray:
    """float64 [N, K] class logits of the generated samples (Inception or digit classifier)."""
    return self._once('logits:fakes',
                      lambda: np.asarray(image_logits(self, self.fakes()), np.float64))

  def real_statistics(self):
    """(mu, sigma) of the reals: from --fid_stats if it exists, else computed (and saved there)."""
    from tf_gans.metrics import fid  # pylint: disable=import-outside-toplevel
    path = self.opt.fid_stats
    if path and os.path.exists(path):
      return fid.load_statistics(path), f'{path} (cached)'
    stats = full_rank_statistics('real', self.features('reals'))
    if path:
      fid.save_statistics(path, *stats)
    if self.compares_sources:
      return stats, f'{self.opt.reals} [:{len(self.features("reals"))}]'
    return stats, f'{self.opt.data} {self.opt.split} [:{len(self.reals())}]'


# ---------------------------------------------------------------------- images


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
  return inception.inception_features(ev.inception_model(), to_rgb(images), ev.opt.batch_size,
                                      ev.opt.resize)


def image_logits(ev: Evaluation, images) -> np.ndarray:
  """Class logits of uint8 images: the Inception's (RGB) or the digit classifier's."""
  if ev.opt.features == 'classifier':
    from tf_gans.metrics import inception_score  # pylint: disable=import-outside-toplevel
    return inception_score.classifier_logits(ev.digit_classifier(), ev.classifier_input(images))
  from tf_gans.metrics import inception  # pylint: disable=import-outside-toplevel
  return inception.inception_logits(ev.inception_model(), to_rgb(images), ev.opt.batch_size,
                                    ev.opt.resize)


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


# ------------------------------------------------ feature metrics and intervals
#
# The adapters (Evaluation) -> dict of the metrics computed from the features
# (and logits) above; `FEATURE_METRICS` names them as users type them.


def _counts(ev: Evaluation) -> Dict[str, Any]:
  return {'num_reals': len(ev.features('reals')), 'num_samples': len(ev.features('fakes')),
          'features': ev.opt.features}


def _interval_options(ev: Evaluation) -> Dict[str, Any]:
  """The bootstrap arguments of --ci / --ci_resamples / --seed, checked (ValueError naming them)."""
  ci, resamples = ev.opt.ci, ev.opt.ci_resamples
  if not 0.0 < ci < 1.0:
    raise ValueError(f'--ci must be 0 (no intervals) or a coverage in (0, 1) such as 0.95, got '
                     f'{ci}.')
  if isinstance(resamples, bool) or int(resamples) != resamples or resamples < 2:
    raise ValueError(f'--ci_resamples must be an integer >= 2, got {resamples}.')
  return {'ci': float(ci), 'num_resamples': int(resamples), 'seed': ev.opt.seed}


def _intervals(intervals) -> Dict[str, Any]:
  return {name: interval.to_dict() for name, interval in intervals.items()}


def manifold_counts(ev: Evaluation) -> Dict[int, Dict[str, np.ndarray]]:
  """prdc.manifold_counts of the reals and fakes at k = 3 and 5, from one distance pass, cached.

  precision_recall (k = 3) and density_coverage (k = 5) share the pairwise
  distances, the cost of both.
  """
  from tf_gans.metrics import prdc  # pylint: disable=import-outside-toplevel
  ks = (prdc.PRECISION_RECALL_K, prdc.DENSITY_COVERAGE_K)
  make = lambda: prdc.manifold_counts_per_k(ev.features('reals'), ev.features('fakes'), ks)
  return ev._once('manifold_counts', make)  # pylint: disable=protected-access


def _manifold_metric(ev: Evaluation, names, k: int) -> Dict[str, Any]:
  """precision/recall or density/coverage at k, with bootstrap intervals under --ci."""
  from tf_gans.metrics import bootstrap, prdc  # pylint: disable=import-outside-toplevel
  options = _interval_options(ev) if ev.opt.ci else None
  counts = manifold_counts(ev)[k]
  values = prdc.values_from_counts(counts, k)
  out = {name: values[name] for name in names}
  out.update({'k': k, **_counts(ev)})
  if options:
    out['ci'] = _intervals(bootstrap.intervals_from_counts(counts, k, names, **options))
  return out


def precision_recall_metric(ev: Evaluation) -> Dict[str, Any]:
  """Improved precision and recall, k = 3 (Kynkaanniemi et al. 2019; tf_gans.metrics.prdc)."""
  from tf_gans.metrics import prdc  # pylint: disable=import-outside-toplevel
  return _manifold_metric(ev, ('precision', 'recall'), prdc.PRECISION_RECALL_K)


def density_coverage_metric(ev: Evaluation) -> Dict[str, Any]:
  """Density and coverage, k = 5 (Naeem et al. 2020; tf_gans.metrics.prdc)."""
  from tf_gans.metrics import prdc  # pylint: disable=import-outside-toplevel
  return _manifold_metric(ev, ('density', 'coverage'), prdc.DENSITY_COVERAGE_K)


def infinity_smallest(num: int, flag_note: str, dims: int = 0) -> int:
  """The first N of the FID_inf / IS_inf fit, for `num` samples.

  Chong and Forsyth fit N from 5000 to 50,000 (a tenth to all); smaller
  evaluations keep a tenth, raised to dims + 1 where each FID_N needs a
  full-rank covariance of `dims`-d features. The fit needs N to span at least
  a factor 2, else ValueError (`flag_note` says what to raise).
  """
  from tf_gans.metrics import fid_infinity  # pylint: disable=import-outside-toplevel
  smallest = min(fid_infinity.SMALLEST, max(num // 10, dims + 1, 2))
  if 2 * smallest > num:
    raise ValueError(f'the 1/N fit evaluates N from {smallest} to --num_samples={num}, which '
                     f'must be at least {2 * smallest}{flag_note} (the paper: 50000).')
  return smallest


def fid_infinity_metric(ev: Evaluation) -> Dict[str, Any]:
  """FID extrapolated to infinitely many samples (Chong and Forsyth 2020)."""
  from tf_gans.metrics import fid_infinity  # pylint: disable=import-outside-toplevel
  (mu_r, sigma_r), reals_from = ev.real_statistics()
  fakes = ev.features('fakes')
  full_rank = not ev.opt.fid_small_sample
  smallest = infinity_smallest(
      len(fakes), ': each N must exceed the feature dimensions for a full-rank covariance, '
      'or pass --fid_small_sample' if full_rank else '', fakes.shape[1] if full_rank else 0)
  result = fid_infinity.fid_infinity((mu_r, sigma_r), fakes, seed=ev.opt.seed,
                                     smallest=smallest, method=ev.opt.fid_method)
  return {**result, 'reals': reals_from, 'num_samples': len(fakes),
          'features': ev.opt.features}


def is_infinity_metric(ev: Evaluation) -> Dict[str, Any]:
  """Inception score (one split) extrapolated to infinitely many samples (Chong and Forsyth)."""
  from tf_gans.metrics import fid_infinity  # pylint: disable=import-outside-toplevel
  logits = ev.fake_logits()
  smallest = infinity_smallest(len(logits), '')
  result = fid_infinity.is_infinity(logits, seed=ev.opt.seed, smallest=smallest)
  return {**result, 'num_samples': len(logits), 'features': ev.opt.features}


# name -> adapter, for the metric registry of tf_gans.metrics.protocols.
FEATURE_METRICS = {
    'precision_recall': precision_recall_metric,
    'density_coverage': density_coverage_metric,
    'fid_inf': fid_infinity_metric,
    'is_inf': is_infinity_metric,
}


def confidence_interval(ev: Evaluation, name: str) -> Dict[str, Any]:
  """{'ci': interval dict} of 'fid' or 'kid' under --ci (tf_gans.metrics.bootstrap); {} without.

  FID: reals and fakes resampled, or the fakes only when the reals come as
  statistics from an existing --fid_stats file; --fid_method as the value.
  KID: as the kid metric (fid.kernel_distance defaults, seed 0), resampled.
  """
  if not ev.opt.ci:
    return {}
  from tf_gans.metrics import bootstrap  # pylint: disable=import-outside-toplevel
  if name not in ('fid', 'kid'):
    raise ValueError(f'--ci applies to fid, kid, precision_recall and density_coverage; '
                     f'not to {name!r}.')
  options = _interval_options(ev)
  fakes = ev.features('fakes')
  if name == 'fid':
    path = ev.opt.fid_stats
    real = ev.real_statistics()[0] if path and os.path.exists(path) else ev.features('reals')
    interval = bootstrap.fid_interval(real, fakes, method=ev.opt.fid_method, **options)
  else:
    # The kid metric's value uses the subset seed 0 (fid.kernel_distance's default).
    interval = bootstrap.kid_interval(ev.features('reals'), fakes, subset_seed=0, **options)
  return {'ci': interval.to_dict()}

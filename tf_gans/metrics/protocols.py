"""The metrics `python -m tf_gans.evaluate` runs, each as its paper's protocol, by name.

`METRICS` maps a name to a function `(Evaluation) -> dict`. An `Evaluation`
holds what several metrics share and computes each thing once: the
generator's uint8 samples, the real images of --data/--split, the feature
extractor and features.

  parzen            GAN 2014 Table 1 (tf_gans.metrics.parzen)
  digit_confidence  share of samples a digit classifier (trained on --data labels) is sure of
  fid               Frechet distance of features (TTUR fid.py, as RGAN and PGGAN use it)
  kid               kernel Inception distance (Binkowski et al. 2018)
  is                Inception score (improved-gan, as PGGAN), or a classifier score
  swd               sliced Wasserstein distance x 1e3 per level and average (PGGAN s5 / App. D)
  ms_ssim           mean MS-SSIM of generated pairs (PGGAN, diversity), and of real pairs
  nn                nearest training images of samples, pixel and feature space (PNG grid)

Features (`--features`): `inception` (the FID Inception of
tf_gans.metrics.inception, from a weights file made by
`python -m tf_gans.tools.import_inception`) or `classifier` (the digit
classifier of tf_gans.metrics.classifier trained on the labels of
--data/--split: a domain "Frechet classifier distance" / classifier score
for MNIST-like data, where no Inception weights are needed).

Real images: the first N of --data/--split in the dataset's order (N =
--num_reals, default --num_samples), as uint8 NHWC; the generator's samples
come from its `generate` signature (uint8) with --seed.
"""

import dataclasses
import os
import sys
import time
from typing import Any, Callable, Dict, Optional

import numpy as np

from tf_gans.registry import Registry

METRICS = Registry('metric')
FEATURES = ('inception', 'classifier')


def _progress(what: str, done: int, total: int, start: float, enabled: bool) -> None:
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
      images = source.images[:want]
      if images.dtype == np.uint8 and abs(source.scale * 255 - 1) < 1e-12:
        return images
      return np.clip(np.rint(images.astype(np.float64) * source.scale * 255), 0, 255).astype(
          np.uint8)
    return self._once('reals', make)

  def fakes(self) -> np.ndarray:
    """uint8 NHWC: --num_samples generator samples (its `generate` signature, --seed)."""
    def make():
      if self.module is None:
        raise ValueError('this metric needs --model=<generator SavedModel>.')
      generate = self.module.signatures['generate']
      total, out, start = self.opt.num_samples, [], time.perf_counter()
      for first in range(0, total, 500):
        num = min(500, total - first)
        out.append(generate(seed=self.opt.seed + first, num=num)['images'].numpy())
        _progress('generating', first + num, total, start, self.opt.progress)
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
        _progress(f'{self.opt.features} features of the {which}', min(first + step, len(images)),
                  len(images), start, self.opt.progress)
      return np.concatenate(out)
    return self._once(f'features:{which}', make)

  def real_statistics(self):
    """(mu, sigma) of the reals: from --fid_stats if it exists, else computed (and saved there)."""
    from tf_gans.metrics import fid  # pylint: disable=import-outside-toplevel
    path = self.opt.fid_stats
    if path and os.path.exists(path):
      return fid.load_statistics(path), f'{path} (cached)'
    stats = _statistics('real', self.features('reals'))
    if path:
      fid.save_statistics(path, *stats)
    return stats, f'{self.opt.data} {self.opt.split} [:{len(self.reals())}]'


def _statistics(name, features):
  from tf_gans.metrics import fid  # pylint: disable=import-outside-toplevel
  n, d = features.shape
  if n <= d:
    raise ValueError(f'FID needs more {name} images than feature dimensions for a full-rank '
                     f'covariance: got {n} images of {d}-d features, need at least {d + 1} '
                     f'(the protocol uses 10000 or 50000; raise --num_samples / --num_reals).')
  return fid.statistics(features)


def _common(ev: Evaluation) -> Dict[str, Any]:
  return {'features': ev.opt.features}


@METRICS.register('fid')
def fid_metric(ev: Evaluation) -> Dict[str, Any]:
  """FID = ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2)), TTUR eq. 6."""
  from tf_gans.metrics import fid  # pylint: disable=import-outside-toplevel
  (mu_r, sigma_r), reals_from = ev.real_statistics()
  mu_g, sigma_g = _statistics('generated', ev.features('fakes'))
  return {'fid': fid.frechet_distance(mu_r, sigma_r, mu_g, sigma_g), 'reals': reals_from,
          'num_samples': ev.opt.num_samples, **_common(ev)}


@METRICS.register('kid')
def kid_metric(ev: Evaluation) -> Dict[str, Any]:
  """Kernel distance (unbiased MMD^2, cubic polynomial kernel), mean and std over subsets."""
  from tf_gans.metrics import fid  # pylint: disable=import-outside-toplevel
  result = fid.kernel_distance(ev.features('reals'), ev.features('fakes'))
  return {**result.to_dict(), **_common(ev)}


@METRICS.register('is')
def inception_score_metric(ev: Evaluation) -> Dict[str, Any]:
  """exp(E KL(p(y|x) || p(y))), 10 splits (improved-gan), of the generated samples."""
  from tf_gans.metrics import inception_score  # pylint: disable=import-outside-toplevel
  fakes = ev.fakes()
  if ev.opt.features == 'classifier':
    logits = inception_score.classifier_logits(ev.digit_classifier(),
                                               ev.classifier_input(fakes))
  else:
    from tf_gans.metrics import inception  # pylint: disable=import-outside-toplevel
    logits = inception.inception_logits(ev.inception_model(), fakes, ev.opt.batch_size)
  mean, std = inception_score.inception_score_from_logits(logits)
  return {'is_mean': mean, 'is_std': std, 'num_samples': len(fakes), **_common(ev)}


@METRICS.register('swd')
def swd_metric(ev: Evaluation) -> Dict[str, Any]:
  """SWD x 1e3 per Laplacian level (full resolution down to 16) and their average."""
  from tf_gans.metrics import swd  # pylint: disable=import-outside-toplevel
  reals, fakes = ev.reals(), ev.fakes()
  if len(reals) != len(fakes):
    raise ValueError(f'SWD compares equally many real and generated images: --num_reals='
                     f'{len(reals)} but --num_samples={len(fakes)}.')
  if reals.shape[1:] != fakes.shape[1:]:
    raise ValueError(f'SWD needs real and generated images of one shape: --data gives '
                     f'{reals.shape[1:]}, the generator {fakes.shape[1:]} (see --pad_to).')
  return {**swd.sliced_wasserstein(reals, fakes, seed=ev.opt.seed), 'num_images': len(reals)}


@METRICS.register('ms_ssim')
def ms_ssim_metric(ev: Evaluation) -> Dict[str, Any]:
  """Mean MS-SSIM of generated pairs [0::2] / [1::2] (lower: more diverse), and of real pairs."""
  from tf_gans.metrics import ms_ssim  # pylint: disable=import-outside-toplevel
  fakes, reals = ev.fakes(), ev.reals()
  n_f, n_r = len(fakes) // 2 * 2, len(reals) // 2 * 2
  return {'ms_ssim': ms_ssim.ms_ssim(fakes[:n_f]), 'ms_ssim_reals': ms_ssim.ms_ssim(reals[:n_r]),
          'num_pairs': n_f // 2}


@METRICS.register('nn')
def nearest_metric(ev: Evaluation) -> Dict[str, Any]:
  """The --nn_k nearest real images of the first --nn_num samples, pixel and feature space."""
  from tf_gans.metrics import nearest  # pylint: disable=import-outside-toplevel
  from tf_gans.training import images as images_lib  # pylint: disable=import-outside-toplevel
  fakes, reals = ev.fakes()[:ev.opt.nn_num], ev.reals()
  if fakes.shape[1:] != reals.shape[1:]:
    raise ValueError(f'nearest neighbours need real and generated images of one shape: --data '
                     f'gives {reals.shape[1:]}, the generator {fakes.shape[1:]} (see --pad_to).')
  idx_pixels, dist_pixels = nearest.nearest_neighbors(fakes, reals, k=ev.opt.nn_k)
  real_feats, fake_feats = ev.features('reals'), ev.features('fakes')[:ev.opt.nn_num]
  idx_feats, dist_feats = nearest.nearest_neighbors(fake_feats, real_feats, k=ev.opt.nn_k)
  out = {'pixel_indices': idx_pixels.tolist(), 'pixel_distances': dist_pixels.tolist(),
         'feature_indices': idx_feats.tolist(), 'feature_distances': dist_feats.tolist(),
         **_common(ev)}
  if ev.opt.nn_out:
    # Left: samples and their pixel-space neighbours; right: feature-space neighbours.
    left = nearest.neighbor_grid(fakes, reals, idx_pixels)
    right = nearest.neighbor_grid(fakes, reals, idx_feats)
    gap = np.full((left.shape[0], 4, left.shape[2]), 255, np.uint8)
    images_lib.save_png(np.concatenate([left, gap, right], axis=1), ev.opt.nn_out,
                        upscale=max(1, 64 // reals.shape[1]))
    out['grid'] = ev.opt.nn_out
  return out


@METRICS.register('digit_confidence')
def digit_confidence(ev: Evaluation) -> Dict[str, Any]:
  """Share of samples the digit classifier (trained on --data/--split) gives p >= 0.9."""
  from tf_gans.metrics import classifier  # pylint: disable=import-outside-toplevel
  model = ev.digit_classifier()
  result = classifier.classifier_confidence(model, ev.classifier_input(ev.fakes()))
  out = {'num_samples': ev.opt.num_samples, **result.to_dict()}
  reference_split = ev.opt.extra.get('reference_split')
  if reference_split:
    real = ev.source(reference_split).as_float()[:ev.opt.num_samples]
    reference = classifier.classifier_confidence(model, classifier.to_range(real, (-1.0, 1.0)))
    out['real_reference'] = {'split': reference_split, 'num_images': len(real),
                             **reference.to_dict()}
  return out


@METRICS.register('parzen')
def parzen(ev: Evaluation) -> Dict[str, Any]:
  """Parzen-window log-likelihood, GAN 2014 Table 1 protocol (tf_gans.metrics.parzen)."""
  from tf_gans.metrics import parzen as parzen_lib  # pylint: disable=import-outside-toplevel
  extra = ev.opt.extra
  test = ev.source().as_float()
  valid = ev.source(extra['valid_split']).as_float() if extra.get('valid_split') else None
  centres_spec = extra.get('centres', 'model')
  if centres_spec == 'model':
    centres = ev.fakes_float()
  elif centres_spec == 'uniform':
    centres = np.random.default_rng(ev.opt.seed).uniform(
        size=(ev.opt.num_samples,) + test.shape[1:])
  else:
    centres = ev.source(centres_spec[len('data:'):]).as_float()
  result = parzen_lib.parzen_evaluate(centres, test, valid=valid, sigma=extra.get('sigma'))
  return {'valid_split': extra.get('valid_split'), 'centres': centres_spec, **result.to_dict()}


def run(names, module, options: Options) -> Dict[str, Dict[str, Any]]:
  """{name: result} for each metric name, in order (unknown names fail first)."""
  metrics = [(name, METRICS.get(name)) for name in names]
  if options.features not in FEATURES:
    raise ValueError(f'--features must be one of {", ".join(FEATURES)}, got {options.features}.')
  ev = Evaluation(module, options)
  return {name: fn(ev) for name, fn in metrics}

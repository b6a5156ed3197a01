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

Before any of them runs, `run` checks every requested name's constraints
(tf_gans.metrics.constraints: image sizes, counts, labels, weights files) and
raises one error listing all violations; with errors='record' a metric that
raises becomes an {'error': ...} result and the others are still computed.
The nn grid's panels are labelled (`nn_panel_titles`).

Features (`--features`): `inception` (the FID Inception of
tf_gans.metrics.inception, from a weights file made by
`python -m tf_gans.tools.import_inception`) or `classifier` (the digit
classifier of tf_gans.metrics.classifier trained on the labels of
--data/--split: a domain "Frechet classifier distance" / classifier score
for MNIST-like data, where no Inception weights are needed).

Real images: the first N of --data/--split in the dataset's order (N =
--num_reals, default --num_samples), as uint8 NHWC, each flipped along the
width with p = 0.5 under --mirror_augment; the generator's samples come from
its `generate` signature (uint8) with --seed.

PGGAN presets. The original's config.py runs `util_scripts.py`
`evaluate_metrics` with `num_images` and `real_passes` per metric; those
lines are `PRESETS` here, evaluated by `PresetDriver` as the original does:

  swd-16k     SWD, 16384 images, real_passes 2 (rows Reals, Reals2)
  fid-10k     FID, 10000 images
  fid-50k     FID, 50000 images
  is-50k      Inception score, 50000 images
  msssim-20k  MS-SSIM, 20000 images (10000 pairs)

  * Reals are read in the dataset's order from its first image, wrapping
    around (the original's dataset has shuffle_mb=0 and repeats): pass p
    holds images [p N, (p + 1) N) mod the split's size. Under mirror augment
    (the run trained with it: the original's load_dataset_for_previous_run)
    each is flipped along the width with p = 0.5 (`misc.apply_mirror_augment`),
    drawn from `default_rng([seed, MIRROR_STREAM, pass])` one image at a time.
  * Greyscale is tiled to RGB before every metric (the original's
    `np.tile(images, [1, 3, 1, 1])`): SWD then has 7x7x3 = 147-d descriptors.
    The one exception is --features=classifier, our domain stand-in for the
    Inception: the digit classifier reads the images' own channel.
  * Row 'Reals' (mode 'reals') sets each metric's reference and reports the
    metric of the reals against themselves (SWD / FID: 0; IS / MS-SSIM: the
    reals' own value); 'Reals2' (mode 'fakes') reports the second pass
    against the first. Then each generator is one row against pass 1.
  * Fakes: the preset's N from the `generate` stream of
    --seed in chunks of 500 (the samples the plain metrics see). A generator
    that takes labels (label_size > 0) gets the same latents and the labels
    of the reals in order: those of the last reals pass, as the original's
    `labels` array holds after its passes.
  * SWD draws fresh patch positions each pass (the original's global
    np.random): reals pass p uses `patch_stream` p, the fakes stream 2
    (tf_gans.metrics.swd), the same for every generator evaluated.
  * The original's warm-up (10 minibatches of uniform noise, mode 'warmup',
    before the table) initialises its TF graphs; its values are overwritten
    by the 'reals' pass and it only advances the global np.random state,
    which our seeded streams do not share, so it changes no number. Here it
    feeds one noise minibatch per metric (when `Options.warmup`) so that
    tracing / model loading is not timed in the Reals row.
  * `log_header` / `log_row` format the original's metric log: a row per
    pass or snapshot with its name, Time_eval and each metric's values.

The image count of a preset is --num_samples when given (small tests), else
the preset's (--num_reals and --fid_stats are not read: every pass has the
count, and FID's reference is computed from pass 1 as the original does);
plain names (swd, fid, ...) keep their behaviour above.
"""

import dataclasses
import os
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

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


MIRROR_STREAM = 7   # first words of the mirror-augment draws: [seed, MIRROR_STREAM, pass]
WARMUP_STREAM = 8   # the presets' warm-up noise: [seed, WARMUP_STREAM]


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


def _statistics(name, features, small_sample: bool = False):
  """(mu, sigma) of `features`; refuses n <= d unless `small_sample` (--fid_small_sample)."""
  from tf_gans.metrics import fid  # pylint: disable=import-outside-toplevel
  n, d = features.shape
  if n <= d and not small_sample:
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
  mu_g, sigma_g = _statistics('generated', ev.features('fakes'), ev.opt.fid_small_sample)
  return {'fid': fid.frechet_distance(mu_r, sigma_r, mu_g, sigma_g, method=ev.opt.fid_method),
          'reals': reals_from, 'num_samples': ev.opt.num_samples,
          'small_sample': ev.opt.fid_small_sample, **_common(ev)}


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
    # Left: samples and their pixel-space neighbours; right: feature-space neighbours; each
    # panel under a band naming its space and its columns (query, NN 1, NN 2, ...).
    titles = nn_panel_titles(ev.opt.features)
    image = nearest.labelled_neighbor_grids(
        fakes, reals, list(zip(titles, (idx_pixels, idx_feats))),
        upscale=max(1, 64 // reals.shape[1]))
    images_lib.save_png(image, ev.opt.nn_out)
    out['grid'] = ev.opt.nn_out
    out['grid_panels'] = list(titles)
  return out


_FEATURE_NAMES = {'inception': 'Inception pool_3 features', 'classifier': 'digit-classifier features'}


def nn_panel_titles(features: str):
  """Titles of the nn.png panels: pixel space, then feature space with the --features name."""
  return ('pixel space: nearest reals by L2 on pixels',
          f'feature space: nearest reals by L2 on {_FEATURE_NAMES.get(features, features)}')


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


# ----------------------------------------------------------------- PGGAN presets


@dataclasses.dataclass(frozen=True)
class Preset:
  """One `evaluate_metrics` line of the original config.py."""
  name: str
  metric: str          # swd, fid, is, ms_ssim
  num_images: int
  real_passes: int


PRESETS = {p.name: p for p in (
    Preset('swd-16k', 'swd', 16384, 2),
    Preset('fid-10k', 'fid', 10000, 1),
    Preset('fid-50k', 'fid', 50000, 1),
    Preset('is-50k', 'is', 50000, 1),
    Preset('msssim-20k', 'ms_ssim', 20000, 1),
)}
REAL_ROWS = ('Reals', 'Reals2')
FAKE_PATCH_STREAM = 2    # SWD patch stream of the fakes; reals pass p uses stream p
GENERATE_CHUNK = 500     # images per `generate` call, as Evaluation.fakes


def check_names(names: Sequence[str]) -> None:
  """Raises KeyError for a name that is neither a metric nor a preset."""
  for name in names:
    if name not in PRESETS and name not in METRICS:
      raise KeyError(f'Unknown metric {name!r}; expected one of: '
                     f'{", ".join(sorted(METRICS.names()) + sorted(PRESETS))}.')


@dataclasses.dataclass(frozen=True)
class LogColumn:
  """A metric column of the original log: its name and printf format (width = len(fmt % 0))."""
  name: str
  fmt: str

  @property
  def width(self) -> int:
    return len(self.fmt % 0)


@dataclasses.dataclass
class LogRow:
  """One line of the log: 'Reals', 'Reals2' or a snapshot, its time and {column: value}."""
  title: str
  seconds: float
  values: Dict[str, float]


def format_time(seconds: float) -> str:
  """'12s', '3m 04s', '1h 02m 03s', '2d 03h 04m' (original `misc.format_time`)."""
  s = int(np.rint(seconds))
  if s < 60:
    return f'{s}s'
  if s < 3600:
    return f'{s // 60}m {s % 60:02d}s'
  if s < 86400:
    return f'{s // 3600}h {s // 60 % 60:02d}m {s % 60:02d}s'
  return f'{s // 86400}d {s // 3600 % 24:02d}h {s // 60 % 60:02d}m'


def log_header(columns: Sequence[LogColumn]) -> str:
  """The two header lines of the original's log: names, then '---' under each column."""
  names = '%-10s%-12s' % ('Snapshot', 'Time_eval') + ''.join(
      '%-*s' % (c.width, c.name) for c in columns)
  dashes = '%-10s%-12s' % ('---', '---') + ''.join('%-*s' % (c.width, '---') for c in columns)
  return names + '\n' + dashes


def log_row(row: LogRow, columns: Sequence[LogColumn]) -> str:
  """`row` as the original prints it: title (10), Time_eval (12), each value in its format.

  A column `row` has no value for (a one-pass preset on the Reals2 row) is
  left blank at its width. The snapshot title is the caller's (the original
  prints the snapshot's kimg).
  """
  cells = [fmt_value(c, row.values.get(c.name)) for c in columns]
  return '%-10s%-12s' % (row.title, format_time(row.seconds)) + ''.join(cells)


def fmt_value(column: LogColumn, value) -> str:
  return ' ' * column.width if value is None else column.fmt % value


def log_table(columns: Sequence[LogColumn], rows: Sequence[LogRow]) -> str:
  """Header and rows, as the original's log file holds them."""
  return '\n'.join([log_header(columns)] + [log_row(r, columns) for r in rows])


class _SwdPasses:
  """SWD as the original `sliced_wasserstein.API`: descriptors per pass, the first the reference."""

  def __init__(self, ev: Evaluation, image_shape):
    from tf_gans.metrics import swd  # pylint: disable=import-outside-toplevel
    self._swd = swd
    self.seed = ev.opt.seed
    self.names = swd.metric_names(image_shape[0])
    self.fmt = '%-13.4f'
    self.reference = None
    self._acc = None

  def warm_up(self, images):
    self._swd.DescriptorAccumulator(seed=self.seed).update(to_rgb(images))

  def begin(self, patch_stream: int):
    self._acc = self._swd.DescriptorAccumulator(seed=self.seed, patch_stream=patch_stream)

  def feed(self, images):
    self._acc.update(to_rgb(images))

  def end(self, is_reference: bool) -> List[float]:
    desc, self._acc = self._acc.finalize(), None
    if is_reference:
      self.reference = desc
    result = self._swd.distance_from_descriptors(self.reference, desc, self.seed)
    return [result[name] for name in self.names]


class _FidPasses:
  """FID as the original `frechet_inception_distance.API`: statistics per pass vs the first."""

  def __init__(self, ev: Evaluation, image_shape):
    del image_shape
    self.ev, self.names, self.fmt = ev, ['FID'], '%-10.4f'
    self.reference = None
    self._acc = None
    self._dim = 0

  def warm_up(self, images):
    _features(self.ev, images)

  def begin(self, patch_stream: int):
    del patch_stream
    from tf_gans.metrics import fid  # pylint: disable=import-outside-toplevel
    self._acc = fid.StatisticsAccumulator()

  def feed(self, images):
    features = _features(self.ev, images)
    self._dim = features.shape[1]
    self._acc.update(features)

  def end(self, is_reference: bool) -> List[float]:
    from tf_gans.metrics import fid  # pylint: disable=import-outside-toplevel
    acc, self._acc, d = self._acc, None, self._dim
    if acc.count <= d:
      raise ValueError(f'FID needs more images than feature dimensions for a full-rank '
                       f'covariance: got {acc.count} images of {d}-d features, need at least '
                       f'{d + 1} (raise --num_samples or use the preset\'s count).')
    mu, sigma = acc.result()
    if is_reference:
      self.reference = (mu, sigma)
    return [fid.frechet_distance(mu, sigma, *self.reference)]


class _IsPasses:
  """Inception score of each pass's images (original `inception_score.API`)."""

  def __init__(self, ev: Evaluation, image_shape):
    del image_shape
    self.ev, self.names, self.fmt = ev, ['IS_mean', 'IS_std'], '%-10.4f'
    self._logits = None

  def warm_up(self, images):
    _logits(self.ev, images)

  def begin(self, patch_stream: int):
    del patch_stream
    self._logits = []

  def feed(self, images):
    self._logits.append(_logits(self.ev, images))

  def end(self, is_reference: bool) -> List[float]:
    del is_reference
    from tf_gans.metrics import inception_score  # pylint: disable=import-outside-toplevel
    logits, self._logits = np.concatenate(self._logits), None
    return list(inception_score.inception_score_from_logits(logits))


class _MsSsimPasses:
  """Mean MS-SSIM of pairs [0::2] / [1::2] of each pass's minibatches (original `ms_ssim.API`)."""

  def __init__(self, ev: Evaluation, image_shape):
    del ev, image_shape
    self.names, self.fmt = ['MS-SSIM'], '%-10.4f'
    self._acc = None

  def warm_up(self, images):
    from tf_gans.metrics import ms_ssim  # pylint: disable=import-outside-toplevel
    ms_ssim.MSSSIMAccumulator().update(to_rgb(images[:2]))

  def begin(self, patch_stream: int):
    del patch_stream
    from tf_gans.metrics import ms_ssim  # pylint: disable=import-outside-toplevel
    self._acc = ms_ssim.MSSSIMAccumulator()

  def feed(self, images):
    self._acc.update(to_rgb(images))

  def end(self, is_reference: bool) -> List[float]:
    del is_reference
    acc, self._acc = self._acc, None
    return [acc.result()]


_PASSES = {'swd': _SwdPasses, 'fid': _FidPasses, 'is': _IsPasses, 'ms_ssim': _MsSsimPasses}


def _features(ev: Evaluation, images) -> np.ndarray:
  """Features of uint8 images with --features (Inception: RGB; the digit classifier: as stored)."""
  if ev.opt.features == 'classifier':
    from tf_gans.metrics import fid  # pylint: disable=import-outside-toplevel
    extract = ev._once('classifier_features',  # pylint: disable=protected-access
                       lambda: fid.classifier_features(ev.digit_classifier()))
    return extract(ev.classifier_input(images))
  from tf_gans.metrics import inception  # pylint: disable=import-outside-toplevel
  return inception.inception_features(ev.inception_model(), to_rgb(images), ev.opt.batch_size)


def _logits(ev: Evaluation, images) -> np.ndarray:
  """Class logits of uint8 images: the Inception's (RGB) or the digit classifier's."""
  if ev.opt.features == 'classifier':
    from tf_gans.metrics import inception_score  # pylint: disable=import-outside-toplevel
    return inception_score.classifier_logits(ev.digit_classifier(), ev.classifier_input(images))
  from tf_gans.metrics import inception  # pylint: disable=import-outside-toplevel
  return inception.inception_logits(ev.inception_model(), to_rgb(images), ev.opt.batch_size)


def label_size(module) -> int:
  """How many label inputs an export's generator takes (0: unconditional)."""
  size = getattr(module, 'label_size', 0)
  return int(size.numpy()) if hasattr(size, 'numpy') else int(size)


def generate_with_labels(module, seed: int, labels) -> np.ndarray:
  """uint8 NHWC images of a conditional export for `labels` [n, label_size].

  The latents are those `generate(seed, n)` draws (savedmodel.fixed_latents);
  the images are mapped to uint8 as `generate` does.
  """
  from tf_gans.training import savedmodel  # pylint: disable=import-outside-toplevel
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


def _one_hot(labels, size: int) -> np.ndarray:
  labels = np.asarray(labels)
  if labels.ndim == 2:
    if labels.shape[1] != size:
      raise ValueError(f'the generator takes {size} labels, --data has {labels.shape[1]}.')
    return labels.astype(np.float32)
  if labels.size and (labels.min() < 0 or labels.max() >= size):
    raise ValueError(f'--data labels lie in [{labels.min()}, {labels.max()}]; the generator '
                     f'takes {size} classes.')
  return np.eye(size, dtype=np.float32)[labels.astype(np.int64)]


@dataclasses.dataclass
class _PresetState:
  preset: Preset
  num_images: int
  passes: Any                      # a _*Passes object
  columns: List[LogColumn]
  labels: Optional[np.ndarray] = None    # labels of the last reals pass (source order)
  rows: List[LogRow] = dataclasses.field(default_factory=list)


class PresetDriver:
  """The original `evaluate_metrics` for PGGAN presets: the reals passes once, then generators.

  Usage (one row per snapshot, as the original's log):
    driver = PresetDriver(['swd-16k'], options)
    print(log_header(driver.columns))
    for row in driver.real_rows():
      print(log_row(row, driver.columns))
    for kimg, module in snapshots:
      print(log_row(driver.evaluate(module, str(kimg)), driver.columns))

  Each preset runs its own passes over its own image count (the original
  runs one config line at a time); the rows merge their columns.
  """

  def __init__(self, names: Sequence[str], options: Options,
               evaluation: Optional[Evaluation] = None):
    unknown = [n for n in names if n not in PRESETS]
    if unknown:
      raise KeyError(f'Unknown preset(s) {", ".join(unknown)}; expected: {", ".join(PRESETS)}.')
    if options.features not in FEATURES:
      raise ValueError(f'--features must be one of {", ".join(FEATURES)}, got '
                       f'{options.features}.')
    self.opt = options
    self.ev = evaluation or Evaluation(None, options)
    shape = self.ev.source().image_shape
    self.minibatch_size = int(np.clip(8192 // shape[0], 4, 256))
    self.minibatch_size += self.minibatch_size % 2
    self.states: Dict[str, _PresetState] = {}
    seen = {}
    for name in names:
      preset = PRESETS[name]
      passes = _PASSES[preset.metric](self.ev, shape)
      num = options.num_images or preset.num_images
      if preset.metric == 'ms_ssim' and num % 2:
        raise ValueError(f'{name}: MS-SSIM pairs images, so it needs an even image count, '
                         f'got {num}.')
      columns = []
      for col in passes.names:
        # The same metric twice (fid-10k,fid-50k): the later columns are named by preset.
        label = col if col not in seen else f'{col}@{name.split("-")[-1]}'
        seen[label] = True
        columns.append(LogColumn(label, passes.fmt))
      self.states[name] = _PresetState(preset, num, passes, columns)
    self._real_rows: Optional[List[LogRow]] = None

  @property
  def columns(self) -> List[LogColumn]:
    return [c for st in self.states.values() for c in st.columns]

  def _log(self, what, done, total, start):
    _progress(what, done, total, start, self.opt.progress)

  # ------------------------------------------------------------------ reals

  def real_batches(self, num: int, real_pass: int):
    """(uint8 images, labels or None) minibatches of reals pass `real_pass` (module docstring)."""
    source = self.ev.source()
    rng = mirror_rng(self.opt.seed, real_pass) if self.opt.mirror_augment else None
    for first in range(0, num, self.minibatch_size):
      index = (real_pass * num + np.arange(first, min(first + self.minibatch_size, num))) % (
          source.num_examples)
      images = to_uint8(source, source.images[index])
      if rng is not None:
        images = mirror_augment(images, rng)
      labels = None if source.labels is None else source.labels[index]
      yield images, labels

  def _warm_up(self):
    shape = self.ev.source().image_shape
    noise = np.random.default_rng([self.opt.seed, WARMUP_STREAM]).integers(
        0, 256, size=(self.minibatch_size,) + shape, dtype=np.uint8)
    for st in self.states.values():
      st.passes.warm_up(noise)

  def real_rows(self) -> List[LogRow]:
    """Rows 'Reals' and (any preset with real_passes 2) 'Reals2', computed once."""
    if self._real_rows is not None:
      return self._real_rows
    if self.opt.warmup:
      self._warm_up()
    rows = []
    for real_pass, title in enumerate(REAL_ROWS):
      row = LogRow(title, 0.0, {})
      for name, st in self.states.items():
        if real_pass >= st.preset.real_passes:
          continue
        start = time.perf_counter()
        st.passes.begin(real_pass)
        labels, done = [], 0
        for images, batch_labels in self.real_batches(st.num_images, real_pass):
          st.passes.feed(images)
          labels.append(batch_labels)
          done += len(images)
          self._log(f'{name} {title}', done, st.num_images, start)
        values = st.passes.end(is_reference=real_pass == 0)
        st.labels = None if labels[0] is None else np.concatenate(labels)
        seconds = time.perf_counter() - start
        row.seconds += seconds
        row.values.update({c.name: v for c, v in zip(st.columns, values)})
        st.rows.append(LogRow(title, seconds, dict(zip([c.name for c in st.columns], values))))
      if row.values:
        rows.append(row)
    self._real_rows = rows
    return rows

  # ------------------------------------------------------------------ fakes

  def fake_batches(self, module, num: int, labels: Optional[np.ndarray]):
    """uint8 fakes in chunks: `generate(seed + first, n)`, or with the real labels."""
    if module is None:
      raise ValueError('this metric needs --model=<generator SavedModel>.')
    size = label_size(module)
    if size and labels is None:
      raise ValueError(f'the generator takes {size} labels but --data={self.opt.data} has none '
                       f'to give it (the original feeds the reals\' labels).')
    generate = module.signatures['generate']
    for first in range(0, num, GENERATE_CHUNK):
      n = min(GENERATE_CHUNK, num - first)
      if size:
        yield generate_with_labels(module, self.opt.seed + first,
                                   _one_hot(labels[first:first + n], size))
      else:
        yield generate(seed=self.opt.seed + first, num=n)['images'].numpy()

  def evaluate(self, module, title: str = 'Fakes') -> LogRow:
    """One generator's row: each preset's metric of its fakes against reals pass 1."""
    self.real_rows()
    row = LogRow(str(title), 0.0, {})
    for name, st in self.states.items():
      start = time.perf_counter()
      st.passes.begin(FAKE_PATCH_STREAM)
      done = 0
      for images in self.fake_batches(module, st.num_images, st.labels):
        st.passes.feed(images)
        done += len(images)
        self._log(f'{name} generating', done, st.num_images, start)
      values = st.passes.end(is_reference=False)
      seconds = time.perf_counter() - start
      row.seconds += seconds
      row.values.update({c.name: v for c, v in zip(st.columns, values)})
      st.rows.append(LogRow(row.title, seconds, dict(zip([c.name for c in st.columns], values))))
    return row

  def result(self, name: str) -> Dict[str, Any]:
    """A preset's JSON result: the last generator's values, settings and every row so far."""
    st = self.states[name]
    last = st.rows[-1]
    original = [c.name for c in st.columns]
    return {**{n: last.values[c] for n, c in zip(st.passes.names, original)},
            'preset': name, 'metric': st.preset.metric, 'num_images': st.num_images,
            'real_passes': st.preset.real_passes, 'mirror_augment': self.opt.mirror_augment,
            'features': self.opt.features if st.preset.metric in ('fid', 'is') else None,
            'time_eval': last.seconds,
            'rows': [dataclasses.asdict(r) for r in st.rows]}


def results_log_table(results: Dict[str, Dict[str, Any]]) -> str:
  """The original's log table of the preset results of `run` ('' when there are none)."""
  columns, rows = [], {}
  for result in results.values():
    if 'preset' not in result:
      continue
    passes = _PASSES[result['metric']]
    fmt = '%-13.4f' if passes is _SwdPasses else '%-10.4f'
    names = list(result['rows'][0]['values'])
    columns += [LogColumn(n, fmt) for n in names]
    for r in result['rows']:
      row = rows.setdefault(r['title'], LogRow(r['title'], 0.0, {}))
      row.seconds += r['seconds']
      row.values.update(r['values'])
  return log_table(columns, list(rows.values())) if columns else ''


def error_entry(error: BaseException) -> Dict[str, str]:
  """The result of a metric that raised: {'error': '<Type>: <message on one line>'}."""
  text = ' '.join(line.strip() for line in str(error).splitlines() if line.strip())
  return {'error': f'{type(error).__name__}: {text}' if text else type(error).__name__}


def failed(results: Dict[str, Dict[str, Any]]) -> Dict[str, str]:
  """{name: error} of the results of `run` that are error entries."""
  return {name: r['error'] for name, r in results.items() if set(r) == {'error'}}


def run(names, module, options: Options, title: str = 'Fakes', errors: str = 'raise',
        on_error: Optional[Callable[[str, str], None]] = None,
        evaluation: Optional[Evaluation] = None) -> Dict[str, Dict[str, Any]]:
  """{name: result} for each metric or preset name, in order.

  First, before anything is generated or featurised, unknown names fail
  (KeyError) and every name's constraints (tf_gans.metrics.constraints) are
  checked: one ConstraintError (a ValueError) lists all violations. Then
  each metric is computed. With errors='raise' a metric's exception
  propagates; with errors='record' it becomes that metric's result,
  `error_entry(e)` (`on_error(name, message)` is called at once), and the
  other metrics are still computed. The presets share one PresetDriver (the
  original's reals passes), so they fail or succeed together.

  `evaluation`: an `Evaluation` of `options` whose cache (e.g. the source
  loaded by an earlier constraint check) is reused; its module becomes
  `module`.
  """
  from tf_gans.metrics import constraints  # pylint: disable=import-outside-toplevel
  if errors not in ('raise', 'record'):
    raise ValueError(f"errors must be 'raise' or 'record', got {errors!r}.")
  check_names(names)
  metrics = [(name, METRICS.get(name)) for name in names if name not in PRESETS]
  if options.features not in FEATURES:
    raise ValueError(f'--features must be one of {", ".join(FEATURES)}, got {options.features}.')
  ev = evaluation or Evaluation(module, options)
  ev.module = module
  constraints.require(names, ev, module)
  out = {}

  def attempt(what, compute):
    if errors == 'raise':
      return compute()
    try:
      return compute()
    except Exception as e:  # pylint: disable=broad-except
      entry = error_entry(e)
      for name in what:
        out[name] = entry
        if on_error is not None:
          on_error(name, entry['error'])
      return None

  for name, fn in metrics:
    result = attempt([name], lambda fn=fn: fn(ev))
    if result is not None:
      out[name] = result
  presets = [name for name in names if name in PRESETS]
  if presets:
    def preset_results():
      driver = PresetDriver(presets, options, evaluation=ev)
      driver.evaluate(module, title)
      return {name: driver.result(name) for name in presets}
    out.update(attempt(presets, preset_results) or {})
  return {name: out[name] for name in names}


# ------------------------------------------------------------------ RGAN FID protocol

RGAN_FID_BATCH = 100            # G(z) on batches of 100 (BatchNorm statistics of 100 samples)
RGAN_FID_NUM_SAMPLES = 50000    # --gen_extra_images default (stable / unstable CIFAR-10)
RGAN_FID_REAL_SPLIT = 'train'   # TTUR fid_stats_cifar10_train.npz; CAT: the whole cats folder
# torchvision's save_image added + 0.5 (rounding) only in 2019 (pytorch/vision PR 754); the
# reference's 2018 runs (PyTorch 0.4.1, torchvision 0.2.1) truncated: byte(clamp(255 x)).
RGAN_SAVE_IMAGE_ADDS_HALF = False


def save_image_uint8(unit, add_half: bool = RGAN_SAVE_IMAGE_ADDS_HALF) -> np.ndarray:
  """Pixels as torchvision `save_image` writes a float image `unit` (the reference's x*.5+.5).

  float32 x * 255 (+ 0.5 from torchvision 0.3 on), clamped to [0, 255], then `.byte()`:
  truncated toward zero. The reference: `code/GAN_losses_iter.py`, the gen_extra_images loop,
  `vutils.save_image((fake_test[ext_i].data*.50)+.50, ..., normalize=False, padding=0)`.
  """
  x = np.asarray(unit, np.float32) * np.float32(255.0)
  if add_half:
    x = x + np.float32(0.5)
  return np.clip(x, 0.0, 255.0).astype(np.uint8)


def rgan_fake_batches(module, num: int, seed: int):
  """Yields uint8 batches of exactly 100 samples: one `sample(seed + first, 100)` call each.

  The export's `sample` runs G once on `num` latents, so its BatchNorm (always batch
  statistics, as the reference never calls .eval()) sees the 100 samples of the batch, as
  the reference's `G(z_extra)` with z_extra of shape (100, z_size, 1, 1).
  """
  if module is None:
    raise ValueError('this metric needs --model=<generator SavedModel>.')
  if num % RGAN_FID_BATCH:
    raise ValueError(f'fid-rgan draws G in batches of {RGAN_FID_BATCH} (the reference\'s '
                     f'gen_extra_images "must be a multiple of 100"); got --num_samples={num}.')
  sample = module.signatures['sample']
  for first in range(0, num, RGAN_FID_BATCH):
    yield save_image_uint8(sample(seed=seed + first, num=RGAN_FID_BATCH)['images'].numpy())


def rgan_fid_num_samples(options: Options) -> int:
  """--num_samples when typed (Options.num_images), else the reference's 50000."""
  return options.num_images or RGAN_FID_NUM_SAMPLES


def _rgan_real_statistics(ev: Evaluation):
  from tf_gans.metrics import fid  # pylint: disable=import-outside-toplevel
  path = ev.opt.fid_stats
  if path and os.path.exists(path):
    return fid.load_statistics(path), f'{path} (cached)'
  source = ev.source(RGAN_FID_REAL_SPLIT)
  acc, d, start = fid.StatisticsAccumulator(), 0, time.perf_counter()
  for first in range(0, source.num_examples, 1000):
    features = _features(ev, to_uint8(source, source.images[first:first + 1000]))
    d = features.shape[1]
    acc.update(features)
    _progress(f'real statistics ({RGAN_FID_REAL_SPLIT})', acc.count, source.num_examples, start,
              ev.opt.progress)
  if acc.count <= d:
    raise ValueError(f'FID needs more real images than feature dimensions: {acc.count} <= {d}.')
  stats = acc.result()
  if path:
    fid.save_statistics(path, *stats)
  return stats, f'{ev.opt.data} {RGAN_FID_REAL_SPLIT} (all {acc.count})'


@METRICS.register('fid-rgan')
def rgan_fid_metric(ev: Evaluation) -> Dict[str, Any]:
  """FID as the RGAN reference: 50000 samples (or --num_samples) of G in batches of 100,
  quantised as its saved PNGs, against the statistics of the whole training split (--fid_stats
  when it exists, as its fid_script.sh reads the TTUR fid_stats_cifar10_train.npz; CAT: every
  image of the cats folder). `code/GAN_losses_iter.py` (gen_extra_images), `code/fid.py`.
  --split and --num_reals are not read."""
  from tf_gans.metrics import fid  # pylint: disable=import-outside-toplevel
  (mu_r, sigma_r), reals_from = _rgan_real_statistics(ev)
  num = rgan_fid_num_samples(ev.opt)
  acc, d, start = fid.StatisticsAccumulator(), 0, time.perf_counter()
  for images in rgan_fake_batches(ev.module, num, ev.opt.seed):
    features = _features(ev, images)
    d = features.shape[1]
    acc.update(features)
    _progress('generated features', acc.count, num, start, ev.opt.progress)
  if acc.count <= d:
    raise ValueError(f'FID needs more generated images than feature dimensions: {acc.count} <= '
                     f'{d} (raise --num_samples).')
  mu_g, sigma_g = acc.result()
  return {'fid': fid.frechet_distance(mu_r, sigma_r, mu_g, sigma_g), 'reals': reals_from,
          'num_samples': num, 'batch': RGAN_FID_BATCH, **_common(ev)}

"""What each evaluate metric needs, checked before anything is generated or featurised.

`python -m tf_gans.evaluate` used to load the data, train the classifier,
generate and featurise, and only then find out that (say) SWD cannot run on
8x8 images. Here each metric of `tf_gans.metrics.protocols` (with fid-rgan of
`tf_gans.metrics.rgan_fid`) and each PGGAN preset of `tf_gans.metrics.presets`
has a check registered in `CHECKS`:

    @CHECKS.register('swd')
    def _swd(req: Request) -> List[str]:   # each violated constraint, or []

A `Request` holds only what is cheap to know: the options (the evaluate
flags), the shape, size and labels of --data/--split (the source is loaded
once and cached by the `tf_gans.metrics.evaluation.Evaluation`), and the
generator's output shape when its export declares it. `require(names,
evaluation, module)` runs the checks of every requested name and raises one
`ConstraintError` listing all violations, each naming its metric, the flag
and what was expected. `tf_gans.metrics.protocols.run` calls it; this module
reads the presets' table and fid-rgan's batch size from their modules and
never imports `protocols` (no import cycle).

The minimums come from the metric modules themselves rather than copies of
their numbers: SWD from `tf_gans.metrics.swd.check_images` (its Laplacian
pyramid down to 16x16, 7x7 patches at the coarsest level), MS-SSIM from
`tf_gans.metrics.ms_ssim`'s shape check (5 scales of 2x2 halving: H and W
>= 16 and divisible by 16; its 11x11 window shrinks to the image, so sets
no minimum of its own), both run on a zero-stride stand-in array of the
image shape; the Inception score's split count from
`tf_gans.metrics.inception_score.SPLITS`; the feature sizes from
`tf_gans.metrics.inception.NUM_FEATURES` and the digit classifier's
penultimate layer (`tf_gans.metrics.classifier.build_digit_classifier`).
"""

import dataclasses
import os
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

from tf_gans.registry import Registry

Check = Callable[['Request'], List[str]]
CHECKS = Registry('metric constraint')


class ConstraintError(ValueError):
  """The requested metrics cannot run as asked; `violations` lists why (metric: reason)."""

  def __init__(self, violations: Sequence[str]):
    self.violations = list(violations)
    super().__init__('the requested metrics cannot be computed as asked (nothing was computed):\n'
                     + '\n'.join(f'  {v}' for v in self.violations))


@dataclasses.dataclass
class Request:
  """What the checks read: the options and cheap facts about the data and the generator."""
  options: object                         # evaluation.Options
  image_shape: Tuple[int, int, int]       # (H, W, C) of --data/--split (after --pad_to)
  num_images: int                         # images in --data/--split
  has_labels: bool                        # --data/--split has class labels
  fake_shape: Optional[Tuple[int, int, int]] = None   # the generator's, when known
  fake_count: Optional[int] = None        # --fakes: the images that source gives

  @property
  def num_samples(self) -> int:
    if getattr(self.options, 'fakes', '') and self.fake_count is not None:
      return self.fake_count
    return self.options.num_samples

  @property
  def num_reals(self) -> int:
    """Real images the plain metrics read (--num_reals, 0: --num_samples; with --reals: the
    source's images, at most --num_reals)."""
    if getattr(self.options, 'reals', ''):
      return self.num_images
    return self.options.num_reals or self.options.num_samples

  @property
  def data(self) -> str:
    opt = self.options
    if getattr(opt, 'reals', ''):
      return f'--reals={opt.reals}'
    pad = f' --pad_to={opt.pad_to}' if opt.pad_to else ''
    return f'--data={opt.data} --split={opt.split}{pad}'


def generator_image_shape(module) -> Optional[Tuple[int, int, int]]:
  """(H, W, C) of a generator export's images when it declares them statically, else None."""
  if module is None:
    return None
  shape = getattr(module, 'image_shape', None)
  if shape is None:
    try:
      shape = module.signatures['generate'].structured_outputs['images'].shape[1:]
    except (AttributeError, KeyError, TypeError, IndexError):
      return None
  shape = tuple(shape)
  if len(shape) != 3 or any(d is None for d in shape):
    return None
  return tuple(int(d) for d in shape)


def request_for(evaluation, module=None) -> Request:
  """The `Request` of an `evaluation.Evaluation` (loads --data/--split through its cache; with
  --reals / --fakes opens both sources: headers only, nothing decoded or generated)."""
  if evaluation.compares_sources:
    reals, fakes = evaluation.image_source('reals'), evaluation.image_source('fakes')
    return Request(evaluation.opt, tuple(reals.image_shape), reals.num, False,
                   tuple(fakes.image_shape), fakes.num)
  source = evaluation.source()
  return Request(evaluation.opt, tuple(int(d) for d in source.image_shape),
                 source.num_examples, source.labels is not None,
                 generator_image_shape(module if module is not None else evaluation.module))


# What --reals / --fakes can compute: metrics of two image sets. The others read --data splits,
# labels or a generator's protocol (parzen, digit_confidence, nn, fid-rgan, the PGGAN presets).
SOURCE_METRICS = ('fid', 'kid', 'is', 'swd', 'ms_ssim', 'precision_recall', 'density_coverage',
                  'fid_inf', 'is_inf')


def violations(names: Sequence[str], req: Request) -> List[str]:
  """'<name>: <reason>' for each violated constraint of each name, in order."""
  out = []
  for name in names:
    if getattr(req.options, 'reals', '') and name not in SOURCE_METRICS:
      out.append(f'{name}: not computed from two image sources (--reals / --fakes); it reads '
                 f'--data / --model (these can: {", ".join(SOURCE_METRICS)}).')
      continue
    if name in CHECKS:
      out += [f'{name}: {v}' for v in CHECKS.get(name)(req)]
  return out


def require(names: Sequence[str], evaluation, module=None) -> None:
  """Raises ConstraintError listing every violated constraint of `names`; else returns."""
  found = violations(names, request_for(evaluation, module))
  if found:
    raise ConstraintError(found)


# ------------------------------------------------------------------- shared pieces


def _stand_in(shape) -> np.ndarray:
  """A [1, H, W, C] uint8 array of `shape` that holds no memory (for the modules' shape checks)."""
  return np.broadcast_to(np.zeros((), np.uint8), (1,) + tuple(shape))


def _shapes(req: Request) -> List[Tuple[str, Tuple[int, int, int]]]:
  """(who, shape) of the reals and, when it differs and is known, the generator's images."""
  out = [(f'{req.data} images', req.image_shape)]
  if req.fake_shape is not None and req.fake_shape != req.image_shape:
    fakes = getattr(req.options, 'fakes', '')
    out.append((f'--fakes={fakes} images' if fakes else 'the generator\'s images', req.fake_shape))
  return out


def _same_shape(req: Request, what: str) -> List[str]:
  if req.fake_shape is None or req.fake_shape == req.image_shape:
    return []
  return [f'{what} needs real and generated images of one shape: {req.data} gives '
          f'{req.image_shape}, the generator {req.fake_shape} (see --pad_to).']


def _enough_reals(req: Request, num: int) -> List[str]:
  if req.num_images >= num:
    return []
  return [f'{req.data} holds {req.num_images} images; the metrics need --num_reals={num} '
          f'(lower --num_reals / --num_samples or use a larger split).']


def _at_least(flag: str, value: int, minimum: int, why: str) -> List[str]:
  return [] if value >= minimum else [f'{flag}={value}: needs at least {minimum} ({why}).']


def _inception_file(req: Request, need_logits: bool) -> List[str]:
  """--inception names a readable FID Inception weights file (with logits when asked)."""
  from tf_gans.metrics import inception  # pylint: disable=import-outside-toplevel
  path = req.options.inception
  if not path:
    return ['--features=inception needs --inception=<weights file> (make one with `python -m '
            'tf_gans.tools.import_inception`), or use --features=classifier.']
  if not os.path.isfile(path):
    return [f'--inception={path}: no such file (make one with `python -m '
            f'tf_gans.tools.import_inception`).']
  if not os.access(path, os.R_OK):
    return [f'--inception={path}: not readable.']
  import h5py  # pylint: disable=import-outside-toplevel
  try:
    with h5py.File(path, 'r') as f:
      fmt = f.attrs.get('format')
      fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
      if fmt != inception.FILE_FORMAT:
        return [f'--inception={path}: not a tf_gans FID Inception weights file (format '
                f'{fmt!r}, expected {inception.FILE_FORMAT!r}).']
      if need_logits and inception.SOFTMAX_WEIGHTS not in f:
        return [f'--inception={path} has no logits ({inception.SOFTMAX_WEIGHTS}): the Inception '
                f'score needs weights imported from the GraphDef (--graphdef).']
  except OSError as e:
    return [f'--inception={path}: not an HDF5 file ({e}).']
  return []


def _features(req: Request, need_logits: bool = False) -> List[str]:
  """What --features needs: Inception weights and 1 or 3 channels, or the classifier's labels."""
  if req.options.features == 'classifier' and getattr(req.options, 'reals', ''):
    # --reals / --fakes: the classifier is trained on the built-in digits (features.py).
    return [f'--features=classifier reads 8x8 digit images; {who} are {shape[0]}x{shape[1]} '
            f'(use --features=inception).' for who, shape in _shapes(req) if shape[:2] != (8, 8)]
  if req.options.features == 'classifier':
    out = [] if req.has_labels else [
        f'--features=classifier trains a digit classifier on the labels of {req.data}, which has '
        f'none (use labelled data or --features=inception).']
    return out + _same_shape(req, '--features=classifier (trained on the real images\' shape)')
  if req.options.features == 'vgg16':
    path = getattr(req.options, 'vgg16_weights', '')
    if need_logits:
      return ['--features=vgg16 gives fc2 features, no class logits: use --features=inception.']
    if not path:
      return ['--features=vgg16 needs --vgg16_weights=<file> (Keras\' VGG16 ImageNet weights, '
              'vgg16_weights_tf_dim_ordering_tf_kernels.h5; nothing is downloaded).']
    return [] if os.path.isfile(path) else [f'--vgg16_weights={path}: no such file.']
  if req.options.features != 'inception':
    return [f'--features must be inception, classifier or vgg16, got {req.options.features}.']
  out = _inception_file(req, need_logits)
  for who, shape in _shapes(req):
    if shape[-1] not in (1, 3):
      out.append(f'--features=inception reads 1 (tiled to RGB) or 3 channels; {who} have '
                 f'{shape[-1]}.')
  return out


def feature_size(req: Request) -> int:
  """d of the --features vectors: 2048 (Inception pool_3) or the digit classifier's penultimate."""
  if req.options.features == 'classifier':
    from tf_gans.metrics import classifier  # pylint: disable=import-outside-toplevel
    model = classifier.build_digit_classifier(req.image_shape)
    return int(model.layers[-1].input.shape[-1])
  if req.options.features == 'vgg16':
    return 4096  # fc2
  from tf_gans.metrics import inception  # pylint: disable=import-outside-toplevel
  return inception.NUM_FEATURES


FID_METHODS = ('sqrtm', 'eigh')   # tf_gans.metrics.fid.frechet_distance(method=...)


def _full_rank(req: Request, flag: str, num: int, who: str) -> List[str]:
  d = feature_size(req)
  if num > d:
    return []
  return [f'FID needs more {who} images than feature dimensions for a full-rank covariance: '
          f'{flag}={num} images of {d}-d {req.options.features} features, need at least {d + 1} '
          f'(raise {flag}{" or pass --fid_small_sample" if who == "generated" else ""}).']


def _swd_size(req: Request) -> List[str]:
  from tf_gans.metrics import swd  # pylint: disable=import-outside-toplevel
  out = []
  for who, shape in _shapes(req):
    try:
      swd.check_images(who, _stand_in(shape))
    except ValueError as e:
      out.append(f'{str(e).rstrip(".")}; its Laplacian pyramid goes down to '
                 f'{swd.MIN_RESOLUTION}x{swd.MIN_RESOLUTION} with {swd.NHOOD_SIZE}x'
                 f'{swd.NHOOD_SIZE} patches (see --pad_to).')
  return out


def _ms_ssim_size(req: Request) -> List[str]:
  from tf_gans.metrics import ms_ssim  # pylint: disable=import-outside-toplevel
  out = []
  for who, shape in _shapes(req):
    try:
      image = _stand_in(shape)
      ms_ssim._check_pair_shapes(image, image, len(ms_ssim.WEIGHTS))  # pylint: disable=protected-access
    except ValueError as e:
      out.append(f'{who}: {e}')
  return out


# ------------------------------------------------------------------- plain metrics


def _existing_ancestor(path):
  """The nearest folder above `path` that exists (where its missing folders would be created)."""
  folder = os.path.dirname(os.path.abspath(path))
  while not os.path.isdir(folder) and os.path.dirname(folder) != folder:
    folder = os.path.dirname(folder)
  return folder


@CHECKS.register('fid')
def _fid(req: Request) -> List[str]:
  out = _features(req)
  if out:
    return out
  # --fid_small_sample: the study's CPU budget (README, Results) - a rank-deficient generated
  # covariance gives a finite, upward-biased FID that compares only at one --num_samples.
  out = ([] if req.options.fid_small_sample
         else _full_rank(req, '--num_samples', req.num_samples, 'generated'))
  if req.options.fid_method not in FID_METHODS:
    out.append(f'--fid_method={req.options.fid_method}: expected one of {", ".join(FID_METHODS)}.')
  stats = req.options.fid_stats
  if stats and os.path.exists(stats):
    if not os.access(stats, os.R_OK):
      out.append(f'--fid_stats={stats}: not readable.')
    return out
  if stats and not os.access(_existing_ancestor(stats), os.W_OK):
    out.append(f'--fid_stats={stats}: does not exist and {_existing_ancestor(stats)} is not '
               f'writable (the real statistics are written there, missing folders created).')
  return (out + _full_rank(req, '--num_reals', req.num_reals, 'real')
          + _enough_reals(req, req.num_reals) + _ci(req))


@CHECKS.register('kid')
def _kid(req: Request) -> List[str]:
  why = 'the unbiased MMD^2 of each subset needs 2 images per set'
  return (_features(req) + _at_least('--num_samples', req.num_samples, 2, why)
          + _at_least('--num_reals', req.num_reals, 2, why) + _enough_reals(req, req.num_reals)
          + _ci(req))


@CHECKS.register('is')
def _is(req: Request) -> List[str]:
  from tf_gans.metrics import inception_score  # pylint: disable=import-outside-toplevel
  splits = inception_score.SPLITS
  return _features(req, need_logits=True) + _at_least(
      '--num_samples', req.num_samples, splits, f'one image per each of the {splits} splits')


def _ci(req: Request) -> List[str]:
  ci = getattr(req.options, 'ci', 0.0)
  if ci and not 0.0 < ci < 1.0:
    return [f'--ci must be 0 (no intervals) or a coverage in (0, 1) such as 0.95, got {ci:g}.']
  if ci and getattr(req.options, 'ci_resamples', 0) < 2:
    return [f'--ci_resamples={req.options.ci_resamples}: needs at least 2 resamples.']
  return []


def _manifold(k: int, what: str):
  """The k-NN manifold metrics: each set needs more than k images (its k-th neighbour)."""
  def check(req: Request) -> List[str]:
    why = f'{what} takes the {k}-th nearest neighbour of each image within its set'
    return (_features(req) + _at_least('--num_samples', req.num_samples, k + 1, why)
            + _at_least('--num_reals', req.num_reals, k + 1, why)
            + _enough_reals(req, req.num_reals) + _ci(req))
  return check


CHECKS.register('precision_recall', _manifold(3, 'precision/recall (k = 3)'))
CHECKS.register('density_coverage', _manifold(5, 'density/coverage (k = 5)'))


def _infinity_fit(req: Request, dims: int) -> List[str]:
  from tf_gans.metrics import evaluation  # pylint: disable=import-outside-toplevel
  try:
    evaluation.infinity_smallest(req.num_samples, '', dims)
  except ValueError as e:
    return [str(e)]
  return []


@CHECKS.register('fid_inf')
def _fid_inf(req: Request) -> List[str]:
  out = _fid(req)
  if _features(req):  # no feature size to fit with
    return out
  return out + _infinity_fit(req, 0 if req.options.fid_small_sample else feature_size(req))


@CHECKS.register('is_inf')
def _is_inf(req: Request) -> List[str]:
  return _features(req, need_logits=True) + _infinity_fit(req, 0)


@CHECKS.register('swd')
def _swd(req: Request) -> List[str]:
  out = _swd_size(req) + _same_shape(req, 'SWD')
  if req.num_reals != req.num_samples:
    out.append(f'SWD compares equally many real and generated images: --num_reals='
               f'{req.num_reals} but --num_samples={req.num_samples}.')
  return out + _enough_reals(req, req.num_reals)


@CHECKS.register('ms_ssim')
def _ms_ssim(req: Request) -> List[str]:
  why = 'MS-SSIM pairs images [0::2] with [1::2]'
  return (_ms_ssim_size(req) + _at_least('--num_samples', req.num_samples, 2, why)
          + _at_least('--num_reals', req.num_reals, 2, why) + _enough_reals(req, req.num_reals)
          + _ci(req))


@CHECKS.register('nn')
def _nn(req: Request) -> List[str]:
  opt = req.options
  out = _features(req) + _same_shape(req, 'nearest neighbours')
  out += _at_least('--nn_num', opt.nn_num, 1, 'samples shown')
  if not 1 <= opt.nn_k <= req.num_reals:
    out.append(f'--nn_k={opt.nn_k}: must lie in [1, --num_reals={req.num_reals}] (neighbours '
               f'per sample among the real images).')
  if opt.nn_out and not os.access(os.path.dirname(os.path.abspath(opt.nn_out)), os.W_OK):
    out.append(f'--nn_out={opt.nn_out}: its folder does not exist or is not writable.')
  return out + _enough_reals(req, req.num_reals)


@CHECKS.register('digit_confidence')
def _digit_confidence(req: Request) -> List[str]:
  if req.has_labels:
    return []
  return [f'the digit classifier trains on the labels of {req.data}, which has none.']


@CHECKS.register('parzen')
def _parzen(req: Request) -> List[str]:
  extra = req.options.extra
  if (extra.get('valid_split') is None) == (extra.get('sigma') is None):
    return ['needs exactly one of --valid_split (sigma chosen on it) or --sigma.']
  return []


@CHECKS.register('fid-rgan')
def _fid_rgan(req: Request) -> List[str]:
  from tf_gans.metrics import rgan_fid  # pylint: disable=import-outside-toplevel
  num = rgan_fid.rgan_fid_num_samples(req.options)
  out = _features(req)
  if num % rgan_fid.RGAN_FID_BATCH:
    out.append(f'fid-rgan draws G in batches of {rgan_fid.RGAN_FID_BATCH} (the reference\'s '
               f'gen_extra_images "must be a multiple of 100"); got --num_samples={num}.')
  if not out:
    out += _full_rank(req, '--num_samples', num, 'generated')
  return out


# ------------------------------------------------------------------- PGGAN presets


def _preset_count(req: Request, name: str) -> int:
  from tf_gans.metrics import presets  # pylint: disable=import-outside-toplevel
  return req.options.num_images or presets.PRESETS[name].num_images


def _register_presets():
  from tf_gans.metrics import presets  # pylint: disable=import-outside-toplevel

  def swd_preset(name):
    del name  # SWD reads any image count (reals and fakes have the preset's, equal)
    return _swd_size

  def fid_preset(name):
    def check(req):
      out = _features(req)
      return out or _full_rank(req, '--num_samples', _preset_count(req, name), 'per-pass')
    return check

  def is_preset(name):
    def check(req):
      from tf_gans.metrics import inception_score  # pylint: disable=import-outside-toplevel
      splits = inception_score.SPLITS
      return _features(req, need_logits=True) + _at_least(
          '--num_samples', _preset_count(req, name), splits,
          f'one image per each of the {splits} splits')
    return check

  def ms_ssim_preset(name):
    def check(req):
      num = _preset_count(req, name)
      out = _ms_ssim_size(req)
      if num < 2 or num % 2:
        out.append(f'--num_samples={num}: MS-SSIM pairs images, so it needs an even image count '
                   f'>= 2.')
      return out
    return check

  makers = {'swd': swd_preset, 'fid': fid_preset, 'is': is_preset, 'ms_ssim': ms_ssim_preset}
  for name, preset in presets.PRESETS.items():
    CHECKS.register(name, makers[preset.metric](name))


_register_presets()

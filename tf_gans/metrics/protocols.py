"""The metrics `python -m tf_gans.evaluate` runs, each as its paper's protocol, by name.

`METRICS` maps a name to a function `(Evaluation) -> dict`; the
`Evaluation` (tf_gans.metrics.evaluation) holds what several metrics share
and computes each thing once: the generator's uint8 samples, the real images
of --data/--split, the feature extractor and features.

  parzen            GAN 2014 Table 1 (tf_gans.metrics.parzen)
  digit_confidence  share of samples a digit classifier (trained on --data labels) is sure of
  fid               Frechet distance of features (TTUR fid.py, as RGAN and PGGAN use it)
  kid               kernel Inception distance (Binkowski et al. 2018)
  is                Inception score (improved-gan, as PGGAN), or a classifier score
  swd               sliced Wasserstein distance x 1e3 per level and average (PGGAN s5 / App. D)
  ms_ssim           mean MS-SSIM of generated pairs (PGGAN, diversity), and of real pairs
  nn                nearest training images of samples, pixel and feature space (PNG grid)
  fid-rgan          FID as the RGAN reference computes it (tf_gans.metrics.rgan_fid)
  precision_recall  improved precision and recall, k = 3 (Kynkaanniemi et al. 2019)
  density_coverage  density and coverage, k = 5 (Naeem et al. 2020)
  fid_inf, is_inf   FID / IS extrapolated to infinitely many samples (Chong and Forsyth 2020)

With --ci, fid, kid, precision_recall and density_coverage add a bootstrap
interval (tf_gans.metrics.bootstrap).

The PGGAN presets (swd-16k, fid-10k, fid-50k, is-50k, msssim-20k: the
original's `util_scripts.evaluate_metrics` lines) are the other names `run`
takes; they share one `tf_gans.metrics.presets.PresetDriver`.

Before any of them runs, `run` checks every requested name's constraints
(tf_gans.metrics.constraints: image sizes, counts, labels, weights files) and
raises one error listing all violations; with errors='record' a metric that
raises becomes an {'error': ...} result and the others are still computed.
The nn grid's panels are labelled (`nn_panel_titles`).
"""

from typing import Any, Callable, Dict, Optional, Sequence

import numpy as np

from tf_gans.metrics import constraints
from tf_gans.metrics import rgan_fid
from tf_gans.metrics.evaluation import FEATURE_METRICS, FEATURES, Evaluation, Options
from tf_gans.metrics.evaluation import confidence_interval, full_rank_statistics
from tf_gans.metrics.presets import PRESETS, PresetDriver
from tf_gans.registry import Registry

METRICS = Registry('metric')


def _common(ev: Evaluation) -> Dict[str, Any]:
  return {'features': ev.opt.features}


@METRICS.register('fid')
def fid_metric(ev: Evaluation) -> Dict[str, Any]:
  """FID = ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2)), TTUR eq. 6."""
  from tf_gans.metrics import fid  # pylint: disable=import-outside-toplevel
  (mu_r, sigma_r), reals_from = ev.real_statistics()
  mu_g, sigma_g = full_rank_statistics('generated', ev.features('fakes'), ev.opt.fid_small_sample)
  return {'fid': fid.frechet_distance(mu_r, sigma_r, mu_g, sigma_g, method=ev.opt.fid_method),
          'reals': reals_from, 'num_samples': ev.opt.num_samples,
          'small_sample': ev.opt.fid_small_sample, **confidence_interval(ev, 'fid'),
          **_common(ev)}


@METRICS.register('kid')
def kid_metric(ev: Evaluation) -> Dict[str, Any]:
  """Kernel distance (unbiased MMD^2, cubic polynomial kernel), mean and std over subsets."""
  from tf_gans.metrics import fid  # pylint: disable=import-outside-toplevel
  result = fid.kernel_distance(ev.features('reals'), ev.features('fakes'))
  return {**result.to_dict(), **confidence_interval(ev, 'kid'), **_common(ev)}


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


# The RGAN reference's FID, with its batches of 100 and PNG quantisation (its own module).
METRICS.register('fid-rgan', rgan_fid.rgan_fid_metric)
for _name, _metric in FEATURE_METRICS.items():  # precision_recall, density_coverage, fid_inf, is_inf
  METRICS.register(_name, _metric)


# ------------------------------------------------------------------------ run


def check_names(names: Sequence[str]) -> None:
  """Raises KeyError for a name that is neither a metric nor a preset."""
  for name in names:
    if name not in PRESETS and name not in METRICS:
      raise KeyError(f'Unknown metric {name!r}; expected one of: '
                     f'{", ".join(sorted(METRICS.names()) + sorted(PRESETS))}.')


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

"""Evaluate an exported generator with the papers' metrics, or any two image sources:

  python -m tf_gans.evaluate --model=<export dir> --data=<dataset spec> \
      --metrics=fid,is,swd,ms_ssim,nn [--inception=<weights>] [--out=result.json]
  python -m tf_gans.evaluate --model=<export dir> --metrics=parzen --data=mnist_idx:<dir> ...
  python -m tf_gans.evaluate --reals=folder:real/ --fakes=folder:fake/ \
      --metrics=fid,kid,precision_recall,density_coverage --inception=<weights> [--ci=0.95]

--reals / --fakes take any SOURCE of tf_gans/metrics/sources.py: a dataset spec
(`folder:`, `mnist_idx:`, `tfrecords:`, `tfds:`, `digits`, with `@split`), an
`npz:` of uint8 images, a generator export or a training run (`run:<dir>@K`).
They stream in minibatches and their features are cached by content
(--feature_cache), so a second metric or comparison runs no network.

Prints a table (and, with one metric, the metric's JSON) and writes JSON to
--out. The metrics and their protocols: tf_gans/metrics/protocols.py.

Before loading the generator or computing anything, every requested metric's
constraints (tf_gans/metrics/constraints.py: image sizes, image counts,
labels, weights files) are checked; violations are listed in one error and
the exit status is 2. Each metric is then computed on its own: one that
raises is reported on stderr (`error: metric <name>: ...`) and in the
results as {"error": ...}, the others are still computed and written, and
the exit status is 1 (0 when every metric succeeded).
"""

import dataclasses
import json
import sys

from absl import flags

from tf_gans import cli

flags.DEFINE_string('model', None, 'Generator SavedModel folder (a run\'s export/generator, or a '
                    'converted PGGAN\'s Gs_savedmodel).')
flags.DEFINE_string('run', None, 'A run folder: evaluate each kept snapshot (snapshots/) and '
                    'append one JSON line per snapshot to <run>/metrics.jsonl (instead of --model). '
                    '--data / --split / --pad_to default to the run\'s training data, '
                    '--mirror_augment to the run\'s.')
flags.DEFINE_string('snapshots', 'all', 'With --run: all, or the snapshots to evaluate by '
                    'position (steps for GAN / RGAN, kimg for PGGAN), e.g. 600,1200.')
flags.DEFINE_list('metrics', ['parzen'],
                  'Comma-separated metrics: fid, kid, is, swd, ms_ssim, nn, parzen (GAN 2014 '
                  'protocol), digit_confidence (share of samples a digit classifier trained on '
                  '--data/--split labels gives probability >= 0.9), precision_recall (k = 3, '
                  'Kynkaanniemi et al. 2019), density_coverage (k = 5, Naeem et al. 2020), '
                  'fid_inf, is_inf (extrapolated to infinitely many samples, Chong and Forsyth '
                  '2020); or the PGGAN presets of the '
                  'original config.py: swd-16k, fid-10k, fid-50k, is-50k, msssim-20k (the original '
                  'evaluate_metrics: its image counts, Reals / Reals2 rows, RGB tiling).')
flags.DEFINE_alias('metric', 'metrics')
flags.DEFINE_string('reals', None, 'Reference images, any SOURCE: a dataset spec with optional '
                    '@split (folder:<dir>, tfds:cifar10@test, digits@test, ...), npz:<file>[:key], '
                    'savedmodel:<dir> or run:<dir>[@snapshot]; with --fakes instead of --data / '
                    '--model. All its images unless --num_reals.')
flags.DEFINE_string('fakes', None, 'Images to score against --reals, any SOURCE as --reals; a '
                    'generator gives --num_samples images (--seed), stored images all of them '
                    'unless --num_samples is typed.')
flags.DEFINE_enum('resize', 'legacy_tf', ['legacy_tf', 'clean'],
                  'How images reach the Inception\'s 299x299 input: legacy_tf (the TTUR graph\'s '
                  'bilinear resize, as the papers\' FIDs) or clean (clean-fid\'s antialiased '
                  'PIL bicubic, Parmar et al. 2022).')
flags.DEFINE_string('feature_cache', None, 'Folder of cached features of --reals / --fakes (default '
                    '$TF_GANS_FEATURE_CACHE or ~/.cache/tf_gans/features; empty: no cache).')
flags.DEFINE_integer('pad_to', 0, 'Zero-pad --data images to this size (MNIST 28 -> 32), as in training.')
flags.DEFINE_string('data', 'digits', 'Reference data: digits, mnist_idx:<dir>, folder:<path>, '
                    'tfds:<name>, tfrecords:<dir>.')
flags.DEFINE_string('split', 'test', 'Split of --data to evaluate on, optionally sliced (test[:1000]).')
flags.DEFINE_string('valid_split', None,
                    'Parzen: split of --data on which sigma is chosen (the protocol: 1000 held-out '
                    'training images, e.g. train[9000:10000]). Exclusive with --sigma.')
flags.DEFINE_float('sigma', None, 'Parzen: fixed kernel width instead of the validation search.')
flags.DEFINE_integer('num_samples', 10000, 'Generator samples (Parzen: the kernel centres). '
                     'Presets: images per pass, by default the preset\'s count (swd-16k: 16384).')
flags.DEFINE_bool('mirror_augment', False, 'The evaluated run trained with mirror augment: flip '
                  'each real image along the width with p = 0.5, as the original evaluate_metrics.')
flags.DEFINE_bool('fid_small_sample', False, 'fid: allow --num_samples <= 2048 generated images. '
                  'Their 2048-d covariance is then rank-deficient: the FID stays finite (TTUR\'s '
                  'sqrtm, with its 1e-6 offset when needed) but is biased upward, so compare only '
                  'FIDs of the same --num_samples. The real side must still be full-rank.')
flags.DEFINE_enum('fid_method', 'sqrtm', ['sqrtm', 'eigh'],
                  'fid: Tr (S_r S_g)^(1/2) by scipy sqrtm, as TTUR (default), or by two symmetric '
                  'eigendecompositions (tf_gans.metrics.fid: the same trace to ~1e-6 relative, '
                  '2-3x faster at d = 2048).')
flags.DEFINE_integer('num_reals', 0, 'Real images of --data/--split used by fid/kid/swd/ms_ssim/nn '
                     '(0: --num_samples; SWD needs them equal).')
flags.DEFINE_integer('seed', 0, 'Seed of the generator samples.')
flags.DEFINE_string('out', None, 'Write the result as JSON here.')
flags.DEFINE_float('ci', 0.0, 'Bootstrap confidence interval of fid, kid, precision_recall and '
                   'density_coverage at this coverage, e.g. 0.95 (tf_gans.metrics.bootstrap); 0: '
                   'none.')
flags.DEFINE_integer('ci_resamples', 100, 'Bootstrap resamples per --ci interval.')
flags.DEFINE_enum('features', 'inception', ['inception', 'classifier', 'vgg16'],
                  'Feature extractor of fid/kid/is/nn/precision_recall/density_coverage: the FID '
                  'Inception (--inception weights), the digit classifier trained on --data/--split '
                  'labels (with --reals/--fakes: on the built-in digits), or VGG16 fc2 as '
                  'Kynkaanniemi et al. 2019 use for precision/recall (--vgg16_weights: Keras\' '
                  'ImageNet weights file; nothing is downloaded).')
flags.DEFINE_string('vgg16_weights', None, '--features=vgg16: keras.applications.VGG16 ImageNet '
                    'weights (vgg16_weights_tf_dim_ordering_tf_kernels.h5).')
flags.DEFINE_string('inception', None, 'FID Inception weights file (python -m '
                    'tf_gans.tools.import_inception writes one).')
flags.DEFINE_string('fid_stats', None, 'TTUR-format .npz (mu, sigma) of the real features: read '
                    'if it exists (e.g. fid_stats_cifar10_train.npz), else computed and written.')
flags.DEFINE_string('nn_out', None, 'nn: write the neighbour grid PNG here.')
flags.DEFINE_integer('nn_num', 8, 'nn: samples shown.')
flags.DEFINE_integer('nn_k', 3, 'nn: neighbours per sample.')
flags.DEFINE_bool('progress', True, 'Progress lines on stderr.')
flags.DEFINE_integer('classifier_epochs', 2,
                     'Epochs of digit-classifier training on --data/--split.')
flags.DEFINE_string('reference_split', None,
                    'digit_confidence: also score the real images of this split of --data '
                    '(held out from the classifier, e.g. train[:10000]) as the real-data reference.')
flags.DEFINE_string('centres', 'model',
                    'Parzen kernel centres: model (--num_samples generator samples), '
                    'data:<split> (real images of --data: the upper reference) or uniform '
                    '(--num_samples uniform-noise images: the lower reference).')
flags.register_validator(
    'centres', lambda c: c in ('model', 'uniform') or c.startswith('data:'),
    message='--centres must be model, uniform or data:<split>.')
flags.register_multi_flags_validator(
    ['model', 'run', 'centres', 'fakes'],
    lambda f: f['centres'] != 'model' or f['model'] or f['run'] or f['fakes'],
    message='--model, --run or --reals with --fakes is required (except for --metrics=parzen with '
            '--centres=data:/uniform).')
flags.register_multi_flags_validator(
    ['model', 'run', 'fakes'], lambda f: sum(bool(f[n]) for n in ('model', 'run', 'fakes')) <= 1,
    message='--model evaluates one export, --run every snapshot of a run, --fakes any images '
            'against --reals: pass one of them.')
flags.register_multi_flags_validator(
    ['reals', 'fakes'], lambda f: bool(f['reals']) == bool(f['fakes']),
    message='--reals and --fakes come together: the two image sources to compare.')
flags.register_validator('num_samples', lambda n: n >= 1, message='--num_samples must be >= 1.')
flags.register_validator('num_reals', lambda n: n >= 0, message='--num_reals must be >= 0.')
flags.register_validator('metrics', lambda m: bool(m), message='--metrics must name a metric.')
flags.register_multi_flags_validator(
    ['metrics', 'valid_split', 'sigma'],
    lambda f: 'parzen' not in f['metrics'] or (f['valid_split'] is None) != (f['sigma'] is None),
    message='Parzen needs exactly one of --valid_split (sigma chosen on it) or --sigma.')
FLAGS = flags.FLAGS

# Result keys shown in the table (the rest go to the JSON only).
_TABLE_KEYS = ('fid', 'mean', 'std', 'is_mean', 'is_std', 'ms_ssim', 'precision', 'recall',
               'density', 'coverage', 'fid_inf', 'is_inf',
               'ms_ssim_reals', 'log_likelihood', 'std_error', 'sigma', 'fraction_confident',
               'grid', 'error')


def options_from_flags():
  from tf_gans.metrics import evaluation  # pylint: disable=import-outside-toplevel
  return evaluation.Options(
      data=FLAGS.data, split=FLAGS.split, pad_to=FLAGS.pad_to, num_samples=FLAGS.num_samples,
      num_reals=FLAGS.num_reals, seed=FLAGS.seed, features=FLAGS.features,
      inception=FLAGS.inception or '', fid_stats=FLAGS.fid_stats or '',
      vgg16_weights=FLAGS.vgg16_weights or '',
      classifier_epochs=FLAGS.classifier_epochs, nn_out=FLAGS.nn_out or '', nn_num=FLAGS.nn_num,
      nn_k=FLAGS.nn_k, progress=FLAGS.progress, mirror_augment=FLAGS.mirror_augment,
      fid_small_sample=FLAGS.fid_small_sample, fid_method=FLAGS.fid_method,
      ci=FLAGS.ci, ci_resamples=FLAGS.ci_resamples, reals=FLAGS.reals or '',
      fakes=FLAGS.fakes or '', resize=FLAGS.resize, feature_cache=FLAGS.feature_cache,
      num_images=FLAGS.num_samples if FLAGS['num_samples'].present else 0,
      extra={'valid_split': FLAGS.valid_split, 'sigma': FLAGS.sigma, 'centres': FLAGS.centres,
             'reference_split': FLAGS.reference_split})


def table(results):
  """One line per metric value: `metric  key  value`."""
  lines = []
  for name, result in results.items():
    if 'preset' in result:
      continue
    for key, value in result.items():
      if key in _TABLE_KEYS or key.startswith('SWDx1e3_'):
        text = f'{value:.4f}' if isinstance(value, float) else str(value)
        lines.append(f'{name:<17}{key:<20}{text}')
  from tf_gans.metrics import presets as presets_lib  # pylint: disable=import-outside-toplevel
  presets = presets_lib.results_log_table(results)  # the original's log: one row per pass / snapshot
  return '\n'.join(lines + ([''] if lines and presets else []) + ([presets] if presets else []))


def interrupted(error):
  """Ctrl-C / SIGTERM during an evaluation: one line saying what was kept, exit 130 (the
  feature rows computed so far are in the feature cache: the same command continues)."""
  kept = f' {error}.' if str(error) else ''
  sys.stderr.write(f'\nStopped.{kept} Run the same command again to continue.\n')
  sys.exit(cli.INTERRUPTED_EXIT_STATUS)


def report_error(name, message):
  """A metric that failed while computing: one line on stderr (the others go on)."""
  sys.stderr.write(f'error: metric {name}: {message}\n')
  sys.stderr.flush()
  return name


def main(argv):
  """Refuses (status 2) what no metric can do before any work; 1 if a metric failed, else 0."""
  del argv
  # pylint: disable=import-outside-toplevel
  from tf_gans.metrics import constraints
  from tf_gans.metrics import evaluation
  from tf_gans.metrics import presets as presets_lib
  from tf_gans.metrics import protocols
  from tf_gans.metrics import run_eval
  from tf_gans.models import savedmodel
  failures = []
  try:
    protocols.check_names(FLAGS.metrics)
    if FLAGS.run:
      return evaluate_run()
    opts = options_from_flags()
    ev = evaluation.Evaluation(None, opts)
    # Every metric's constraints (image sizes, counts, labels, weights files) before the
    # generator loads; `run` checks again with its image shape, then computes each metric.
    constraints.require(FLAGS.metrics, ev)
    module = savedmodel.load_generator(FLAGS.model) if FLAGS.model else None
    if module is not None and any(n not in presets_lib.PRESETS for n in FLAGS.metrics):
      # A conditional generator is sampled on the labels of the reals, as the original
      # evaluates Gs (run_eval.RealLabelled); the presets feed their reals' labels themselves.
      module = run_eval.real_labelled(module, opts, ev)
    results = protocols.run(FLAGS.metrics, module, opts, errors='record', evaluation=ev,
                            on_error=lambda name, msg: failures.append(report_error(name, msg)))
  except cli.USER_ERRORS as e:
    cli.fail(e)
  except KeyboardInterrupt as e:
    interrupted(e)
  if ev.compares_sources:
    common = sources_report(ev)
  else:
    common = {'model': FLAGS.model, 'data': FLAGS.data, 'split': FLAGS.split}
  if len(results) == 1:
    ((name, result),) = results.items()
    cli.print_json({'metric': name, **common, **result}, FLAGS.out)
  else:
    print(table(results))
    report = {**common, 'options': dataclasses.asdict(opts), 'metrics': results}
    if FLAGS.out:
      with open(FLAGS.out, 'w') as f:
        f.write(json.dumps(report, indent=2, sort_keys=True) + '\n')
      print(f'Wrote {FLAGS.out}.')
  if failures:
    sys.stderr.write(f'error: {len(failures)} of {len(results)} metric(s) failed: '
                     f'{", ".join(protocols.failed(results))} (the others were written).\n')
    sys.exit(1)


def sources_report(ev):
  """What produced the values of a --reals / --fakes comparison, for the JSON."""
  import importlib.metadata  # pylint: disable=import-outside-toplevel
  try:
    version = importlib.metadata.version('tf_gans')
  except importlib.metadata.PackageNotFoundError:
    version = 'unknown'
  return {'reals': ev.image_source('reals').describe(),
          'fakes': ev.image_source('fakes').describe(),
          'feature_extractor': ev.extractor_identity(),
          'resize': ev.opt.resize, 'seed': ev.opt.seed, 'tf_gans_version': version}


def evaluate_run():
  """--run: every selected snapshot of a run -> <run>/metrics.jsonl, metrics.png, TensorBoard.

  Exits with status 1 when a metric of a snapshot failed (the rest are still evaluated and
  written)."""
  from tf_gans.metrics import run_eval  # pylint: disable=import-outside-toplevel
  given = [name for name in ('data', 'split', 'pad_to', 'mirror_augment', 'num_samples')
           if FLAGS[name].present]
  failures = []
  try:
    rows = run_eval.evaluate_run(FLAGS.run, FLAGS.metrics, options_from_flags(), FLAGS.snapshots,
                                 given=given, log=lambda text: print(text, flush=True),
                                 on_error=lambda position, name, msg: failures.append(
                                     report_error(f'{name} at {position:g}', msg)))
  except KeyboardInterrupt as e:
    interrupted(e)
  print(f'{len(rows)} row(s) in {FLAGS.run}/{run_eval.METRICS_FILE}; plot '
        f'{FLAGS.run}/{run_eval.METRICS_PLOT}.')
  if failures:
    sys.stderr.write(f'error: {len(failures)} metric evaluation(s) failed (the others were '
                     f'written; failed snapshots are evaluated again on the next call).\n')
    sys.exit(1)


if __name__ == '__main__':
  cli.sigterm_as_keyboard_interrupt()  # a scheduler's SIGTERM keeps the features as Ctrl-C does
  cli.run(main)

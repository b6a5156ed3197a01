"""Metrics over a whole run: every kept snapshot, one JSON line each.

    python -m tf_gans.evaluate --run=<run folder> --metrics=swd,fid [--snapshots=all|K1,K2]

The original PGGAN evaluates each `network-snapshot-KKKKKK.pkl` of a run
(`util_scripts.py` `evaluate_metrics`); the RGAN CAT runs compute FID every
10k iterations. Here every snapshot in `<run>/snapshots/`
(`tf_gans.training.snapshots`) is rebuilt from the run file and evaluated
with the metric protocols of `tf_gans.metrics.protocols`; each result is
appended to `<run>/metrics.jsonl` as one JSON object (`step` or `kimg`, then
`<metric>/<key>` values, and `errors: {metric: message}` for the metrics that
raised on that snapshot: the others are still computed and written),
snapshots already in the file without errors are skipped (so an interrupted
evaluation continues and a failed one is retried), the values go to TensorBoard
(`<run>/tensorboard/metrics`) and `metrics.png` plots each metric against
training. PGGAN snapshots are evaluated through Gs, as the original does. The
original's presets (`swd-16k`, `fid-10k`, ...) run through one
`presets.PresetDriver`: the reals passes (and the Reals / Reals2 rows) once,
then one row of the original's log table per snapshot.

What the original takes from the run's config.txt
(`misc.load_dataset_for_previous_run`), this takes from the run file unless
the flag is typed (`default_options`): the data (--data / --split /
--pad_to) and `mirror_augment` (the metrics' reals flipped as the run's
were); and a sample count when the run config carries one
(`RUN_SAMPLE_COUNT_FIELD`). A conditional Gs (label_size > 0) is fed the
reals' labels, never random ones: the presets give it the labels of their
last reals pass (`presets.PresetDriver`), the plain metrics the labels of
their reals in order (`RealLabelled`); rows are cut to Gs's label count (the
original's `max_label_size`), and data without them is refused.
"""

import dataclasses
import json
import os
import time

import numpy as np

from tf_gans.training import snapshots as snapshots_lib

METRICS_FILE = 'metrics.jsonl'
METRICS_PLOT = 'metrics.png'


def select(available, spec):
  """The snapshots `spec` names: 'all' or positions 'K1,K2' (steps or kimg)."""
  if spec in ('', 'all'):
    return available
  wanted = []
  for item in spec.split(','):
    try:
      wanted.append(float(item))
    except ValueError:
      raise ValueError(f'--snapshots: expected all or positions such as 600,1200, got '
                       f'{item!r}.') from None
  by_position = {float(p): (p, prefix) for p, prefix in available}
  missing = [w for w in wanted if w not in by_position]
  if missing:
    raise ValueError(f'--snapshots: no snapshot at {", ".join(f"{m:g}" for m in missing)}; the '
                     f'run has {", ".join(f"{p:g}" for p, _ in available) or "none"}.')
  return [by_position[w] for w in wanted]


def read_rows(path):
  """The JSON objects of a metrics.jsonl file (a torn last line from a kill is skipped)."""
  if not os.path.exists(path):
    return []
  rows = []
  with open(path) as f:
    for line in f:
      try:
        rows.append(json.loads(line))
      except ValueError:
        continue
  return rows


def flatten(results):
  """{metric: {key: value}} -> {'metric/key': float} for the numeric values, and
  {'metric/ci': {...}} for a metric's bootstrap interval(s) under --ci (what the study's
  runs.csv reads)."""
  flat = {}
  for name, result in results.items():
    for key, value in result.items():
      if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
        flat[f'{name}/{key}'] = float(value)
      elif key == 'ci' and isinstance(value, dict):
        flat[f'{name}/ci'] = json.loads(json.dumps(value, default=_plain_number))
  return flat


def _plain_number(value):
  if isinstance(value, (np.floating, np.integer)):
    return value.item()
  raise TypeError(f'not JSON: {type(value).__name__}')


def _is_number(value):
  return isinstance(value, (int, float)) and not isinstance(value, bool)


def evaluate_run(logdir, names, options, snapshots='all', given=(), log=print, on_error=None):
  """Evaluates the selected snapshots of a run; returns every row of its metrics.jsonl.

  Every metric's constraints (tf_gans.metrics.constraints) are checked once, before any
  snapshot is restored: one ValueError lists the violations. Then a metric that raises
  on a snapshot is logged (`on_error(position, name, message)` is also called) and kept
  in that snapshot's row as `errors: {name: message}`; the other metrics and snapshots
  are still evaluated and written. A row with errors does not count as done: the next
  call evaluates that snapshot again. The PGGAN presets share one driver (its reals
  passes), so they fail together.

  Args:
    logdir: the run folder.
    names: metric names (`tf_gans.metrics.protocols.METRICS`).
    options: `evaluation.Options`.
    snapshots: 'all' or 'K1,K2,...' (steps for GAN / RGAN, kimg for PGGAN).
    given: the Options fields the user set; data / split / pad_to, mirror_augment and
      num_samples not in it become the run's own (`default_options`).
  """
  # pylint: disable=import-outside-toplevel
  import tensorflow as tf
  from tf_gans.metrics import constraints
  from tf_gans.metrics import evaluation
  from tf_gans.metrics import presets as presets_lib
  from tf_gans.metrics import protocols
  from tf_gans import families
  rg, cfg = families.load_generator(logdir)
  options = default_options(options, rg, given, cfg)
  available = snapshots_lib.list_snapshots(logdir)
  if not available:
    raise FileNotFoundError(f'--run={logdir} holds no snapshots ({snapshots_lib.SNAPSHOT_DIR}/); '
                            f'runs write them with --snapshot_every (GAN / RGAN) or every '
                            f'--network_snapshot_ticks (PGGAN), and at their end.')
  chosen = select(available, snapshots)
  from tf_gans.models import savedmodel
  module = savedmodel.InMemoryExport(rg.generator, rg.latent_dim, rg.latent_distribution,
                                     rg.value_range, rg.label_size)
  ev = evaluation.Evaluation(module, options)
  constraints.require(names, ev, module)
  # The plain metrics sample a conditional Gs on the reals' labels; the presets' driver
  # feeds it the labels of its last reals pass itself.
  labelled = real_labelled(module, options, ev) if any(
      n not in presets_lib.PRESETS for n in names) else module
  path = os.path.join(logdir, METRICS_FILE)
  done = {(r.get(rg.unit), tuple(sorted(r.get('metrics', [])))) for r in read_rows(path)
          if not r.get('errors')}
  key = tuple(sorted(names))
  todo = [(p, prefix) for p, prefix in chosen if (p, key) not in done]
  log(f'{logdir}: {len(chosen)} snapshot(s) selected, {len(chosen) - len(todo)} already in '
      f'{METRICS_FILE}; evaluating {len(todo)} with {", ".join(names)}.')
  writer = tf.summary.create_file_writer(os.path.join(logdir, 'tensorboard', 'metrics'))
  presets = [n for n in names if n in presets_lib.PRESETS]
  plain = [n for n in names if n not in presets_lib.PRESETS]
  driver, driver_error = None, None
  if presets and todo:  # the original's driver: the reals passes once, one log row per snapshot
    try:
      driver = presets_lib.PresetDriver(presets, options, evaluation=ev)
      real_rows = driver.real_rows()
    except Exception as e:  # pylint: disable=broad-except
      driver, driver_error = None, protocols.error_entry(e)['error']
      real_rows = []
      log(f'error: {", ".join(presets)}: {driver_error}')
    if driver is not None:
      log(presets_lib.log_header(driver.columns))
    for real_row in real_rows:
      log(presets_lib.log_row(real_row, driver.columns))
      # The real-vs-real baseline (the original's Reals / Reals2 rows), once per evaluation.
      with open(path, 'a') as f:
        f.write(json.dumps({'title': real_row.title, 'reals_of': list(key), **{
            f'{n}/{c}': float(v) for n in presets for c, v in real_row.values.items()
            if v is not None and c in [col.name for col in driver.states[n].columns]}},
                           sort_keys=True) + '\n')
  for i, (position, prefix) in enumerate(todo):
    start = time.time()
    errors = {}

    def record(name, message, position=position, errors=errors):
      errors[name] = message
      log(f'error: {rg.unit} {position:g}: {name}: {message}')
      if on_error is not None:
        on_error(position, name, message)

    snapshots_lib.restore(prefix, rg.nets)
    values = {}
    if plain:
      try:
        values = flatten(protocols.run(plain, labelled, options, errors='record',
                                       on_error=record))
      except Exception as e:  # pylint: disable=broad-except
        for name in plain:  # the run as a whole failed (e.g. its data): each metric failed
          record(name, protocols.error_entry(e)['error'])
    if driver is not None:
      try:
        log_row = driver.evaluate(module, f'{position:g}')
        values.update({f'{n}/{k}': float(v) for n in presets
                       for k, v in driver.result(n).items()
                       if isinstance(v, (int, float, np.floating)) and not isinstance(v, bool)})
        log(presets_lib.log_row(log_row, driver.columns))
      except Exception as e:  # pylint: disable=broad-except
        for name in presets:
          record(name, protocols.error_entry(e)['error'])
    elif driver_error is not None:
      for name in presets:
        record(name, driver_error)
    row = {rg.unit: position, 'metrics': list(key), 'seconds': round(time.time() - start, 1),
           **values, **({'errors': errors} if errors else {})}
    with open(path, 'a') as f:
      f.write(json.dumps(row, sort_keys=True) + '\n')
    step = int(round(position * 1000)) if rg.unit == 'kimg' else int(position)
    with writer.as_default(step=step):
      for k, v in row.items():
        if '/' in k and _is_number(v):
          tf.summary.scalar(k, v)
    writer.flush()
    log(f'[{i + 1}/{len(todo)}] {rg.unit} {position:g}: '
        + '  '.join(f'{k} {v:.4g}' for k, v in row.items() if '/' in k and _is_number(v))
        + f'  ({row["seconds"]:.0f}s)')
  rows = read_rows(path)
  if rows:
    plot_metrics(rows, rg.unit, os.path.join(logdir, METRICS_PLOT))
  return rows


def plot_metrics(rows, unit, out_path):
  """One panel per metric: each of its values against step / kimg, and the Reals2
  (real vs real) rows as dashed lines. Returns out_path."""
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  keys = sorted({k for r in rows for k, v in r.items() if '/' in k and _is_number(v)
                 and not k.split('/', 1)[1].startswith(('num_', 'seed', 'real_passes', 'time_'))})
  metrics = sorted({k.split('/', 1)[0] for k in keys})
  fig, axes = plt.subplots(1, max(1, len(metrics)), figsize=(5 * max(1, len(metrics)), 4),
                           squeeze=False)
  for ax, metric in zip(axes[0], metrics):
    for k in (k for k in keys if k.startswith(metric + '/')):
      points = sorted((r[unit], r[k]) for r in rows if k in r and unit in r)
      if points:
        line, = ax.plot(*zip(*points), marker='o', label=k.split('/', 1)[1])
        for r in rows:  # the Reals2 baseline (real vs other real images) as a dashed line
          if r.get('title') == 'Reals2' and k in r:
            ax.axhline(r[k], color=line.get_color(), linestyle='--', linewidth=1,
                       label=f'{k.split("/", 1)[1]} Reals2')
    ax.set(xlabel=unit, title=metric)
    if ax.get_legend_handles_labels()[0]:
      ax.legend(fontsize='small')
  fig.tight_layout()
  fig.savefig(out_path, dpi=100)
  plt.close(fig)
  return out_path


# The run-config field that carries a protocol's sample count (`RunConfig.fid_num_samples`: the
# RGAN CAT configs compute FID on 10000 samples at 64 / 128 and 2000 at 256, their `gen_every`
# FID of GAN_losses_iter.py); a run whose config has it (> 0) is evaluated on that many samples
# unless --num_samples is typed.
RUN_SAMPLE_COUNT_FIELD = 'fid_num_samples'


def default_options(options, rg, given, cfg=None):
  """`options` with what the run says where the user gave nothing (`given`).

  From the run, as the original `util_scripts.evaluate_metrics` takes the dataset and
  `mirror_augment` from the run's config.txt (`misc.load_dataset_for_previous_run`):
    data / split / pad_to   the run's training data (`rg`);
    mirror_augment          the run's `mirror_augment` (PGGAN configs; False without one),
                            so the metrics' reals are flipped as the run's reals were;
    num_samples             the run config's `RUN_SAMPLE_COUNT_FIELD` when it has one (> 0).
  """
  overrides = {}
  if 'data' not in given:
    overrides['data'] = rg.data
  if 'split' not in given:
    overrides['split'] = rg.split
  if 'pad_to' not in given:
    overrides['pad_to'] = rg.pad_to
  if 'mirror_augment' not in given and cfg is not None:
    overrides['mirror_augment'] = bool(getattr(cfg, 'mirror_augment', False))
  count = int(getattr(cfg, RUN_SAMPLE_COUNT_FIELD, 0) or 0) if cfg is not None else 0
  if 'num_samples' not in given and count > 0:
    overrides['num_samples'] = count
    overrides['num_images'] = count  # what fid-rgan and the presets read as a typed count
  return dataclasses.replace(options, **overrides)


class RealLabelled:
  """A conditional generator export whose `generate` / `sample` feed the reals' labels.

  The export's own `generate` gives a conditional generator random one-hot labels
  (tf_gans.models.savedmodel); the original evaluates Gs on the labels of the reals
  it reads (`util_scripts.evaluate_metrics`: `Gs.run(latents, labels[begin:end])`).
  The plain metrics draw `generate(seed + first, n)` / `sample(seed + first, n)` for
  samples [first, first + n) (tf_gans.metrics.evaluation, rgan_fid), and their reals
  are the first images of --data / --split, so sample i gets the label row of real
  image i (mod the split's size): rows = the data's labels cut to the generator's
  `label_size` (presets.generator_labels: the original's max_label_size cut). The
  latents are those of `generate(seed)` (savedmodel.fixed_latents), the images
  quantised as `generate` does.
  """

  def __init__(self, module, rows, seed):
    self.module, self.rows, self.seed = module, np.asarray(rows, np.float32), int(seed)
    for name in ('label_size', 'latent_dim', 'latent_distribution', 'value_range',
                 'image_shape'):
      setattr(self, name, _plain(getattr(module, name, None)))
    self.signatures = {'serving_default': module.signatures['serving_default'],
                       'generate': self._generate, 'sample': self._sample}

  def labels_for(self, seed, num):
    """The label rows of samples [seed - self.seed, + num) (wrapping around the rows)."""
    first = int(seed) - self.seed
    return self.rows[(first + np.arange(int(num))) % len(self.rows)]

  def _unit(self, seed, num):
    from tf_gans.models import savedmodel  # pylint: disable=import-outside-toplevel
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    latents = savedmodel.fixed_latents(self.latent_distribution, int(num), self.latent_dim, seed)
    images = self.module.signatures['serving_default'](
        latents=latents, labels=tf.constant(self.labels_for(seed, num)))['images'].numpy()
    lo, hi = self.value_range
    return np.clip((images - lo) / (hi - lo), 0.0, 1.0)

  def _sample(self, seed, num):
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    return {'images': tf.constant(self._unit(seed, num), tf.float32)}

  def _generate(self, seed, num):
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    return {'images': tf.constant(np.round(self._unit(seed, num) * 255.0).astype(np.uint8))}


def _plain(value):
  """A loaded SavedModel's metadata variable as the Python value an in-memory export holds."""
  if not hasattr(value, 'numpy'):
    return value
  value = value.numpy()
  if isinstance(value, bytes):
    return value.decode()
  if isinstance(value, np.ndarray):
    return tuple(value.tolist())
  return value.item() if hasattr(value, 'item') else value


def real_labelled(module, options, evaluation=None):
  """`module` as it is when it takes no labels, else a `RealLabelled` over the labels of
  --data / --split; refuses (ValueError) data without labels or with too few components."""
  # pylint: disable=import-outside-toplevel
  from tf_gans.metrics import evaluation as evaluation_lib
  from tf_gans.metrics import presets as presets_lib
  size = evaluation_lib.label_size(module)
  if not size:
    return module
  ev = evaluation or evaluation_lib.Evaluation(module, options)
  rows = presets_lib.source_label_rows(ev.source())
  if rows is None:
    raise ValueError(f'the generator takes {size} labels but --data={options.data} '
                     f'--split={options.split} has none to give it (the original feeds the '
                     f'reals\' labels); evaluate on the data the run trained on.')
  return RealLabelled(module, presets_lib.generator_labels(rows, size, f'--data={options.data}'),
                      options.seed)

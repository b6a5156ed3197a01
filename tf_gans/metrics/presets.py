"""PGGAN's metric presets, evaluated as the original `util_scripts.evaluate_metrics`.

The original's config.py runs `util_scripts.py` `evaluate_metrics` with
`num_images` and `real_passes` per metric; those lines are `PRESETS` here,
evaluated by `PresetDriver` as the original does (`python -m tf_gans.evaluate
--metrics=swd-16k`, or over a run's snapshots by tf_gans.metrics.run_eval):

  swd-16k     SWD, 16384 images, real_passes 2 (rows Reals, Reals2)
  fid-10k     FID, 10000 images
  fid-50k     FID, 50000 images
  is-50k      Inception score, 50000 images
  msssim-20k  MS-SSIM, 20000 images (10000 pairs)

Each metric is fed pass by pass as the original's `metrics/*.API` objects
(`begin`, `feed` minibatches, `end`): `_SwdPasses` (sliced_wasserstein),
`_FidPasses` (frechet_inception_distance), `_IsPasses` (inception_score),
`_MsSsimPasses` (ms_ssim).

  * Reals are read in the dataset's order from its first image, wrapping
    around (the original's dataset has shuffle_mb=0 and repeats), in
    minibatches of clip(8192 // resolution, 4, 256) images, with the
    original's rule for a short last minibatch (`reals_pass_records`): its
    `TFRecordDataset.configure` restarts the stream from record 0 whenever
    the minibatch size changes, so a pass of N = q mb + r images (r > 0)
    feeds records [0, q mb) then [0, r), and every later pass starts again
    at record 0; when mb divides N, pass p holds [p N, (p + 1) N) mod the
    split's size. Only the minibatch being fed is in memory (a `tfrecords:`
    source reads just those records: tf_gans.data.tfrecords_source). Under mirror augment
    (the run trained with it: the original's load_dataset_for_previous_run)
    each is flipped along the width with p = 0.5 (`misc.apply_mirror_augment`),
    drawn from `default_rng([seed, MIRROR_STREAM, pass])` one image at a time
    (tf_gans.metrics.evaluation).
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
    that takes labels (label_size L > 0) gets the same latents and the labels
    of the reals in order: those of the last reals pass, as the original's
    `labels` array holds after its passes. The rows are the data's label
    vectors (multi-hot rows as they are; class indices one-hot) cut to their
    first L components, the original's `_np_labels[:, :max_label_size]` (a
    PGGAN Gs has L = min(dataset labels, max_label_size)). Data without
    labels, or with fewer than L components, is refused with the reason.
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
plain names (swd, fid, ...) keep their behaviour (tf_gans.metrics.protocols).
What each preset needs (image size, an even MS-SSIM count, ...) is checked
beforehand by tf_gans.metrics.constraints.
"""

import dataclasses
import time
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from tf_gans.metrics.evaluation import (FEATURES, GENERATE_CHUNK, Evaluation, Options,
                                        generate_with_labels, image_features, image_logits,
                                        label_size, mirror_augment, mirror_rng, progress, to_rgb,
                                        to_uint8)


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
WARMUP_STREAM = 8        # the warm-up noise: [seed, WARMUP_STREAM] (evaluation.MIRROR_STREAM is 7)


# ------------------------------------------------------------- the original's metric log


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


# ------------------------------------------------ the original's metrics/*.API, pass by pass


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
    image_features(self.ev, images)

  def begin(self, patch_stream: int):
    del patch_stream
    from tf_gans.metrics import fid  # pylint: disable=import-outside-toplevel
    self._acc = fid.StatisticsAccumulator()

  def feed(self, images):
    features = image_features(self.ev, images)
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
    image_logits(self.ev, images)

  def begin(self, patch_stream: int):
    del patch_stream
    self._logits = []

  def feed(self, images):
    self._logits.append(image_logits(self.ev, images))

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


# ------------------------------------------------------------------- the driver


def generator_labels(labels, size: int, data: str = '--data') -> np.ndarray:
  """float32 [n, size]: label rows for a generator that takes `size` labels.

  `labels`: the data's label vectors [n, K] (K >= size: the first `size` components,
  as the original `TFRecordDataset` keeps `_np_labels[:, :max_label_size]`), or
  class indices [n] (one-hot over `size` classes; each must be < size).
  """
  labels = np.asarray(labels)
  if labels.ndim == 2:
    if labels.shape[1] < size:
      raise ValueError(f'the generator takes {size} label components but {data} has '
                       f'{labels.shape[1]} per image; evaluate on the data the run trained on.')
    return labels[:, :size].astype(np.float32)
  if labels.size and (labels.min() < 0 or labels.max() >= size):
    raise ValueError(f'{data} labels lie in [{labels.min()}, {labels.max()}]; the generator '
                     f'takes {size} classes.')
  return np.eye(size, dtype=np.float32)[labels.astype(np.int64)]


def source_label_rows(source) -> Optional[np.ndarray]:
  """A source's labels for `generator_labels`: label vectors [N, K] when their width is
  known (vectors, or class indices of a source with `label_size`), else its class
  indices [N]; None without labels."""
  labels = source.labels
  if labels is not None and (labels.ndim == 2 or getattr(source, 'label_size', 0)):
    labels = source.label_vectors()
  return labels


def reals_pass_records(num: int, minibatch_size: int, real_pass: int, size: int):
  """Record numbers of each minibatch of reals pass `real_pass`, as the original reads them.

  The original `util_scripts.evaluate_metrics` asks its dataset for
  `get_minibatch_np(end - begin)` for begin in range(0, num, minibatch_size), and
  `dataset.TFRecordDataset.configure` re-initialises its iterator (a repeating,
  unshuffled stream from record 0) whenever the requested size differs from the
  last one, starting from a fresh dataset (size -1). So: within a pass the full
  minibatches continue the stream; a short last minibatch of r images restarts
  it and reads records [0, r); the next pass's first full minibatch restarts it
  again. Positions wrap around the set's `size` records (repeat=True).

  Returns:
    A list of int64 arrays, one per minibatch of the pass.
  """
  position, current = 0, -1
  for p in range(real_pass + 1):
    batches = []
    for first in range(0, num, minibatch_size):
      n = min(minibatch_size, num - first)
      if n != current:  # configure(n): the iterator starts again at record 0
        position, current = 0, n
      batches.append((position + np.arange(n, dtype=np.int64)) % size)
      position += n
    if p == real_pass:
      return batches
  return []


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
               evaluation: Optional[Evaluation] = None, minibatch_size: Optional[int] = None):
    unknown = [n for n in names if n not in PRESETS]
    if unknown:
      raise KeyError(f'Unknown preset(s) {", ".join(unknown)}; expected: {", ".join(PRESETS)}.')
    if options.features not in FEATURES:
      raise ValueError(f'--features must be one of {", ".join(FEATURES)}, got '
                       f'{options.features}.')
    self.opt = options
    self.ev = evaluation or Evaluation(None, options)
    shape = self.ev.source().image_shape
    if minibatch_size is None:  # the original's default
      minibatch_size = int(np.clip(8192 // shape[0], 4, 256))
      minibatch_size += minibatch_size % 2
    if minibatch_size < 1:
      raise ValueError(f'minibatch_size must be >= 1, got {minibatch_size}.')
    self.minibatch_size = int(minibatch_size)
    self._label_rows = None
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
    progress(what, done, total, start, self.opt.progress)

  # ------------------------------------------------------------------ reals

  def label_rows(self) -> Optional[np.ndarray]:
    """The source's labels, made once: label vectors [N, K] when their width is known
    (vectors, or class indices of a source with `label_size`), else class indices [N]
    (then one-hot over the generator's label count); None without labels."""
    if self._label_rows is None:
      self._label_rows = source_label_rows(self.ev.source())
    return self._label_rows

  def real_batches(self, num: int, real_pass: int):
    """(uint8 images, label vectors or None) minibatches of reals pass `real_pass`.

    The records of `reals_pass_records` (the original's short-last-batch rule), read
    one minibatch at a time (module docstring)."""
    source = self.ev.source()
    labels = self.label_rows()
    rng = mirror_rng(self.opt.seed, real_pass) if self.opt.mirror_augment else None
    for index in reals_pass_records(num, self.minibatch_size, real_pass, source.num_examples):
      images = to_uint8(source, source.images[index])
      if rng is not None:
        images = mirror_augment(images, rng)
      yield images, None if labels is None else labels[index]

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
        yield generate_with_labels(module, self.opt.seed + first, generator_labels(
            labels[first:first + n], size, f'--data={self.opt.data}'))
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
  """The original's log table of the preset results of `protocols.run` ('' when there are none)."""
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

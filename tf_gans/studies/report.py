"""A study's results from its runs' metrics.jsonl: tables, curves and sample grids.

For each cell, the metric (`Study.column`, e.g. fid-rgan/fid) of every seed's
run at every evaluated snapshot step (`tf_gans.metrics.run_eval` rows without an
error for the metric; a step evaluated twice keeps its last row) is summarised
over the seeds: the mean and the sample standard deviation (ddof 1, empty with
one seed) at each step, and at each run's last evaluated step, the way the RGAN
paper reports its FIDs (section 6: Tables 1-3 give the FID at the end of
training; its figures the FID along training). Written to <study_dir>/:

  results.csv          one row per cell: cell, flags, seeds, diverged, last_step,
                       last_mean, last_std, then mean@<step> / std@<step> per step
  results.md           the same as a Markdown table (mean +- std), with the
                       study's description and the pictures' paths
  curves.png           every cell's mean metric against step, shaded over the
                       seeds' min..max (one panel per --panel when given)
  <cell>/curve.png     the cell alone: each seed thin, the mean bold, the spread shaded
  <cell>/samples.png   a copy of the last sample grid (samples/step_*.png) of the
                       cell's first seed
  samples.png          with --panel: the cells' sample grids side by side, one row
                       per panel
  pairs.csv            with --pair: per (baseline, other) pair of cells, the last-step
                       means and stds, other - baseline, and the verdict: a difference
                       no larger than the larger of the two seed stds is "within the
                       spread" (no difference), a larger one "beyond the spread";
                       also a section of results.md
"""

import csv
import dataclasses
import math
import os
import shutil
from typing import Dict, List

import numpy as np

RESULTS_CSV = 'results.csv'
RESULTS_MD = 'results.md'
CURVES_PNG = 'curves.png'
CELL_CURVE = 'curve.png'
CELL_SAMPLES = 'samples.png'
PAIRS_CSV = 'pairs.csv'
SAMPLES_PNG = 'samples.png'
METRICS_FILE = 'metrics.jsonl'      # tf_gans.metrics.run_eval.METRICS_FILE
DIVERGED_FILE = 'study_diverged.txt'  # written by tf_gans.study for a run that diverged


def read_rows(path):
  from tf_gans.metrics import run_eval  # pylint: disable=import-outside-toplevel
  return run_eval.read_rows(path)


def run_values(logdir, column, metric) -> Dict[float, float]:
  """{position: value} of `column` in `<logdir>/metrics.jsonl`, rows without an error for
  `metric`; the position is the step (GAN / RGAN) or the kimg (PGGAN) of the snapshot."""
  values = {}
  for row in read_rows(os.path.join(logdir, METRICS_FILE)):
    position = row['step'] if 'step' in row else row.get('kimg')
    if position is None or column not in row or metric in (row.get('errors') or {}):
      continue
    values[int(position) if 'step' in row else float(position)] = float(row[column])
  return values


def mean_std(values):
  """(mean, sample std with ddof 1; nan with fewer than 2 values)."""
  values = np.asarray(values, np.float64)
  if not len(values):
    return math.nan, math.nan
  std = float(np.std(values, ddof=1)) if len(values) > 1 else math.nan
  return float(np.mean(values)), std


@dataclasses.dataclass
class CellResult:
  """One cell over its seeds."""
  name: str
  flags: str
  per_seed: Dict[int, Dict[int, float]]     # seed -> {step: value}
  diverged: List[int]                       # seeds whose run diverged

  @property
  def steps(self):
    return sorted({s for values in self.per_seed.values() for s in values})

  def at(self, step):
    """(mean, std, n) over the seeds evaluated at `step`."""
    values = [v[step] for v in self.per_seed.values() if step in v]
    return (*mean_std(values), len(values))

  @property
  def last(self):
    """(mean, std, n, last step): each seed's value at its own last evaluated step."""
    lasts = [(max(v), v[max(v)]) for v in self.per_seed.values() if v]
    if not lasts:
      return math.nan, math.nan, 0, None
    mean, std = mean_std([value for _, value in lasts])
    return mean, std, len(lasts), max(step for step, _ in lasts)


def collect(study) -> List[CellResult]:
  """Every cell's values from its runs' metrics.jsonl."""
  results = []
  for cell in study.cells:
    per_seed, diverged = {}, []
    for seed in study.seeds:
      logdir = study.logdir(cell, seed)
      if os.path.exists(os.path.join(logdir, DIVERGED_FILE)):
        diverged.append(seed)
      values = run_values(logdir, study.column, study.metric)
      if values:
        per_seed[seed] = values
    results.append(CellResult(cell.name, cell.describe(), per_seed, diverged))
  return results


def _fmt(value):
  return '' if value is None or (isinstance(value, float) and math.isnan(value)) else f'{value:.6g}'


def all_steps(results):
  return sorted({s for r in results for s in r.steps})


def write_csv(results, path):
  steps = all_steps(results)
  header = ['cell', 'flags', 'seeds', 'diverged', 'last_step', 'last_mean', 'last_std']
  header += [f'{what}@{s}' for s in steps for what in ('mean', 'std')]
  with open(path, 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(header)
    for r in results:
      mean, std, n, step = r.last
      row = [r.name, r.flags, n, len(r.diverged), step if step is not None else '', _fmt(mean),
             _fmt(std)]
      for s in steps:
        m, sd, _ = r.at(s)
        row += [_fmt(m), _fmt(sd)]
      writer.writerow(row)
  return path


@dataclasses.dataclass
class Pair:
  """Two cells at their last step: `other` - `baseline`, against the seeds' spread."""
  baseline: str
  other: str
  baseline_last: tuple        # CellResult.last: (mean, std, n, step)
  other_last: tuple

  @property
  def difference(self):
    return self.other_last[0] - self.baseline_last[0]

  @property
  def relative(self):
    return self.difference / self.baseline_last[0] if self.baseline_last[0] else math.nan

  @property
  def spread(self):
    """The larger of the two sample stds (nan below 2 seeds on either side)."""
    stds = (self.baseline_last[1], self.other_last[1])
    return math.nan if any(math.isnan(x) for x in stds) else max(stds)

  @property
  def verdict(self):
    if math.isnan(self.difference):
      return 'no values'
    if math.isnan(self.spread):
      return 'too few seeds'
    return 'beyond the spread' if abs(self.difference) > self.spread else 'within the spread'


def compare(study, results) -> List[Pair]:
  by_name = {r.name: r for r in results}
  return [Pair(a, b, by_name[a].last, by_name[b].last) for a, b in study.pairs]


def write_pairs_csv(pairs, path):
  with open(path, 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(['baseline', 'other', 'baseline_mean', 'baseline_std', 'other_mean',
                     'other_std', 'difference', 'relative', 'spread', 'verdict'])
    for p in pairs:
      writer.writerow([p.baseline, p.other, _fmt(p.baseline_last[0]), _fmt(p.baseline_last[1]),
                       _fmt(p.other_last[0]), _fmt(p.other_last[1]), _fmt(p.difference),
                       _fmt(p.relative), _fmt(p.spread), p.verdict])
  return path


def _pairs_markdown(study, pairs):
  if not pairs:
    return []
  lines = ['## Pairs', '',
           f'{study.column} at the last step, other - baseline; "spread" is the larger of the two '
           f'sample stds: a difference within it is no difference.', '',
           '| baseline | other | baseline | other | other - baseline | relative | spread | '
           'verdict |', '|' + '---|' * 8]
  for p in pairs:
    rel = '-' if math.isnan(p.relative) else f'{100 * p.relative:+.0f}%'
    diff = '-' if math.isnan(p.difference) else f'{p.difference:+.4g}'
    spread = '-' if math.isnan(p.spread) else f'{p.spread:.2g}'
    lines.append(f'| {p.baseline} | {p.other} | {_pm(*p.baseline_last[:2])} | '
                 f'{_pm(*p.other_last[:2])} | {diff} | {rel} | {spread} | {p.verdict} |')
  return lines + ['']


def _pm(mean, std):
  if math.isnan(mean):
    return '-'
  return f'{mean:.4g}' + ('' if math.isnan(std) else f' ± {std:.2g}')


def write_markdown(study, results, path, description=(), pairs=()):
  steps = all_steps(results)
  lines = [f'# Study {os.path.basename(os.path.normpath(study.study_dir))}', '']
  lines += [f'    {line}' for line in description] + ['']
  lines += [f'{study.column}: mean ± sample std over the seeds (ddof 1); "last" is each seed\'s '
            f'last evaluated step.', '']
  lines.append('| cell | flags | seeds | diverged | last step | last | '
               + ' | '.join(f'step {s}' for s in steps) + ' |')
  lines.append('|' + '---|' * (6 + len(steps)))
  for r in results:
    mean, std, n, step = r.last
    cells = [r.name, r.flags.replace('|', '\\|'), str(n), str(len(r.diverged)),
             '' if step is None else str(step), _pm(mean, std)]
    cells += [_pm(*r.at(s)[:2]) for s in steps]
    lines.append('| ' + ' | '.join(cells) + ' |')
  lines += ['', f'Curves: {CURVES_PNG} (all cells), <cell>/{CELL_CURVE}; samples: '
            f'<cell>/{CELL_SAMPLES} (the last grid of the cell\'s first seed).', '']
  lines += _pairs_markdown(study, pairs)
  with open(path, 'w') as f:
    f.write('\n'.join(lines))
  return path


def _spread(result):
  steps = result.steps
  rows = [[v.get(s, math.nan) for s in steps] for v in result.per_seed.values()]
  values = np.asarray(rows, np.float64)
  with np.errstate(all='ignore'):
    return (steps, np.nanmean(values, axis=0), np.nanmin(values, axis=0),
            np.nanmax(values, axis=0))


def plot_cell(study, result, path):
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  fig, ax = plt.subplots(figsize=(6, 4))
  if result.per_seed:
    for seed, values in sorted(result.per_seed.items()):
      ax.plot(sorted(values), [values[s] for s in sorted(values)], linewidth=0.8, alpha=0.6,
              marker='.', label=f'seed {seed}')
    steps, mean, low, high = _spread(result)
    ax.fill_between(steps, low, high, alpha=0.2, color='C0', label='seed min..max')
    ax.plot(steps, mean, color='k', linewidth=2, marker='o', label='mean')
    ax.legend(fontsize='small')
  ax.set(xlabel='step', ylabel=study.column, title=f'{result.name}: {result.flags}')
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)
  return path


def plot_cells(study, results, path):
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  by_name = {r.name: r for r in results}
  panels = study.panels or (('mean over seeds (shaded: min..max)', tuple(by_name)),)
  fig, axes = plt.subplots(1, len(panels), figsize=(7 if len(panels) == 1 else 4.2 * len(panels),
                                                    4.5), sharey=True, squeeze=False)
  for ax, (title, names) in zip(axes[0], panels):
    for i, name in enumerate(names):
      result = by_name[name]
      if not result.per_seed:
        continue
      steps, mean, low, high = _spread(result)
      ax.fill_between(steps, low, high, alpha=0.15, color=f'C{i % 10}')
      ax.plot(steps, mean, color=f'C{i % 10}', marker='o',
              label=f'{result.name} ({len(result.per_seed)} seeds)')
    ax.set(xlabel='step', title=title)
    if ax.get_legend_handles_labels()[0]:
      ax.legend(fontsize='small')
  axes[0][0].set_ylabel(study.column)
  if study.panels:
    fig.suptitle('mean over seeds (shaded: min..max)', fontsize='medium')
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)
  return path


def plot_samples(study, path):
  """One row per --panel, one column per cell: each cell's <cell>/samples.png."""
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  cols = max(len(names) for _, names in study.panels)
  fig, axes = plt.subplots(len(study.panels), cols, figsize=(2.6 * cols, 2.8 * len(study.panels)),
                           squeeze=False)
  for row, (title, names) in zip(axes, study.panels):
    for ax in row:
      ax.axis('off')
    for ax, name in zip(row, names):
      grid = os.path.join(study.study_dir, name, CELL_SAMPLES)
      if os.path.exists(grid):
        ax.imshow(plt.imread(grid), cmap='gray')
      ax.set_title(f'{title}\n{name}', fontsize='small')
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)
  return path


def last_samples(logdir):
  """The path of the run's last sample grid (GAN / RGAN samples/step_*.png, PGGAN's Gs
  grid fakesKKKKKK.png), or None."""
  folder = os.path.join(logdir, 'samples')
  if os.path.isdir(folder):
    grids = sorted(f for f in os.listdir(folder) if f.startswith('step_') and f.endswith('.png'))
    if grids:
      return os.path.join(folder, grids[-1])
  if not os.path.isdir(logdir):
    return None
  fakes = sorted(f for f in os.listdir(logdir)
                 if f.startswith('fakes') and f.endswith('.png') and not f.endswith('_G.png'))
  return os.path.join(logdir, fakes[-1]) if fakes else None


def write_report(study, description=(), log=print):
  """Writes results.csv / results.md / curves / sample grids; returns the CellResults."""
  results = collect(study)
  os.makedirs(study.study_dir, exist_ok=True)
  write_csv(results, os.path.join(study.study_dir, RESULTS_CSV))
  pairs = compare(study, results)
  write_markdown(study, results, os.path.join(study.study_dir, RESULTS_MD), description, pairs)
  plot_cells(study, results, os.path.join(study.study_dir, CURVES_PNG))
  if pairs:
    write_pairs_csv(pairs, os.path.join(study.study_dir, PAIRS_CSV))
  for cell, result in zip(study.cells, results):
    cell_dir = os.path.join(study.study_dir, cell.name)
    os.makedirs(cell_dir, exist_ok=True)
    plot_cell(study, result, os.path.join(cell_dir, CELL_CURVE))
    grid = last_samples(study.logdir(cell, study.seeds[0]))
    if grid:
      shutil.copyfile(grid, os.path.join(cell_dir, CELL_SAMPLES))
    mean, std, n, step = result.last
    log(f'{cell.name:<16} {study.column} at the last step ({step}): {_pm(mean, std)} '
        f'over {n} seed(s)' + (f', {len(result.diverged)} diverged' if result.diverged else ''))
  if study.panels:
    plot_samples(study, os.path.join(study.study_dir, SAMPLES_PNG))
  extra = ([SAMPLES_PNG] if study.panels else []) + ([PAIRS_CSV] if study.pairs else [])
  log(f'Wrote {os.path.join(study.study_dir, RESULTS_CSV)}, {RESULTS_MD}, {CURVES_PNG}, '
      + ''.join(f'{name}, ' for name in extra) + f'<cell>/{CELL_CURVE}, <cell>/{CELL_SAMPLES}.')
  return results

"""A study's results: every run's values in runs.csv, tables, paired tests, curves, grids.

Each run's values go into <results>/runs.csv (`Study.results`: --results_dir,
else --study_dir) as soon as its evaluation completes (`record_run`, called by
`tf_gans.study` after each run): one row per (cell, seed, evaluated snapshot)
with every numeric value of the study's metric from the run's metrics.jsonl
(`tf_gans.metrics.run_eval` rows without an error for the metric; a snapshot
evaluated twice keeps its last row) and, where the row carries the metric's
bootstrap interval (`tf_gans.metrics.bootstrap.Interval` dicts under
`<metric>/ci`: fid / kid / precision_recall / density_coverage with --ci), its
bounds, coverage and method. The run's last snapshot is marked `final`; a run
that diverged gets one `diverged` row. runs.csv is what a study resumes from
(a run with a final or diverged row is not rerun, even when its run folder is
on another machine) and what the tables are built from; runs not in it yet
(under way) are read from their run folders.

For each cell, the metric (`Study.column`, e.g. fid-rgan/fid) of every seed's
run at every evaluated snapshot step is summarised over the seeds: the mean
and the sample standard deviation (ddof 1, empty with one seed) at each step,
and at each run's last evaluated step, the way the RGAN paper reports its
FIDs (section 6: Tables 1-3 give the FID at the end of training; its figures
the FID along training). Written to <results>/:

  runs.csv             one row per (cell, seed, snapshot), see above
  rule.txt             the metric, pairs, --test, --alpha and bootstrap draws as they
                       were when the study first started (`check_rule`): a later start
                       with another rule is refused, so the rule stays the one
                       declared before the values were seen
  results.csv          one row per cell: cell, flags, seeds, diverged, last_step,
                       last_mean, last_std, then mean@<step> / std@<step> per step
  results.md           the same as a Markdown table (mean +- std), with the
                       study's description and the pictures' paths
  curves.png           every cell's mean metric against step, shaded over the
                       seeds' min..max (one panel per --panel when given)
  <cell>/curve.png     the cell alone: each seed thin, the mean bold, the spread shaded
  <cell>/samples.png   a copy of the last sample grid (samples/step_*.png) of the
                       cell's first seed (kept when that run folder is elsewhere)
  samples.png          with --panel: the cells' sample grids side by side, one row
                       per panel
  pairs.csv            with --pair: per (baseline, other) pair of cells, the seeds'
                       last values compared under the rule the study file declared
                       (`spec.TESTS`, --test / --alpha): Welch's t-test (t, the
                       Welch-Satterthwaite dof, the two-sided p; scipy.stats.ttest_ind
                       with equal_var=False) and a percentile bootstrap interval of
                       other - baseline (each cell's seeds drawn with replacement,
                       coverage 1 - alpha; with 3 seeds narrower than a t interval,
                       so descriptive); significant when p < alpha; with fewer
                       than 2 seeds on a side "not testable (n < 2)"; also a section
                       of results.md
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
RUNS_CSV = 'runs.csv'
CURVES_PNG = 'curves.png'
CELL_CURVE = 'curve.png'
CELL_SAMPLES = 'samples.png'
PAIRS_CSV = 'pairs.csv'
SAMPLES_PNG = 'samples.png'
METRICS_FILE = 'metrics.jsonl'      # tf_gans.metrics.run_eval.METRICS_FILE
DIVERGED_FILE = 'study_diverged.txt'  # written by tf_gans.study for a run that diverged
RULE_FILE = 'rule.txt'              # the decision rule as declared before the runs
FINAL, SNAPSHOT, DIVERGED = 'final', 'snapshot', 'diverged'   # runs.csv statuses
RUN_COLUMNS = ('cell', 'seed', 'unit', 'position', 'status')
CI_FIELDS = ('ci_low', 'ci_high', 'ci', 'ci_method')  # per interval: <metric>/<key>.<field>
# The value a metric's single interval dict (`<metric>/ci` = Interval.to_dict()) belongs to.
_INTERVAL_KEY = {'fid': 'fid', 'kid': 'mean'}


def read_rows(path):
  from tf_gans.metrics import run_eval  # pylint: disable=import-outside-toplevel
  return run_eval.read_rows(path)


def _position(row):
  """(unit, position) of a metrics.jsonl row: ('step', int) or ('kimg', float), or None."""
  if 'step' in row:
    return 'step', int(row['step'])
  if 'kimg' in row:
    return 'kimg', float(row['kimg'])
  return None


def intervals(row, metric):
  """{'<metric>/<key>': Interval dict} of the bootstrap intervals a row carries for `metric`:
  `<metric>/ci` as one Interval dict (fid, kid: of their value) or {key: Interval dict}
  (precision_recall, density_coverage)."""
  ci = row.get(f'{metric}/ci')
  if not isinstance(ci, dict):
    return {}
  if 'low' in ci and 'high' in ci:
    return {f'{metric}/{_INTERVAL_KEY.get(metric, "value")}': ci}
  return {f'{metric}/{key}': value for key, value in ci.items()
          if isinstance(value, dict) and 'low' in value and 'high' in value}


def run_snapshot_rows(logdir, metric):
  """[(unit, position, {column: value}, {column: interval dict})] of the run's evaluated
  snapshots, by position: rows of metrics.jsonl without an error for `metric` (the last
  row of a snapshot evaluated twice); every numeric value of `metric`."""
  by_position = {}
  for row in read_rows(os.path.join(logdir, METRICS_FILE)):
    where = _position(row)
    if where is None or metric in (row.get('errors') or {}):
      continue
    values = {k: float(v) for k, v in row.items() if k.startswith(metric + '/')
              and isinstance(v, (int, float)) and not isinstance(v, bool)}
    if values:
      by_position[where[1]] = (*where, values, intervals(row, metric))
  return [by_position[p] for p in sorted(by_position)]


def run_values(logdir, column, metric) -> Dict[float, float]:
  """{position: value} of `column` in `<logdir>/metrics.jsonl`, rows without an error for
  `metric`; the position is the step (GAN / RGAN) or the kimg (PGGAN) of the snapshot."""
  return {position: values[column] for _, position, values, _ in
          run_snapshot_rows(logdir, metric) if column in values}


# ------------------------------------------------------------------ runs.csv


def runs_path(study):
  return os.path.join(study.results, RUNS_CSV)


def read_runs(study) -> List[dict]:
  """runs.csv's rows (dicts of strings), [] when there is none yet."""
  path = runs_path(study)
  if not os.path.exists(path):
    return []
  with open(path, newline='') as f:
    reader = csv.DictReader(f)
    missing = [c for c in RUN_COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
      raise ValueError(f'{path}: not a study runs.csv, its header lacks {", ".join(missing)}.')
    return list(reader)


def recorded(study) -> Dict[tuple, dict]:
  """{(cell name, seed): its 'final' or 'diverged' row} of the runs runs.csv holds as finished."""
  out = {}
  for row in read_runs(study):
    if row['status'] in (FINAL, DIVERGED):
      out[(row['cell'], int(row['seed']))] = row
  return out


def record_run(study, cell, seed, diverged=False):
  """Writes one run's rows into runs.csv (replacing any earlier rows of that run): its
  evaluated snapshots, the last one `final`; or one `diverged` row. Returns the rows
  written. The file is rewritten whole (a temporary file renamed over it)."""
  rows = []
  if diverged:
    rows.append({'cell': cell.name, 'seed': str(seed), 'unit': '', 'position': '',
                 'status': DIVERGED})
  else:
    snapshots = run_snapshot_rows(study.logdir(cell, seed), study.metric)
    for i, (unit, position, values, cis) in enumerate(snapshots):
      row = {'cell': cell.name, 'seed': str(seed), 'unit': unit,
             'position': str(position) if unit == 'step' else repr(position),
             'status': FINAL if i == len(snapshots) - 1 else SNAPSHOT}
      row.update({k: repr(v) for k, v in values.items()})
      for column, interval in cis.items():
        row.update({f'{column}.ci_low': repr(float(interval['low'])),
                    f'{column}.ci_high': repr(float(interval['high'])),
                    f'{column}.ci': repr(float(interval.get('ci', math.nan))),
                    f'{column}.ci_method': str(interval.get('method', ''))})
      rows.append(row)
  kept = [r for r in read_runs(study) if (r['cell'], int(r['seed'])) != (cell.name, seed)]
  write_runs(study, kept + rows)
  return rows


def write_runs(study, rows):
  """runs.csv from `rows`, in the study's run order, then by position; columns: RUN_COLUMNS,
  the tabulated column, the metric's other values, their intervals."""
  order = {(c.name, s): i for i, (c, s) in enumerate(study.runs())}
  rows = sorted(rows, key=lambda r: (order.get((r['cell'], int(r['seed'])), len(order)),
                                     r['cell'], int(r['seed']),
                                     float(r['position']) if r['position'] else -1.0))
  extra = {k for r in rows for k, v in r.items() if k not in RUN_COLUMNS and v != ''}
  cis = sorted(k for k in extra if k.endswith(tuple('.' + f for f in CI_FIELDS)))
  values = [study.column] + sorted(extra - set(cis) - {study.column})
  os.makedirs(study.results, exist_ok=True)
  path = runs_path(study)
  partial = path + '.partial'
  with open(partial, 'w', newline='') as f:
    writer = csv.DictWriter(f, list(RUN_COLUMNS) + values + cis, restval='')
    writer.writeheader()
    writer.writerows(rows)
  os.replace(partial, path)
  return path


def check_rule(study, recorded_runs, write=True):
  """Fixes the study's decision rule in <results>/rule.txt at its first start; refuses
  (ValueError naming the file and the lines that differ) a later start whose rule differs.

  Args:
    recorded_runs: how many runs runs.csv already holds (said in the file when not 0).
    write: write rule.txt when absent (False: only compare, as --report_only).
  """
  from tf_gans.studies import spec  # pylint: disable=import-outside-toplevel
  path = os.path.join(study.results, RULE_FILE)
  lines = spec.rule_lines(study)
  if os.path.exists(path):
    with open(path) as f:
      declared = [l.strip() for l in f if l.strip() and not l.startswith('#')]
    changed = [(old, new) for old, new in zip(declared, lines) if old != new]
    if len(declared) != len(lines) or changed:
      raise ValueError(
          f'{path}: the study file\'s rule differs from the one declared before its runs ('
          + '; '.join(f'declared {old!r}, now {new!r}' for old, new in changed)
          + '): a rule chosen after the values are seen is not a test. Restore the declared '
          f'--metric / --pair / --test / --alpha, or use a new --results_dir (or delete '
          f'{RULE_FILE}, and say so with the results).')
    return path
  if write:
    os.makedirs(study.results, exist_ok=True)
    when = ('before any run' if not recorded_runs else
            f'when {recorded_runs} run(s) were already in {RUNS_CSV}')
    with open(path, 'w') as f:
      f.write(f'# The decision rule of this study, declared {when}.\n' + '\n'.join(lines) + '\n')
  return path


def _declared(study):
  """When rule.txt says the rule was declared ('before any run', ...), or ''."""
  path = os.path.join(study.results, RULE_FILE)
  if not os.path.exists(path):
    return ''
  with open(path) as f:
    first = f.readline().strip()
  return first.partition(' declared ')[2].rstrip('.') if first.startswith('#') else ''


def _float(text):
  try:
    return float(text)
  except (TypeError, ValueError):
    return math.nan


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
  def last_values(self) -> Dict[int, float]:
    """{seed: its value at its own last evaluated step}."""
    return {seed: v[max(v)] for seed, v in sorted(self.per_seed.items()) if v}

  @property
  def last(self):
    """(mean, std, n, last step): each seed's value at its own last evaluated step."""
    lasts = [(max(v), v[max(v)]) for v in self.per_seed.values() if v]
    if not lasts:
      return math.nan, math.nan, 0, None
    mean, std = mean_std([value for _, value in lasts])
    return mean, std, len(lasts), max(step for step, _ in lasts)


def collect(study) -> List[CellResult]:
  """Every cell's values: a run in runs.csv from its rows there, another (not finished, or
  never recorded) from its run folder's metrics.jsonl."""
  from_csv = {}
  for row in read_runs(study):
    run = from_csv.setdefault((row['cell'], int(row['seed'])), ({}, [False]))
    if row['status'] == DIVERGED:
      run[1][0] = True
      continue
    value = _float(row.get(study.column))
    if not math.isnan(value):
      position = int(row['position']) if row['unit'] == 'step' else float(row['position'])
      run[0][position] = value
  results = []
  for cell in study.cells:
    per_seed, diverged = {}, []
    for seed in study.seeds:
      logdir = study.logdir(cell, seed)
      if (cell.name, seed) in from_csv:
        values, (is_diverged,) = from_csv[(cell.name, seed)]
      else:
        values = run_values(logdir, study.column, study.metric)
        is_diverged = os.path.exists(os.path.join(logdir, DIVERGED_FILE))
      if is_diverged:
        diverged.append(seed)
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


# ------------------------------------------------------------------ pairs


NOT_TESTABLE = 'not testable (n < 2)'


def welch_pair(baseline, other, alpha, resamples=10000, seed=0):
  """Welch's t-test of `other` against `baseline` and a bootstrap interval of the difference.

  Args:
    baseline, other: the seeds' values of the two cells.
    alpha: the significance level; the interval's coverage is 1 - alpha.
    resamples, seed: the bootstrap's draws and their seed (numpy's default_rng).

  Returns:
    dict: n_baseline, n_other, difference (mean(other) - mean(baseline)), t, dof, p
    (scipy.stats.ttest_ind(other, baseline, equal_var=False): two-sided, the
    Welch-Satterthwaite dof), low / high (the 100 alpha / 2 and 100 (1 - alpha / 2)
    percentiles of mean(other*) - mean(baseline*) over `resamples` draws, each
    cell's values drawn with replacement, independently), verdict ('significant' when
    p < alpha, 'not significant', 'not testable (n < 2)' with fewer than 2 values on a
    side, 'not testable (no variance)' when both sides are constant).
  """
  from scipy import stats  # pylint: disable=import-outside-toplevel
  a = np.asarray(baseline, np.float64)
  b = np.asarray(other, np.float64)
  out = dict(n_baseline=len(a), n_other=len(b), t=math.nan, dof=math.nan, p=math.nan,
             low=math.nan, high=math.nan,
             difference=float(b.mean() - a.mean()) if len(a) and len(b) else math.nan)
  if len(a) < 2 or len(b) < 2:
    return dict(out, verdict=NOT_TESTABLE)
  rng = np.random.default_rng(seed)
  draws = (b[rng.integers(0, len(b), (resamples, len(b)))].mean(axis=1)
           - a[rng.integers(0, len(a), (resamples, len(a)))].mean(axis=1))
  low, high = np.percentile(draws, [100 * alpha / 2, 100 * (1 - alpha / 2)])
  out.update(low=float(low), high=float(high))
  if np.var(a) == 0 and np.var(b) == 0:
    return dict(out, verdict='not testable (no variance)')
  test = stats.ttest_ind(b, a, equal_var=False)
  out.update(t=float(test.statistic), p=float(test.pvalue), dof=float(test.df))
  return dict(out, verdict='significant' if out['p'] < alpha else 'not significant')


@dataclasses.dataclass
class Pair:
  """Two cells' last values over the seeds: `other` - `baseline`, under the study's rule."""
  baseline: str
  other: str
  baseline_last: tuple        # CellResult.last: (mean, std, n, step)
  other_last: tuple
  stats: dict                 # welch_pair

  @property
  def difference(self):
    return self.other_last[0] - self.baseline_last[0]

  @property
  def relative(self):
    return self.difference / self.baseline_last[0] if self.baseline_last[0] else math.nan

  @property
  def verdict(self):
    if math.isnan(self.difference):
      return 'no values'
    return self.stats['verdict']


def compare(study, results) -> List[Pair]:
  by_name = {r.name: r for r in results}
  pairs = []
  for a, b in study.pairs:
    values = [list(by_name[name].last_values.values()) for name in (a, b)]
    pairs.append(Pair(a, b, by_name[a].last, by_name[b].last,
                      welch_pair(*values, study.alpha, study.bootstrap_resamples,
                                 study.bootstrap_seed)))
  return pairs


PAIR_COLUMNS = ('baseline', 'other', 'test', 'alpha', 'n_baseline', 'n_other', 'baseline_mean',
                'baseline_std', 'other_mean', 'other_std', 'difference', 'relative',
                'difference_low', 'difference_high', 't', 'dof', 'p', 'verdict')


def write_pairs_csv(study, pairs, path):
  with open(path, 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(PAIR_COLUMNS)
    for p in pairs:
      s = p.stats
      writer.writerow([p.baseline, p.other, study.test, _fmt(study.alpha), s['n_baseline'],
                       s['n_other'], _fmt(p.baseline_last[0]), _fmt(p.baseline_last[1]),
                       _fmt(p.other_last[0]), _fmt(p.other_last[1]), _fmt(p.difference),
                       _fmt(p.relative), _fmt(s['low']), _fmt(s['high']), _fmt(s['t']),
                       _fmt(s['dof']), _fmt(s['p']), p.verdict])
  return path


def _g(value, spec='.3g'):
  return '-' if math.isnan(value) else format(value, spec)


def _pairs_markdown(study, pairs):
  if not pairs:
    return []
  from tf_gans.studies import spec  # pylint: disable=import-outside-toplevel
  coverage = f'{100 * (1 - study.alpha):g}%'
  lines = ['## Pairs', '',
           f'{study.column} at each seed\'s last step, other - baseline. Decision rule, declared '
           f'in the study file and fixed in {RULE_FILE} '
           f'{_declared(study) or "(not written: no run started)"}: '
           f'--test={study.test} ({spec.TESTS[study.test]}), '
           f'--alpha={study.alpha:g}. Interval: {coverage} percentile bootstrap of the '
           f'difference of the means, the seeds of each cell drawn with replacement '
           f'({study.bootstrap_resamples} draws, seed {study.bootstrap_seed}); with few seeds '
           f'it is narrower than a t interval (a resample\'s mean varies by (n - 1) / n of the '
           f'mean\'s variance, without t\'s tails): the decision is Welch\'s p, the interval '
           f'describes.', '']
  groups = {}
  for p in pairs:
    groups.setdefault(p.verdict, []).append(f'{p.other} vs {p.baseline}')
  for verdict in ('significant', 'not significant', NOT_TESTABLE, 'not testable (no variance)',
                  'no values'):
    if verdict in groups:
      lines.append(f'- {verdict} ({len(groups[verdict])} of {len(pairs)}): '
                   + ', '.join(groups[verdict]))
  lines += ['', f'| baseline | other | n | baseline | other | other - baseline | relative | '
            f'{coverage} interval | t | dof | p | verdict |', '|' + '---|' * 12]
  for p in pairs:
    s = p.stats
    rel = '-' if math.isnan(p.relative) else f'{100 * p.relative:+.0f}%'
    diff = '-' if math.isnan(p.difference) else f'{p.difference:+.4g}'
    interval = '-' if math.isnan(s['low']) else f'[{s["low"]:+.4g}, {s["high"]:+.4g}]'
    lines.append(f'| {p.baseline} | {p.other} | {s["n_baseline"]}, {s["n_other"]} | '
                 f'{_pm(*p.baseline_last[:2])} | {_pm(*p.other_last[:2])} | {diff} | {rel} | '
                 f'{interval} | {_g(s["t"])} | {_g(s["dof"])} | {_g(s["p"])} | {p.verdict} |')
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
  lines += ['', f'Every run\'s values: {RUNS_CSV} (one row per cell, seed and evaluated '
            f'snapshot; each metric value, intervals where the metric gives one).',
            f'Curves: {CURVES_PNG} (all cells), <cell>/{CELL_CURVE}; samples: '
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
      grid = os.path.join(study.results, name, CELL_SAMPLES)
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
  out = study.results
  os.makedirs(out, exist_ok=True)
  write_csv(results, os.path.join(out, RESULTS_CSV))
  pairs = compare(study, results)
  write_markdown(study, results, os.path.join(out, RESULTS_MD), description, pairs)
  plot_cells(study, results, os.path.join(out, CURVES_PNG))
  if pairs:
    write_pairs_csv(study, pairs, os.path.join(out, PAIRS_CSV))
  for cell, result in zip(study.cells, results):
    cell_dir = os.path.join(out, cell.name)
    os.makedirs(cell_dir, exist_ok=True)
    plot_cell(study, result, os.path.join(cell_dir, CELL_CURVE))
    grid = last_samples(study.logdir(cell, study.seeds[0]))
    if grid:
      shutil.copyfile(grid, os.path.join(cell_dir, CELL_SAMPLES))
    mean, std, n, step = result.last
    log(f'{cell.name:<16} {study.column} at the last step ({step}): {_pm(mean, std)} '
        f'over {n} seed(s)' + (f', {len(result.diverged)} diverged' if result.diverged else ''))
  if study.panels:
    plot_samples(study, os.path.join(out, SAMPLES_PNG))
  extra = ([SAMPLES_PNG] if study.panels else []) + ([PAIRS_CSV] if study.pairs else [])
  log(f'Wrote {os.path.join(out, RESULTS_CSV)}, {RESULTS_MD}, {CURVES_PNG}, '
      + (f'{RUNS_CSV} (kept), ' if os.path.exists(runs_path(study)) else '')
      + ''.join(f'{name}, ' for name in extra) + f'<cell>/{CELL_CURVE}, <cell>/{CELL_SAMPLES}.')
  return results

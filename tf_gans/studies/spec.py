"""What a study is: a base training flag file, a grid of cells x seeds, one metric.

A study is written as an absl flag file of `tf_gans.study`, configs/studies/<name>.study
(not .cfg: tests/test_configs.py reads every configs/**/*.cfg as a training flag file):

  --study_dir=runs/studies/tiny              where the runs and the results go
  --base_flagfile=configs/quickstart.cfg     a `tf_gans.train` flag file (GAN / RGAN)
  --set=steps=40;snapshot_every=20           overrides of the base file, for every cell
  --cell=gan:loss=nonsaturating              one line per cell: NAME:flag=value;flag=value
  --cell=rsgan:loss=rsgan;spectral_norm      (a bare flag is true, noflag false)
  --seeds=0,1                                each cell runs once per seed (--seed)
  --metric=parzen                            evaluated on every snapshot of every run
  --metric_key=mean                          the value of its result that is tabulated
  --eval=num_samples=200;sigma=0.3           the metric's options (`evaluation.Options`
                                             fields; the rest: valid_split, sigma,
                                             centres, reference_split)
  --results_dir=docs/results/tiny            where runs.csv and the tables go (default:
                                             --study_dir); commit it, the runs need not be
  --pair=gan,rsgan                           cells compared at the last step
  --test=welch                               the decision rule of every --pair, declared
  --alpha=0.05                               before the runs (needed with --pair)

The flags a cell or --set may name are the `tf_gans.train` flags (the fields of
the run's config: `RunConfig`, or `ProgressiveConfig` for a PGGAN cell, whose
base file, --set or cell says --model=pggan) except `logdir` and `seed`, which
the study sets: run
<study_dir>/<cell>/seed<k>/ trains with --seed=k. The base file's own
--logdir / --seed, if any, are replaced the same way. A cell is, e.g., one of the
RGAN paper's losses (section 4: SGAN, RSGAN, RaSGAN, LSGAN, RaLSGAN, HingeGAN,
RaHingeGAN; github.com/AlexiaJM/RelativisticGAN `code/GAN_losses_iter.py`
`--loss_D`) under one of its setups (section 6: n_D, learning rates, Adam betas,
`--set` or per-cell flags).

The decision rule (`TESTS`) is part of the study file, written before any run
so that no rule is chosen after the values are seen: --test=welch compares
the two cells' final values over the seeds by Welch's unequal-variance t-test
(Welch 1947; scipy.stats.ttest_ind(equal_var=False)) and calls a pair
significant when p < --alpha; a percentile bootstrap interval of the
difference of the means (coverage 1 - alpha, --bootstrap_resamples draws of
the seeds of each cell, seeded by --bootstrap_seed) is reported beside it.
"""

import dataclasses
import math
import os
import re
import typing
from typing import Dict, List, Sequence, Tuple

from tf_gans.gan.config import RunConfig
from tf_gans.progressive.config import ProgressiveConfig
from tf_gans.training import precision

# The result key tabulated when --metric_key is not given.
DEFAULT_KEYS = {'parzen': 'mean', 'fid': 'fid', 'fid-rgan': 'fid', 'kid': 'mean', 'is': 'is_mean',
                'swd': 'SWDx1e3_avg', 'ms_ssim': 'ms_ssim', 'digit_confidence': 'fraction_confident',
                'fid_inf': 'fid_inf', 'is_inf': 'is_inf'}
# precision_recall and density_coverage give two values: --metric_key names the one tabulated.
# Metric options that are not `evaluation.Options` fields (they travel in `Options.extra`).
EXTRA_OPTIONS = ('valid_split', 'sigma', 'centres', 'reference_split')
STUDY_SET = ('logdir', 'seed')   # fields the study itself sets per run
_CELL_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.+-]*$')
_TRUE, _FALSE = ('true', 't', '1', 'yes'), ('false', 'f', '0', 'no')
# Decision rules of --pair (--test): name -> what it decides.
TESTS = {'welch': "significant when Welch's t-test (unequal variances, two-sided) gives p < alpha"}
BOOTSTRAP_RESAMPLES = 10000


@dataclasses.dataclass(frozen=True)
class Cell:
  """One point of the grid: its name (a folder name) and its config overrides."""
  name: str
  overrides: Tuple[Tuple[str, object], ...] = ()
  text: str = ''    # the overrides as written in the study file

  def describe(self):
    return self.text or '(base)'


@dataclasses.dataclass
class Study:
  """A parsed study; `config(cell, seed)` is the run config of one of its runs."""
  study_dir: str
  base: Dict[str, object]        # config fields of the base flag file and --set
  cells: List[Cell]
  seeds: List[int]
  metric: str
  metric_key: str
  eval_options: object           # tf_gans.metrics.evaluation.Options
  eval_given: Tuple[str, ...] = ()  # Options fields the study set (data / split / pad_to)
  pairs: Tuple[Tuple[str, str], ...] = ()   # (baseline cell, compared cell), --pair
  panels: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()   # (title, cells) of curves.png, --panel
  results_dir: str = ''          # runs.csv and the tables; '' = study_dir
  test: str = ''                 # the decision rule of the pairs (TESTS), '' without pairs
  alpha: float = math.nan        # its significance level
  bootstrap_resamples: int = BOOTSTRAP_RESAMPLES   # draws of the difference's interval
  bootstrap_seed: int = 0

  @property
  def results(self):
    """The folder of runs.csv and the tables (--results_dir, else --study_dir)."""
    return self.results_dir or self.study_dir

  @property
  def column(self):
    """The metrics.jsonl column tabulated, e.g. 'parzen/mean'."""
    return f'{self.metric}/{self.metric_key}'

  def logdir(self, cell, seed):
    return os.path.join(self.study_dir, cell.name, f'seed{seed}')

  def config(self, cell, seed):
    """The run config of one run: RunConfig, or ProgressiveConfig for a PGGAN cell
    (--model=pggan in the base file, --set or the cell)."""
    values = {**self.base, **dict(cell.overrides)}
    cls = config_class(values.get('model', RunConfig.model))
    if cls is ProgressiveConfig:
      values.pop('model', None)  # --model=pggan chose the family; its config has no model
    known = {f.name for f in dataclasses.fields(cls)}
    unused = sorted(set(values) - known)
    if unused:
      raise ValueError(f'{", ".join("--" + n for n in unused)}: not a flag of a {cls.FAMILY} '
                       f'run.')
    return cls(logdir=self.logdir(cell, seed), seed=seed, **values).validate()

  def runs(self):
    """(cell, seed) in the order they run: cell by cell, each over all seeds."""
    return [(cell, seed) for cell in self.cells for seed in self.seeds]


def config_class(model):
  """The run config of the family that trains `model` (GAN / RGAN or PGGAN)."""
  from tf_gans import models  # pylint: disable=import-outside-toplevel
  models.names()
  models.MODELS.check_flag('model', model)
  return ProgressiveConfig if models.family(model) == ProgressiveConfig.FAMILY else RunConfig


def _field_types():
  types = {}
  for cls in (RunConfig, ProgressiveConfig):
    for field in dataclasses.fields(cls):
      kind = field.type
      args = [a for a in typing.get_args(kind) if a is not type(None)]
      types.setdefault(field.name, args[0] if args else kind)
  return types


def convert(kind, text, flag):
  """`text` as a value of type `kind` (bool, int, float or str); ValueError naming `flag`."""
  if kind is bool:
    low = text.lower()
    if low in _TRUE or low in _FALSE:
      return low in _TRUE
    raise ValueError(f'{flag}: expected true or false, got {text!r}.')
  try:
    return kind(text)
  except (TypeError, ValueError):
    raise ValueError(f'{flag}: expected {kind.__name__}, got {text!r}.') from None


def run_config_value(name, value, where):
  """(field, value) of one `name=value` (value None: a bare flag) of a run config."""
  types = _field_types()
  if name in ('dtype', 'mixed_precision'):   # one flag, as in tf_gans.train
    return 'dtype', precision.canonical(value, f'{where}: --{name}')
  if name not in types and name.startswith('no') and types.get(name[2:]) is bool and value is None:
    return name[2:], False
  if name not in types:
    raise ValueError(f'{where}: --{name} is not a tf_gans.train flag (a field of RunConfig or '
                     f'ProgressiveConfig).')
  kind = types[name]
  if value is None:
    if kind is not bool:
      raise ValueError(f'{where}: --{name} needs a value (--{name}=...).')
    return name, True
  return name, convert(kind, value, f'{where}: --{name}')


def split_assignment(item):
  """'name=value' -> (name, value); 'name' -> (name, None); leading dashes dropped."""
  item = item.strip().lstrip('-')
  if '=' in item:
    name, value = item.split('=', 1)
    return name.strip(), value.strip()
  return item, None


def parse_assignments(text, where, allow_study_set=False):
  """'flag=value;flag;noflag' -> [(config field, value)], in order."""
  out = []
  for item in (text or '').split(';'):
    if not item.strip():
      continue
    name, value = run_config_value(*split_assignment(item), where)
    if name in STUDY_SET and not allow_study_set:
      raise ValueError(f'{where}: --{name} is set by the study (run <study_dir>/<cell>/seed<k> '
                       f'trains with --seed=k); remove it.')
    out.append((name, value))
  return out


def read_base_flagfile(path):
  """Config fields of a `tf_gans.train` flag file (nested --flagfile lines followed);
  its --logdir / --seed are dropped (the study sets them)."""
  from absl import flags  # pylint: disable=import-outside-toplevel
  if not os.path.isfile(path):
    raise FileNotFoundError(f'--base_flagfile={path} does not exist (paths are relative to the '
                            f'directory the study runs from).')
  lines = flags.FlagValues().read_flags_from_files([f'--flagfile={path}'], force_gnu=True)
  values = {}
  for line in lines:
    if not line.startswith('--'):
      raise ValueError(f'--base_flagfile={path}: expected --flag=value lines, got {line!r}.')
    name, value = run_config_value(*split_assignment(line), f'--base_flagfile={path}')
    if name not in STUDY_SET:
      values[name] = value
  return values


def parse_cell(text):
  """'name:flag=value;flag' -> Cell."""
  name, _, body = text.partition(':')
  name = name.strip()
  if not _CELL_NAME.match(name):
    raise ValueError(f'--cell={text!r}: the cell name (before the colon) must be a folder name '
                     f'of letters, digits, _ . + -, got {name!r}.')
  where = f'--cell={name}'
  return Cell(name, tuple(parse_assignments(body, where)), body.strip())


def parse_eval_options(text, metric):
  """'field=value;...' -> (evaluation.Options, the fields given)."""
  from tf_gans.metrics import evaluation  # pylint: disable=import-outside-toplevel
  fields = {f.name: f for f in dataclasses.fields(evaluation.Options) if f.name != 'extra'}
  values, extra, given = {}, {}, []
  for item in (text or '').split(';'):
    if not item.strip():
      continue
    name, value = split_assignment(item)
    where = f'--eval {name}'
    if name in fields:
      default = fields[name].default
      values[name] = convert(type(default), value if value is not None else 'true', where)
      given.append(name)
    elif name in EXTRA_OPTIONS:
      if value is None:
        raise ValueError(f'{where}: needs a value.')
      try:
        extra[name] = float(value) if name == 'sigma' else value
      except ValueError:
        raise ValueError(f'{where}: expected a number, got {value!r}.') from None
    else:
      raise ValueError(f'--eval: unknown metric option {name!r}; options: '
                       f'{", ".join(sorted(list(fields) + list(EXTRA_OPTIONS)))}.')
  if metric == 'parzen':
    extra.setdefault('centres', 'model')
  if 'num_samples' in values and 'num_images' not in values:
    # As evaluate does when --num_samples is typed: the presets and fid-rgan read it too.
    values['num_images'] = values['num_samples']
  return evaluation.Options(**values, extra=extra), tuple(given)


def _check_cells(where, members, names):
  unknown = [m for m in members if m not in names]
  if unknown:
    raise ValueError(f'{where}: no cell named {", ".join(unknown)} (cells: {", ".join(names)}).')


def parse_pairs(pairs, names):
  """['BASE,OTHER', ...] -> ((BASE, OTHER), ...), both existing cell names."""
  out = []
  for text in pairs or ():
    parts = [p.strip() for p in text.split(',')]
    if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
      raise ValueError(f'--pair={text!r}: expected two different cell names, BASELINE,OTHER.')
    _check_cells(f'--pair={text}', parts, names)
    out.append(tuple(parts))
  return tuple(out)


def parse_panels(panels, names):
  """['TITLE:cell,cell', ...] -> ((TITLE, (cell, ...)), ...), existing cell names."""
  out = []
  for text in panels or ():
    title, sep, body = text.partition(':')
    members = tuple(m.strip() for m in body.split(',') if m.strip())
    if not sep or not title.strip() or not members:
      raise ValueError(f'--panel={text!r}: expected TITLE:cell,cell,...')
    _check_cells(f'--panel={text}', members, names)
    out.append((title.strip(), members))
  return tuple(out)


def parse_rule(pairs, test, alpha, resamples, seed):
  """(test, alpha) of --test / --alpha, checked: both needed with --pair (declared in the
  study file before the runs), alpha in (0, 1), resamples >= 100."""
  test = (test or '').strip()
  alpha = math.nan if alpha is None or alpha == '' else float(alpha)
  if test and test not in TESTS:
    raise ValueError(f'--test={test}: unknown decision rule; rules: {", ".join(sorted(TESTS))}.')
  if not math.isnan(alpha) and not 0.0 < alpha < 1.0:
    raise ValueError(f'--alpha={alpha:g}: expected a significance level in (0, 1), e.g. 0.05.')
  missing = [name for name, given in (('--test', test), ('--alpha', not math.isnan(alpha)))
             if not given]
  if pairs and missing:
    raise ValueError('--pair: declare the decision rule in the study file before the runs: '
                     f'--test ({", ".join(sorted(TESTS))}) and --alpha (e.g. 0.05); missing: '
                     f'{", ".join(missing)}.')
  if int(resamples) < 100:
    raise ValueError(f'--bootstrap_resamples={resamples}: expected at least 100 draws.')
  return test, alpha, int(resamples), int(seed)


def make_study(study_dir, base_flagfile, cells, seeds, metric, metric_key='', set_flags='',
               eval_options='', pairs=(), panels=(), results_dir='', test='', alpha=None,
               bootstrap_resamples=BOOTSTRAP_RESAMPLES, bootstrap_seed=0):
  """A Study from the runner's flag values (strings / lists as absl gives them)."""
  from tf_gans.metrics import protocols  # pylint: disable=import-outside-toplevel
  if not study_dir:
    raise ValueError('--study_dir is required: the folder of the study\'s runs and results.')
  if not cells:
    raise ValueError('--cell: a study needs at least one cell (--cell=NAME:flag=value;...).')
  parsed = [parse_cell(c) for c in cells]
  names = [c.name for c in parsed]
  dupes = sorted({n for n in names if names.count(n) > 1})
  if dupes:
    raise ValueError(f'--cell: names must be unique, repeated: {", ".join(dupes)}.')
  seeds = [int(s) for s in seeds]
  if not seeds or len(set(seeds)) != len(seeds):
    raise ValueError(f'--seeds: expected distinct integers, e.g. 0,1,2; got {seeds}.')
  if not metric:
    raise ValueError('--metric is required (e.g. fid-rgan, parzen).')
  protocols.check_names([metric])
  if not metric_key:
    if metric not in DEFAULT_KEYS:
      raise ValueError(f'--metric_key: which value of {metric} to tabulate? (no default for it)')
    metric_key = DEFAULT_KEYS[metric]
  base = read_base_flagfile(base_flagfile) if base_flagfile else {}
  base.update(parse_assignments(set_flags, '--set'))
  options, given = parse_eval_options(eval_options, metric)
  study = Study(study_dir, base, parsed, seeds, metric, metric_key, options, given,
                parse_pairs(pairs, names), parse_panels(panels, names), results_dir or '',
                *parse_rule(pairs, test, alpha, bootstrap_resamples, bootstrap_seed))
  for cell in parsed:  # every cell's config is valid before anything runs
    try:
      study.config(cell, seeds[0])
    except (TypeError, ValueError) as e:
      raise ValueError(f'--cell={cell.name} (with --base_flagfile and --set): {e}') from None
  return study


def rule_lines(study) -> List[str]:
  """The study's decision rule as `name=value` lines: what <results>/rule.txt fixes before the
  runs (`tf_gans.studies.report.check_rule`)."""
  return [f'metric={study.column}', 'pairs=' + ' '.join(f'{a},{b}' for a, b in study.pairs),
          f'test={study.test}', f'alpha={"" if math.isnan(study.alpha) else f"{study.alpha:g}"}',
          f'bootstrap_resamples={study.bootstrap_resamples}',
          f'bootstrap_seed={study.bootstrap_seed}']


def describe(study) -> Sequence[str]:
  """Lines that summarise the study (printed at its start, written into results.md)."""
  return [f'study {study.study_dir}: {len(study.cells)} cell(s) x {len(study.seeds)} seed(s) '
          f'({", ".join(map(str, study.seeds))}) = {len(study.runs())} run(s); metric '
          f'{study.column}'] + [f'  cell {c.name}: {c.describe()}' for c in study.cells] + (
              [f'  pairs: --test={study.test} ({TESTS[study.test]}), --alpha={study.alpha:g}; '
               f'difference interval: percentile bootstrap over the seeds, '
               f'{study.bootstrap_resamples} draws, seed {study.bootstrap_seed}']
              if study.pairs else [])

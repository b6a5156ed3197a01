"""The study runner: cells x seeds trained, evaluated, tabulated; resumable after a kill."""

import csv
import json
import math
import os
import pathlib

import pytest

from tf_gans import study as study_lib
from tf_gans.studies import report
from tf_gans.studies import spec
from tf_gans.training import lifecycle
from tf_gans.gan import loop

REPO = pathlib.Path(__file__).resolve().parents[1]
TINY = ('dataset=digits;model=mlp2014;batch_size=20;steps=20;log_every=5;sample_every=10;'
        'checkpoint_every=10;snapshot_every=10;steps_per_execution=5;num_samples=16;'
        'export=false;progress=false')
PARZEN = 'split=test;num_samples=100;sigma=0.3;progress=false'


def quiet(*_, **__):
  pass


def make(study_dir, seeds=(0, 1), **kwargs):
  args = dict(study_dir=str(study_dir), base_flagfile=None,
              cells=['gan:loss=nonsaturating', 'rsgan:loss=rsgan'], seeds=[str(s) for s in seeds],
              metric='parzen', metric_key='', set_flags=TINY, eval_options=PARZEN)
  args.update(kwargs)
  return spec.make_study(**args)


# ------------------------------------------------------------------ the study file


def test_the_new_evaluation_metrics_are_study_metrics(tmp_path):
  """Any evaluate metric, with its interval options, is a study's metric (issue 23)."""
  s = make(tmp_path, metric='fid_inf', eval_options='features=classifier;num_samples=300')
  assert s.metric_key == 'fid_inf'
  with pytest.raises(ValueError, match=r'--metric_key: which value of precision_recall'):
    make(tmp_path, metric='precision_recall')
  s = make(tmp_path, metric='precision_recall', metric_key='recall',
           eval_options='features=classifier;ci=0.95;ci_resamples=50')
  assert (s.metric_key, s.eval_options.ci, s.eval_options.ci_resamples) == ('recall', 0.95, 50)


def test_cells_set_and_eval_parse_into_run_configs(tmp_path):
  s = make(tmp_path, cells=['plain:', 'sn:spectral_norm;nobatch_norm_g;d_steps=2;learning_rate=1e-3'])
  assert s.column == 'parzen/mean'   # parzen's default key
  assert [c.name for c in s.cells] == ['plain', 'sn']
  cfg = s.config(s.cells[1], 1)
  assert (cfg.spectral_norm, cfg.batch_norm_g, cfg.d_steps, cfg.learning_rate) == (True, False, 2, 1e-3)
  assert (cfg.seed, cfg.steps, cfg.export) == (1, 20, False)
  assert cfg.logdir == os.path.join(str(tmp_path), 'sn', 'seed1')
  assert s.config(s.cells[0], 0).d_steps == 1
  assert s.eval_options.extra == {'sigma': 0.3, 'centres': 'model'}
  assert (s.eval_options.num_samples, s.eval_options.split, s.eval_given) == (
      100, 'test', ('split', 'num_samples', 'progress'))
  # A typed num_samples is also the presets' / fid-rgan's count, as evaluate's --num_samples.
  assert s.eval_options.num_images == 100
  rgan, _ = spec.parse_eval_options('num_samples=450', 'fid-rgan')
  from tf_gans.metrics import constraints, rgan_fid  # pylint: disable=import-outside-toplevel
  assert rgan_fid.rgan_fid_num_samples(rgan) == 450
  req = constraints.Request(rgan, (32, 32, 1), 1000, True)
  assert any('got --num_samples=450' in v for v in constraints.violations(['fid-rgan'], req))
  assert spec.parse_eval_options('split=test', 'fid-rgan')[0].num_images == 0   # 50000


@pytest.mark.parametrize('kwargs, message', [
    ({'cells': ['a:seed=3']}, r'--cell=a: --seed is set by the study'),
    ({'cells': ['a:los=rsgan']}, r'--cell=a: --los is not a tf_gans.train flag'),
    ({'cells': ['a:steps=many']}, r'--cell=a: --steps: expected int'),
    ({'cells': ['a:', 'a:loss=rsgan']}, r'names must be unique, repeated: a'),
    ({'cells': ['a/b:loss=rsgan']}, r'must be a folder name'),
    ({'cells': ['a:log_every=7']}, r'--cell=a \(with --base_flagfile and --set\): '
     r'--steps_per_execution=5 must divide --log_every=7'),
    ({'seeds': ['0', '0']}, r'--seeds: expected distinct integers'),
    ({'metric': 'nope'}, r'nope'),
    ({'metric': 'ms_ssim_x'}, r'ms_ssim_x'),
    ({'eval_options': 'sigmaa=1'}, r"--eval: unknown metric option 'sigmaa'"),
    ({'base_flagfile': '/no/such.cfg'}, r'--base_flagfile=/no/such.cfg does not exist'),
])
def test_bad_study_files_are_refused_naming_the_flag(tmp_path, kwargs, message):
  with pytest.raises((ValueError, FileNotFoundError, KeyError), match=message):
    make(tmp_path, **kwargs)


def _study_file(monkeypatch, name):
  from absl import flags  # pylint: disable=import-outside-toplevel
  lines = flags.FlagValues().read_flags_from_files(
      [f'--flagfile={REPO / "configs" / "studies" / name}'], force_gnu=True)
  values, cells, pairs, panels = {}, [], [], []
  for line in lines:
    key, value = line[2:].split('=', 1)
    if key == 'cell':
      cells.append(value)
    elif key in ('pair', 'panel'):
      (pairs if key == 'pair' else panels).append(value)
    else:
      values[key] = value
  monkeypatch.chdir(REPO)   # its --base_flagfile is relative to the checkout
  return spec.make_study(values['study_dir'], values['base_flagfile'], cells,
                         values['seeds'].split(','), values['metric'], values['metric_key'],
                         values['set'], values['eval'], pairs, panels,
                         values.get('results_dir', ''), values.get('test', ''),
                         values.get('alpha'))


def test_the_rgan_fashion_study_runs_the_papers_setups(monkeypatch):
  s = _study_file(monkeypatch, 'rgan_fashion.study')
  assert s.seeds == [1, 2, 3] and len(s.cells) == 15 and s.column == 'fid/fid'
  assert len(s.pairs) == 9 and ('lr1e-3-lsgan', 'lr1e-3-ralsgan') in s.pairs
  assert (s.test, s.alpha) == ('welch', 0.05)   # the pairs' rule, declared in the file
  assert [len(cells) for _, cells in s.panels] == [5, 5, 5]
  assert (s.eval_options.num_samples, s.eval_options.num_reals,
          s.eval_options.fid_small_sample, s.eval_options.split) == (1000, 10000, True, 'train')
  keys = ('model', 'spectral_norm', 'batch_norm_g', 'batch_norm_d', 'activation', 'optimizer',
          'learning_rate', 'beta1', 'beta2', 'd_steps', 'batch_size', 'sampling', 'loss')
  paper = {'s1': 'table1_stable/{}_s1.cfg', 'lr1e-3': 'table2_unstable/{}_lr1e-3.cfg',
           'betas09': 'table2_unstable/{}_betas09.cfg'}
  for cell in s.cells:
    setup, loss = cell.name.rsplit('-', 1)
    loss = {'rasgan': 'rasgan-paper', 'ralsgan': 'ralsgan-paper'}.get(loss, loss)
    ours = s.config(cell, 1)
    theirs = spec.read_base_flagfile(str(REPO / 'configs' / 'rgan' / paper[setup].format(loss)))
    theirs = spec.RunConfig(logdir='unused', **theirs)
    assert [getattr(ours, k) for k in keys] == [getattr(theirs, k) for k in keys], cell.name
    assert (ours.width, ours.steps, ours.pad_to, ours.split) == (0.25, 1500, 32, 'train')


def test_the_tiny_study_file_parses(monkeypatch):
  s = _study_file(monkeypatch, 'tiny.study')
  assert [c.name for c in s.cells] == ['gan', 'rsgan'] and s.seeds == [0, 1]
  cfg = s.config(s.cells[1], 1)
  assert (cfg.dataset, cfg.model, cfg.loss, cfg.steps, cfg.snapshot_every) == (
      'digits', 'mlp2014', 'rsgan', 40, 20)


# ------------------------------------------------------------------ the table


def _write_rows(logdir, rows):
  os.makedirs(logdir, exist_ok=True)
  with open(os.path.join(logdir, report.METRICS_FILE), 'w') as f:
    for row in rows:
      f.write(json.dumps(row) + '\n')


def test_table_from_known_metric_values(tmp_path):
  s = make(tmp_path, seeds=(0, 1, 2))
  gan, rsgan = s.cells
  known = {0: {10: 1.0, 20: 4.0}, 1: {10: 3.0, 20: 6.0}, 2: {10: 5.0, 20: 11.0}}
  for seed, values in known.items():
    rows = [{'step': step, 'metrics': ['parzen'], 'parzen/mean': v} for step, v in values.items()]
    if seed == 0:   # ignored: an error row, and a reals row; a re-evaluated step keeps its last row
      rows.insert(0, {'step': 20, 'metrics': ['parzen'], 'parzen/mean': 99.0})
      rows.append({'step': 10, 'metrics': ['parzen'], 'parzen/mean': 50.0,
                   'errors': {'parzen': 'boom'}})
      rows.append({'title': 'Reals2', 'parzen/mean': 77.0})
    _write_rows(s.logdir(gan, seed), rows)
  # rsgan: one seed at step 10 only, another to 20; the third never evaluated.
  _write_rows(s.logdir(rsgan, 0), [{'step': 10, 'metrics': ['parzen'], 'parzen/mean': 2.0}])
  _write_rows(s.logdir(rsgan, 1), [{'step': 10, 'metrics': ['parzen'], 'parzen/mean': 4.0},
                                   {'step': 20, 'metrics': ['parzen'], 'parzen/mean': 8.0}])
  results = report.write_report(s, log=quiet)
  g, r = results
  assert g.at(10) == (3.0, 2.0, 3)                       # mean of 1, 3, 5; sample std 2
  mean, std, n = g.at(20)
  assert (mean, n) == (7.0, 3) and std == pytest.approx(math.sqrt(13.0))  # 4, 6, 11
  assert g.last == (7.0, pytest.approx(math.sqrt(13.0)), 3, 20)
  assert r.at(10) == (3.0, pytest.approx(math.sqrt(2.0)), 2)
  assert r.at(20)[0] == 8.0 and math.isnan(r.at(20)[1]) and r.at(20)[2] == 1
  # last: each seed's own last step: 2.0 (step 10) and 8.0 (step 20).
  assert r.last[:3] == (5.0, pytest.approx(math.sqrt(18.0)), 2) and r.last[3] == 20
  with open(tmp_path / report.RESULTS_CSV) as f:
    table = list(csv.DictReader(f))
  assert [row['cell'] for row in table] == ['gan', 'rsgan']
  assert table[0] == {'cell': 'gan', 'flags': 'loss=nonsaturating', 'seeds': '3', 'diverged': '0',
                      'last_step': '20', 'last_mean': '7', 'last_std': '3.60555',
                      'mean@10': '3', 'std@10': '2', 'mean@20': '7', 'std@20': '3.60555'}
  assert table[1]['std@20'] == '' and table[1]['seeds'] == '2'
  md = (tmp_path / report.RESULTS_MD).read_text()
  assert '| gan | loss=nonsaturating | 3 | 0 | 20 | 7 ± 3.6 | 3 ± 2 | 7 ± 3.6 |' in md
  assert '| rsgan | loss=rsgan | 2 | 0 | 20 | 5 ± 4.2 | 3 ± 1.4 | 8 |' in md


def test_pairs_are_compared_by_welch_under_the_declared_rule(tmp_path):
  """The pairs of a study with --test=welch --alpha=0.05: t, dof, p as scipy's Welch test of
  the seeds' last values, the verdict p < alpha, one seed: not testable (never significant)."""
  from scipy import stats  # pylint: disable=import-outside-toplevel
  s = make(tmp_path, seeds=(0, 1, 2), cells=['a:loss=nonsaturating', 'b:loss=rsgan',
                                             'c:loss=rasgan', 'd:loss=lsgan'],
           pairs=['a,b', 'a,c', 'a,d'], panels=['first:a,b', 'second:c,d,a'], test='welch',
           alpha='0.05')
  values = {'a': (10.0, 12.0, 14.0), 'b': (5.0, 6.0, 7.0), 'c': (8.0, 13.0, 15.0), 'd': (20.0,)}
  for name, per_seed in values.items():
    cell = next(c for c in s.cells if c.name == name)
    for seed, v in enumerate(per_seed):
      _write_rows(s.logdir(cell, seed), [{'step': 30, 'metrics': ['parzen'], 'parzen/mean': v}])
  report.write_report(s, log=quiet)
  with open(tmp_path / report.PAIRS_CSV) as f:
    rows = {(r['baseline'], r['other']): r for r in csv.DictReader(f)}
  ab, ac, ad = rows[('a', 'b')], rows[('a', 'c')], rows[('a', 'd')]
  welch = stats.ttest_ind(values['b'], values['a'], equal_var=False)
  # a: 12 +- 2, b: 6 +- 1: t = -6 / sqrt(4/3 + 1/3), dof = (5/3)^2 / ((4/3)^2/2 + (1/3)^2/2).
  assert float(ab['t']) == pytest.approx(-6 / math.sqrt(5 / 3), rel=1e-5)
  assert float(ab['dof']) == pytest.approx((5 / 3) ** 2 / ((4 / 3) ** 2 / 2 + (1 / 3) ** 2 / 2),
                                           rel=1e-5)
  assert float(ab['p']) == pytest.approx(welch.pvalue, rel=1e-5) and welch.pvalue < 0.05
  assert (ab['difference'], ab['relative'], ab['verdict'], ab['test'], ab['alpha']) == (
      '-6', '-0.5', 'significant', 'welch', '0.05')
  assert float(ab['difference_low']) < -6 < float(ab['difference_high']) < 0
  assert (ac['difference'], ac['verdict']) == ('0', 'not significant')
  assert float(ac['p']) == pytest.approx(1.0)
  assert ad['verdict'] == 'not testable (n < 2)' and ad['difference'] == '8' and ad['p'] == ''
  assert (ad['n_baseline'], ad['n_other']) == ('3', '1')
  assert (tmp_path / report.CURVES_PNG).stat().st_size > 0   # two panels drawn
  assert (tmp_path / report.SAMPLES_PNG).stat().st_size > 0  # no grids yet: empty axes
  md = (tmp_path / report.RESULTS_MD).read_text()
  assert '--test=welch (significant when Welch\'s t-test' in md and '--alpha=0.05' in md
  assert '- significant (1 of 3): b vs a' in md
  assert '- not significant (1 of 3): c vs a' in md
  assert '- not testable (n < 2) (1 of 3): d vs a' in md
  assert (f'| a | b | 3, 3 | 12 ± 2 | 6 ± 1 | -6 | -50% | [{float(ab["difference_low"]):+.4g}, '
          f'{float(ab["difference_high"]):+.4g}] | {float(ab["t"]):.3g} | '
          f'{float(ab["dof"]):.3g} | {float(ab["p"]):.3g} | significant |') in md


@pytest.mark.parametrize('pair, message', [
    ('gan', r"--pair='gan': expected two different cell names"),
    ('gan,gan', r'expected two different cell names'),
    ('gan,nope', r'--pair=gan,nope: no cell named nope \(cells: gan, rsgan\)'),
])
def test_bad_pairs_are_refused(tmp_path, pair, message):
  with pytest.raises(ValueError, match=message):
    make(tmp_path, pairs=[pair], test='welch', alpha='0.05')


@pytest.mark.parametrize('kwargs, message', [
    ({}, r'--pair: declare the decision rule in the study file before the runs: --test '
         r'\(welch\) and --alpha \(e.g. 0.05\); missing: --test, --alpha\.'),
    ({'test': 'welch'}, r'missing: --alpha\.'),
    ({'alpha': '0.05'}, r'missing: --test\.'),
    ({'test': 'spread', 'alpha': '0.05'}, r'--test=spread: unknown decision rule; rules: welch'),
    ({'test': 'welch', 'alpha': '5'}, r'--alpha=5: expected a significance level in \(0, 1\)'),
    ({'test': 'welch', 'alpha': '0.05', 'bootstrap_resamples': 10},
     r'--bootstrap_resamples=10: expected at least 100'),
])
def test_pairs_need_a_declared_decision_rule(tmp_path, kwargs, message):
  with pytest.raises(ValueError, match=message):
    make(tmp_path, pairs=['gan,rsgan'], **kwargs)


@pytest.mark.parametrize('panel, message', [
    ('gan,rsgan', r"--panel='gan,rsgan': expected TITLE:cell,cell"),
    ('t:', r'expected TITLE:cell,cell'),
    ('t:gan,nope', r'--panel=t:gan,nope: no cell named nope'),
])
def test_bad_panels_are_refused(tmp_path, panel, message):
  with pytest.raises(ValueError, match=message):
    make(tmp_path, panels=[panel])


# ------------------------------------------------------------------ running, killed, resumed


@pytest.fixture(scope='module')
def killed_and_resumed(tmp_path_factory):
  """The tiny study, stopped (its run's stop request, as Ctrl-C under `python -m
  tf_gans.study`) in the middle of its 3rd run, then rerun."""
  study_dir = tmp_path_factory.mktemp('study')
  s = make(study_dir)
  calls, interrupt = [], {'armed': False}
  original = lifecycle.Lifecycle.check_stop

  def check_stop(self):
    if interrupt['armed'] and len(calls) == 3:   # after the 3rd run's first 5 steps
      interrupt['armed'] = False
      self.stop_request.set()
    return original(self)

  def train(cfg, resume, explicit, log):
    calls.append((os.path.relpath(cfg.logdir, study_dir), resume))
    return loop.train(cfg, resume=resume, explicit=explicit, log=log)

  mp = pytest.MonkeyPatch()
  mp.setattr(lifecycle.Lifecycle, 'check_stop', check_stop)
  first_log, second_log = [], []
  try:
    interrupt['armed'] = True
    with pytest.raises(KeyboardInterrupt, match='stopped at step 5'):
      study_lib.run_study(s, train_fn=train, log=first_log.append)
    first_calls = list(calls)
    first = {run: _checkpoint_mtimes(study_dir / run) for run in ('gan/seed0', 'gan/seed1')}
    first_runs_csv = report.read_runs(s)
    results = study_lib.run_study(s, train_fn=train, log=second_log.append)
  finally:
    mp.undo()
  return dict(study=s, dir=study_dir, first_calls=first_calls, calls=calls[len(first_calls):],
              first_mtimes=first, results=results, first_log=first_log, second_log=second_log,
              first_runs_csv=first_runs_csv)


def _forget(study, cell, seed):
  """Drops a run's rows from runs.csv (as a study from before runs.csv); returns them all."""
  rows = report.read_runs(study)
  report.write_runs(study, [r for r in rows if (r['cell'], r['seed']) != (cell, str(seed))])
  return rows


def _checkpoint_mtimes(logdir):
  folder = logdir / 'checkpoints'
  return {f: os.stat(folder / f).st_mtime_ns for f in sorted(os.listdir(folder))}


def test_a_killed_study_resumes_without_retraining_finished_runs(killed_and_resumed):
  k = killed_and_resumed
  assert k['first_calls'] == [('gan/seed0', False), ('gan/seed1', False), ('rsgan/seed0', False)]
  # The rerun trains only the interrupted run (resumed) and the one never started.
  assert k['calls'] == [('rsgan/seed0', True), ('rsgan/seed1', False)]
  stopped = [line for line in k['first_log'] if line.startswith('Stopped by')]
  assert len(stopped) == 1 and stopped[0].endswith(f'Continue with: {study_lib.STUDY_RESUME}')
  for run, mtimes in k['first_mtimes'].items():
    assert _checkpoint_mtimes(k['dir'] / run) == mtimes
  log = '\n'.join(k['second_log'])
  assert '[1/4] cell gan (1/2) seed 0 (1/2): skipped, finished (step 20, its final values in ' \
      f'{k["dir"] / report.RUNS_CSV})' in log
  assert '[2/4] cell gan (1/2) seed 1 (2/2): skipped, finished' in log
  assert '[3/4] cell rsgan (2/2) seed 0 (1/2): resuming' in log and 'from step 5 of 20' in log
  assert 'Resumed' in log and 'at step 5 of 20' in log
  assert '[4/4] cell rsgan (2/2) seed 1 (2/2): training' in log
  for cell in ('gan', 'rsgan'):
    for seed in (0, 1):
      logdir = str(k['dir'] / cell / f'seed{seed}')
      assert study_lib.trained_step(logdir) == 20
      assert study_lib.evaluated_steps(logdir, 'parzen') == {10, 20}
      rows = report.read_rows(os.path.join(logdir, report.METRICS_FILE))
      assert len(rows) == 2   # each snapshot evaluated once
  # Each finished run was in runs.csv when it ended: the killed first call had the two gan runs.
  assert [(r['cell'], r['seed'], r['position'], r['status']) for r in k['first_runs_csv']] == [
      ('gan', '0', '10', 'snapshot'), ('gan', '0', '20', 'final'),
      ('gan', '1', '10', 'snapshot'), ('gan', '1', '20', 'final')]
  runs = report.read_runs(k['study'])
  assert len(runs) == 8 and sum(r['status'] == 'final' for r in runs) == 4
  for r in runs:   # the values of the runs' metrics.jsonl, unrounded
    values = report.run_values(str(k['dir'] / r['cell'] / f'seed{r["seed"]}'), 'parzen/mean',
                               'parzen')
    assert float(r['parzen/mean']) == values[int(r['position'])] and r['unit'] == 'step'
  # A third call does nothing but write the report.
  calls = []
  study_lib.run_study(k['study'], train_fn=lambda *a, **kw: calls.append(a),
                      evaluate_fn=lambda *a: calls.append(a), log=quiet)
  assert calls == []


def test_a_trained_run_missing_its_evaluation_is_only_evaluated(killed_and_resumed):
  k = killed_and_resumed
  logdir = k['dir'] / 'gan' / 'seed1'
  rows = (logdir / report.METRICS_FILE).read_text().splitlines()
  (logdir / report.METRICS_FILE).write_text(rows[0] + '\n')   # step 20's row lost
  _forget(k['study'], 'gan', 1)   # and not in runs.csv (else it is finished, not rerun)
  trained, evaluated, log = [], [], []
  study_lib.run_study(
      k['study'], train_fn=lambda *a, **kw: trained.append(a),
      evaluate_fn=lambda logdir, *a: evaluated.append(os.path.relpath(logdir, k['dir'])) or
      study_lib.default_evaluate(logdir, *a), log=log.append)
  assert trained == [] and evaluated == [os.path.join('gan', 'seed1')]
  assert '[2/4] cell gan (1/2) seed 1 (2/2): trained (step 20); evaluating' in '\n'.join(log)
  assert study_lib.evaluated_steps(str(logdir), 'parzen') == {10, 20}
  assert ('[2/4] cell gan (1/2) seed 1 (2/2): finished (step 20); 2 snapshot value(s) written to '
          in '\n'.join(log))
  assert [r['position'] for r in report.read_runs(k['study'])
          if (r['cell'], r['seed']) == ('gan', '1')] == ['10', '20']


def test_ctrl_c_during_an_evaluation_is_a_study_stop_not_a_traceback(killed_and_resumed):
  """evaluate_fn interrupted (the feature pass keeps its rows in the cache, see
  tests/test_evaluate_sources.py): the study stops with StudyInterrupted (exit 130 in the CLI)."""
  k = killed_and_resumed
  logdir = k['dir'] / 'gan' / 'seed1'
  rows = (logdir / report.METRICS_FILE).read_text()
  (logdir / report.METRICS_FILE).write_text(rows.splitlines()[0] + '\n')  # to evaluate again
  recorded = _forget(k['study'], 'gan', 1)

  def stopped(*_):
    raise KeyboardInterrupt('the reals: 100 of 300 feature rows kept in x.partial.npy')
  try:
    with pytest.raises(study_lib.StudyInterrupted,
                       match=r'\[2/4\] cell gan \(1/2\) seed 1 \(2/2\): evaluation stopped '
                             r'\(the reals: 100 of 300 feature rows kept in x\.partial\.npy\); '
                             r'the feature rows computed so far are kept'):
      study_lib.run_study(k['study'], train_fn=lambda *a, **kw: None, evaluate_fn=stopped,
                          log=lambda *_: None)
  finally:
    (logdir / report.METRICS_FILE).write_text(rows)
    report.write_runs(k['study'], recorded)


def test_the_study_writes_its_tables_curves_and_samples(killed_and_resumed):
  k = killed_and_resumed
  d = k['dir']
  for name in (report.RESULTS_CSV, report.RESULTS_MD, report.CURVES_PNG):
    assert (d / name).stat().st_size > 0
  for cell in ('gan', 'rsgan'):
    assert (d / cell / report.CELL_CURVE).stat().st_size > 0
    assert (d / cell / report.CELL_SAMPLES).read_bytes() == (
        d / cell / 'seed0' / 'samples' / 'step_0000020.png').read_bytes()
  with open(d / report.RESULTS_CSV) as f:
    table = list(csv.DictReader(f))
  assert [row['cell'] for row in table] == ['gan', 'rsgan']
  assert all(row['seeds'] == '2' and row['last_step'] == '20' for row in table)
  assert all(math.isfinite(float(row['last_mean'])) for row in table)
  assert {'mean@10', 'std@10', 'mean@20', 'std@20'} <= set(table[0])
  md = (d / report.RESULTS_MD).read_text()
  assert sum(line.startswith('| gan |') or line.startswith('| rsgan |')
             for line in md.splitlines()) == 2
  assert [r.name for r in k['results']] == ['gan', 'rsgan']


def test_a_metric_that_cannot_run_is_refused_before_anything_trains(tmp_path):
  """fid-rgan with a missing Inception weights file: refused up front, naming the file, and
  no run starts (the check is `tf_gans.metrics.constraints`, as `evaluate --run`'s)."""
  from tf_gans.metrics import constraints  # pylint: disable=import-outside-toplevel
  s = make(tmp_path, metric='fid-rgan',
           eval_options=f'num_samples=2100;inception={tmp_path / "missing.h5"};progress=false')

  def train(*_, **__):
    raise AssertionError('trained before the metric was checked')
  with pytest.raises(constraints.ConstraintError) as refused:
    study_lib.run_study(s, train_fn=train, log=quiet)
  assert 'fid-rgan: --inception=' in str(refused.value) and 'missing.h5' in str(refused.value)
  assert not any((tmp_path / cell).exists() for cell in ('gan', 'rsgan'))

"""The study runner's statistics and its per-run record (issue 24 item 1).

Welch's t-test against scipy and the Welch-Satterthwaite formula, the bootstrap
interval of a difference of means on values whose resampling distribution is
known, the decision rule, runs.csv (values and intervals), and a study resumed
from its committed runs.csv alone (no run folder on this machine).
"""

import csv
import json
import math
import os
import pathlib
import shutil

import numpy as np
import pytest
from scipy import stats

from tf_gans import study as study_lib
from tf_gans.metrics import bootstrap
from tf_gans.studies import report
from tf_gans.studies import spec
from tf_gans.training import checkpoint
from inprocess_cli import run_main

REPO = pathlib.Path(__file__).resolve().parents[1]

TINY = ('dataset=digits;model=mlp2014;batch_size=20;steps=20;log_every=5;sample_every=10;'
        'checkpoint_every=10;snapshot_every=10;steps_per_execution=5;num_samples=16;'
        'export=false;progress=false')


def quiet(*_, **__):
  pass


def make(tmp_path, **kwargs):
  args = dict(study_dir=str(tmp_path / 'runs'), base_flagfile=None,
              cells=['gan:loss=nonsaturating', 'rsgan:loss=rsgan'], seeds=['0', '1', '2'],
              metric='parzen', metric_key='', set_flags=TINY,
              eval_options='split=test;num_samples=100;sigma=0.3;progress=false')
  args.update(kwargs)
  return spec.make_study(**args)


def _write_rows(logdir, rows):
  os.makedirs(logdir, exist_ok=True)
  with open(os.path.join(logdir, report.METRICS_FILE), 'w') as f:
    for row in rows:
      f.write(json.dumps(row) + '\n')


# ------------------------------------------------------------------ Welch's t-test


@pytest.mark.parametrize('n_a, n_b, sd_a, sd_b, shift', [
    (3, 3, 1.0, 1.0, 0.5), (5, 3, 0.5, 4.0, 2.0), (2, 7, 3.0, 0.2, -1.0), (10, 10, 1.0, 2.0, 0.0)])
def test_welch_matches_scipy_and_the_welch_satterthwaite_formula(n_a, n_b, sd_a, sd_b, shift):
  rng = np.random.default_rng(n_a * 100 + n_b)
  a = rng.normal(0.0, sd_a, n_a)
  b = rng.normal(shift, sd_b, n_b)
  out = report.welch_pair(a, b, alpha=0.05, resamples=500)
  va, vb = a.var(ddof=1) / n_a, b.var(ddof=1) / n_b
  t = (b.mean() - a.mean()) / math.sqrt(va + vb)
  dof = (va + vb) ** 2 / (va ** 2 / (n_a - 1) + vb ** 2 / (n_b - 1))
  assert out['t'] == pytest.approx(t, rel=1e-10)
  assert out['dof'] == pytest.approx(dof, rel=1e-10)
  assert out['p'] == pytest.approx(2 * stats.t.sf(abs(t), dof), rel=1e-8)
  scipy_test = stats.ttest_ind(b, a, equal_var=False)
  assert (out['t'], out['p']) == pytest.approx((scipy_test.statistic, scipy_test.pvalue))
  assert out['difference'] == pytest.approx(b.mean() - a.mean())
  assert (out['n_baseline'], out['n_other']) == (n_a, n_b)
  assert out['verdict'] == ('significant' if out['p'] < 0.05 else 'not significant')


def test_the_decision_is_p_below_the_declared_alpha():
  a, b = [10.0, 11.0, 12.0, 10.5], [12.0, 13.5, 12.5, 14.0]
  p = stats.ttest_ind(b, a, equal_var=False).pvalue
  assert 0.001 < p < 0.05   # the values were chosen for this
  assert report.welch_pair(a, b, alpha=0.05)['verdict'] == 'significant'
  assert report.welch_pair(a, b, alpha=p)['verdict'] == 'not significant'   # p < alpha, strictly
  assert report.welch_pair(a, b, alpha=0.001)['verdict'] == 'not significant'


def test_fewer_than_two_seeds_is_not_testable_never_significant():
  one = report.welch_pair([1.0], [100.0, 101.0, 99.0], alpha=0.05)
  assert one['verdict'] == 'not testable (n < 2)' and one['difference'] == 99.0
  assert all(math.isnan(one[k]) for k in ('t', 'dof', 'p', 'low', 'high'))
  assert report.welch_pair([1.0, 2.0], [], alpha=0.05)['verdict'] == 'not testable (n < 2)'
  flat = report.welch_pair([1.0, 1.0], [2.0, 2.0], alpha=0.05)
  assert flat['verdict'] == 'not testable (no variance)' and (flat['low'], flat['high']) == (1, 1)


# ------------------------------------------------------------------ the bootstrap interval


def test_the_bootstrap_interval_on_values_of_known_resampling_distribution():
  """baseline constant 0; other (0, 10): a resample's mean is 0, 5 or 10 with probabilities
  1/4, 1/2, 1/4, so the 2.5 and 97.5 percentiles are 0 and 10, the 30th and 70th both 5."""
  assert (report.welch_pair([0.0, 0.0, 0.0], [0.0, 10.0], alpha=0.05)['low'],
          report.welch_pair([0.0, 0.0, 0.0], [0.0, 10.0], alpha=0.05)['high']) == (0.0, 10.0)
  middle = report.welch_pair([0.0, 0.0, 0.0], [0.0, 10.0], alpha=0.6)
  assert (middle['low'], middle['high']) == (5.0, 5.0)
  # Shifting both cells by the same amount leaves the interval unchanged; shifting one moves it.
  a, b = [3.0, 5.0, 4.0], [7.0, 9.0, 6.5]
  base = report.welch_pair(a, b, alpha=0.05, seed=3)
  moved = report.welch_pair([x + 100 for x in a], [x + 102 for x in b], alpha=0.05, seed=3)
  assert (moved['low'], moved['high']) == pytest.approx((base['low'] + 2, base['high'] + 2))
  # Seeded: the same seed gives the same interval, another seed another one.
  assert report.welch_pair(a, b, alpha=0.05, seed=3)['low'] == base['low']
  other_seed = report.welch_pair(a, b, alpha=0.05, seed=4, resamples=101)
  assert (other_seed['low'], other_seed['high']) != (base['low'], base['high'])


def test_the_bootstrap_interval_covers_the_true_difference_about_1_minus_alpha():
  rng = np.random.default_rng(0)
  hits = 0
  trials = 200
  for trial in range(trials):
    a = rng.normal(0.0, 1.0, 25)
    b = rng.normal(1.0, 2.0, 25)
    out = report.welch_pair(a, b, alpha=0.1, resamples=1000, seed=trial)
    hits += out['low'] <= 1.0 <= out['high']
  assert 0.8 <= hits / trials <= 0.97, hits   # nominal 0.9 (percentile: a little below)


# ------------------------------------------------------------------ runs.csv


def test_runs_csv_holds_every_value_and_the_metrics_intervals(tmp_path):
  s = make(tmp_path, metric='fid', seeds=['0'])
  gan = s.cells[0]
  interval = bootstrap.Interval(41.5, 39.0, 45.25, 0.95, 50, 0, 'reals and fakes',
                                'centred percentile').to_dict()
  _write_rows(s.logdir(gan, 0), [
      {'step': 10, 'metrics': ['fid'], 'fid/fid': 50.125, 'fid/num_samples': 300.0},
      {'step': 20, 'metrics': ['fid'], 'fid/fid': 41.5, 'fid/num_samples': 300.0,
       'fid/ci': interval},
      {'step': 30, 'metrics': ['fid'], 'errors': {'fid': 'boom'}}])   # an error: no value
  written = report.record_run(s, gan, 0)
  assert [r['status'] for r in written] == ['snapshot', 'final']
  with open(tmp_path / 'runs' / report.RUNS_CSV, newline='') as f:
    reader = csv.DictReader(f)
    rows = list(reader)
  assert reader.fieldnames == ['cell', 'seed', 'unit', 'position', 'status', 'fid/fid',
                               'fid/num_samples', 'fid/fid.ci', 'fid/fid.ci_high',
                               'fid/fid.ci_low', 'fid/fid.ci_method']
  assert rows[0] == {'cell': 'gan', 'seed': '0', 'unit': 'step', 'position': '10',
                     'status': 'snapshot', 'fid/fid': '50.125', 'fid/num_samples': '300.0',
                     'fid/fid.ci': '', 'fid/fid.ci_high': '', 'fid/fid.ci_low': '',
                     'fid/fid.ci_method': ''}
  assert (rows[1]['position'], rows[1]['status'], rows[1]['fid/fid.ci_low'],
          rows[1]['fid/fid.ci_high'], rows[1]['fid/fid.ci'], rows[1]['fid/fid.ci_method']) == (
              '20', 'final', '39.0', '45.25', '0.95', 'centred percentile')
  # A metric with one interval per value (precision_recall, density_coverage under --ci).
  s = make(tmp_path / 'pr', metric='precision_recall', metric_key='recall', seeds=['0'])
  intervals = {name: bootstrap.Interval(v, v - 0.1, v + 0.1, 0.9, 20, 0, 'reals and fakes',
                                        'percentile').to_dict()
               for name, v in (('precision', 0.5), ('recall', 0.25))}
  _write_rows(s.logdir(s.cells[1], 0), [
      {'step': 20, 'metrics': ['precision_recall'], 'precision_recall/precision': 0.5,
       'precision_recall/recall': 0.25, 'precision_recall/ci': intervals}])
  (row,) = report.record_run(s, s.cells[1], 0)
  assert (row['precision_recall/recall.ci_low'], row['precision_recall/precision.ci_high'],
          row['precision_recall/recall.ci']) == ('0.15', '0.6', '0.9')
  assert report.read_runs(s)[0]['precision_recall/recall'] == '0.25'


def test_a_runs_csv_that_is_not_one_is_refused_naming_it(tmp_path):
  s = make(tmp_path)
  os.makedirs(s.results)
  with open(os.path.join(s.results, report.RUNS_CSV), 'w') as f:
    f.write('cell,seed,fid\ngan,0,3\n')
  with pytest.raises(ValueError, match=r'runs\.csv: not a study runs\.csv, its header lacks '
                                       r'unit, position, status'):
    study_lib.run_study(s, train_fn=quiet, evaluate_fn=quiet, log=quiet)


# ------------------------------------------------------------------ resuming from runs.csv


def test_a_study_resumes_from_its_committed_runs_csv_alone(tmp_path):
  """A fresh clone: only the results folder (runs.csv) is there, no run folder, and no
  Inception weights for the study's fid-rgan: nothing is checked, trained or evaluated, and
  the tables and pairs come from runs.csv."""
  s = make(tmp_path, metric='fid-rgan', results_dir=str(tmp_path / 'committed'),
           eval_options=f'num_samples=2100;inception={tmp_path / "missing.h5"};progress=false',
           pairs=['gan,rsgan'], test='welch', alpha='0.05')
  finals = {'gan': (30.0, 32.0, 31.0), 'rsgan': (20.0, 21.0, 23.0)}
  rows = []
  for name, values in finals.items():
    for seed, value in enumerate(values):
      common = {'cell': name, 'seed': str(seed), 'unit': 'step'}
      rows.append({**common, 'position': '10', 'status': 'snapshot', 'fid-rgan/fid': '90'})
      rows.append({**common, 'position': '20', 'status': 'final', 'fid-rgan/fid': repr(value)})
  report.write_runs(s, rows)
  log = []

  def never(*_, **__):
    raise AssertionError('a finished run was trained or evaluated again')
  study_lib.run_study(s, train_fn=never, evaluate_fn=None, log=log.append)
  text = '\n'.join(log)
  assert text.count('skipped, finished (step 20, its final values in '
                    f'{tmp_path / "committed" / report.RUNS_CSV}); its run folder') == 6
  assert 'not on this machine, not needed' in text
  assert not os.path.exists(s.study_dir)   # no run folder was made
  with open(tmp_path / 'committed' / report.RESULTS_CSV) as f:
    table = {r['cell']: r for r in csv.DictReader(f)}
  assert (table['gan']['last_mean'], table['rsgan']['last_mean']) == ('31', '21.3333')
  assert (table['gan']['mean@10'], table['gan']['seeds']) == ('90', '3')
  with open(tmp_path / 'committed' / report.PAIRS_CSV) as f:
    (pair,) = list(csv.DictReader(f))
  welch = stats.ttest_ind(finals['rsgan'], finals['gan'], equal_var=False)
  assert float(pair['p']) == pytest.approx(welch.pvalue, rel=1e-5)
  assert pair['verdict'] == 'significant'
  assert '- significant (1 of 1): rsgan vs gan' in (tmp_path / 'committed' /
                                                    report.RESULTS_MD).read_text()


def test_a_diverged_run_is_recorded_and_not_retried_elsewhere(tmp_path):
  s = make(tmp_path, cells=['gan:loss=nonsaturating'], seeds=['0', '1'])
  trained = []

  def diverges(cfg, resume, explicit, log):
    trained.append(cfg.seed)
    os.makedirs(cfg.logdir, exist_ok=True)
    raise checkpoint.DivergenceError(f'non-finite loss at step 7 (seed {cfg.seed})')
  study_lib.run_study(s, train_fn=diverges, evaluate_fn=quiet, log=quiet)
  assert trained == [0, 1]
  assert [(r['seed'], r['status'], r['position']) for r in report.read_runs(s)] == [
      ('0', 'diverged', ''), ('1', 'diverged', '')]
  shutil.rmtree(s.study_dir + '/gan')   # the run folders gone: runs.csv still says diverged
  log = []
  results = study_lib.run_study(s, train_fn=diverges, evaluate_fn=quiet, log=log.append)
  assert trained == [0, 1] and results[0].diverged == [0, 1]
  assert sum('skipped, it diverged before (a diverged row in' in line for line in log) == 2


def test_a_run_whose_evaluation_failed_is_not_recorded(tmp_path, monkeypatch):
  """An evaluation that leaves a snapshot without a value (evaluate_run keeps the error in
  the row): the run is not written to runs.csv, so the next call evaluates it again."""
  s = make(tmp_path, cells=['gan:loss=nonsaturating'], seeds=['0'])
  monkeypatch.setattr(study_lib, 'run_state', lambda cfg, metric: ('trained', 20))
  monkeypatch.setattr(study_lib, 'snapshot_steps', lambda logdir: [10.0, 20.0])

  def evaluate(logdir, *_):
    _write_rows(logdir, [{'step': 10, 'metrics': ['parzen'], 'parzen/mean': -5.0},
                         {'step': 20, 'metrics': ['parzen'], 'errors': {'parzen': 'boom'}}])
  log = []
  study_lib.run_study(s, train_fn=quiet, evaluate_fn=evaluate, log=log.append)
  assert report.read_runs(s) == []
  assert any('not recorded in' in line and '(no value at 20)' in line for line in log), log


def test_the_decision_rule_is_fixed_when_the_study_starts(tmp_path):
  """rule.txt holds the rule as the study first started; a later start with another alpha
  (or test, pairs, metric) is refused naming the file and the change, --report_only too."""
  s = make(tmp_path, pairs=['gan,rsgan'], test='welch', alpha='0.05')
  log = []
  study_lib.run_study(s, train_fn=quiet, evaluate_fn=quiet, log=log.append)
  rule = (tmp_path / 'runs' / report.RULE_FILE).read_text().splitlines()
  assert rule == ['# The decision rule of this study, declared before any run.',
                  'metric=parzen/mean', 'pairs=gan,rsgan', 'test=welch', 'alpha=0.05',
                  'bootstrap_resamples=10000', 'bootstrap_seed=0']
  assert any('not recorded in' in line for line in log)   # quiet fakes: nothing finished
  assert 'fixed in rule.txt before any run: --test=welch' in (
      tmp_path / 'runs' / report.RESULTS_MD).read_text()
  study_lib.run_study(s, train_fn=quiet, evaluate_fn=quiet, log=quiet)   # same rule: runs
  later = make(tmp_path, pairs=['gan,rsgan'], test='welch', alpha='0.1')
  message = (r"rule\.txt: the study file's rule differs from the one declared before its runs "
             r"\(declared 'alpha=0\.05', now 'alpha=0\.1'\): a rule chosen after the values")
  with pytest.raises(ValueError, match=message):
    study_lib.run_study(later, train_fn=quiet, evaluate_fn=quiet, log=quiet)
  with pytest.raises(ValueError, match=message):
    report.check_rule(later, 0, write=False)
  fewer = make(tmp_path)   # the pairs dropped after the runs: refused too
  with pytest.raises(ValueError, match=r"declared 'pairs=gan,rsgan', now 'pairs='"):
    study_lib.run_study(fewer, train_fn=quiet, evaluate_fn=quiet, log=quiet)


def test_a_recorded_run_shorter_than_the_study_asks_is_continued(tmp_path):
  s = make(tmp_path, cells=['gan:loss=nonsaturating'], seeds=['0', '1'],
           set_flags=TINY + ';steps=40')
  report.write_runs(s, [{'cell': 'gan', 'seed': '0', 'unit': 'step', 'position': '20',
                         'status': 'final', 'parzen/mean': '-3.0'},
                        {'cell': 'gan', 'seed': '1', 'unit': 'step', 'position': '40',
                         'status': 'final', 'parzen/mean': '-2.0'}])
  trained, log = [], []
  study_lib.run_study(s, train_fn=lambda cfg, **_: trained.append(cfg.seed), evaluate_fn=quiet,
                      log=log.append)
  assert trained == [0]
  assert ('cell gan seed 0: runs.csv ends it at step 20, the study asks for 40 steps: it is '
          'continued.') in log


def test_the_cli_takes_the_rule_flags_and_refuses_pairs_without_them(tmp_path, monkeypatch):
  monkeypatch.chdir(REPO)   # the study file's --base_flagfile is relative to the checkout
  common = ['--flagfile=configs/studies/tiny.study', f'--study_dir={tmp_path / "runs"}',
            '--pair=gan,rsgan', '--report_only']
  refused = run_main('study', *common)
  assert refused.returncode == 2
  assert ('--pair: declare the decision rule in the study file before the runs: --test (welch) '
          'and --alpha (e.g. 0.05); missing: --test, --alpha.') in refused.stderr
  done = run_main('study', *common, '--test=welch', '--alpha=0.1', '--bootstrap_resamples=500',
                  f'--results_dir={tmp_path / "results"}')
  assert done.returncode == 0, done.stderr
  md = (tmp_path / 'results' / report.RESULTS_MD).read_text()
  assert '--alpha=0.1' in md and '90% interval' in md and '(500 draws, seed 0)' in md
  assert not (tmp_path / 'results' / report.RULE_FILE).exists()   # --report_only runs nothing
  assert not (tmp_path / 'runs').exists()

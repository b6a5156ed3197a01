"""python -m tf_gans.evaluate as a user runs it (its `main()` in this process, with its flag
parsing: `inprocess_cli`): refusals before any work, partial results."""

import json

import keras
import numpy as np
import pytest

from inprocess_cli import run_main
from tf_gans.models import savedmodel


@pytest.fixture(scope='module')
def gen8(tmp_path_factory):
  """A (random) 8x8 grayscale generator export, the digits' size."""
  keras.utils.set_random_seed(8)
  g = keras.Sequential([keras.Input((8,)), keras.layers.Dense(64, activation='tanh'),
                        keras.layers.Reshape((8, 8, 1))])
  path = tmp_path_factory.mktemp('gen8') / 'export'
  savedmodel.export_generator(g, 8, 'normal', (-1.0, 1.0), str(path))
  return path


def test_all_metrics_on_8x8_images_are_refused_before_anything_is_computed(gen8, tmp_path):
  out_json = tmp_path / 'metrics.json'
  out = run_main('evaluate', f'--model={gen8}', '--metrics=fid,kid,is,swd,ms_ssim,nn',
                '--features=classifier', '--data=digits', '--num_samples=200',
                f'--out={out_json}')
  assert out.returncode == 2, out.stderr[-2000:]
  lines = [line for line in out.stderr.splitlines() if line.strip()]
  start = [i for i, line in enumerate(lines) if line.startswith('error: ')]
  assert len(start) == 1, out.stderr  # one error ...
  listed = lines[start[0] + 1:]       # ... listing each violation
  assert [line.split(':')[0].strip() for line in listed] == ['swd', 'ms_ssim'], out.stderr
  assert 'SWD needs images of at least 16x16' in listed[0] and 'got 8x8' in listed[1]
  assert 'generating' not in out.stderr and 'features' not in out.stderr  # no progress: no work
  assert not out_json.exists()


def test_a_metric_failing_at_compute_time_keeps_the_others(gen8, tmp_path):
  # Statistics of 3-d features cannot be compared with the 128-d classifier features: FID
  # fails only when it computes; KID is still computed and written.
  stats = tmp_path / 'stats.npz'
  np.savez(stats, mu=np.zeros(3), sigma=np.eye(3))
  out_json = tmp_path / 'metrics.json'
  out = run_main('evaluate', f'--model={gen8}', '--metrics=fid,kid', '--features=classifier',
                '--data=digits', '--classifier_epochs=1', '--num_samples=200',
                f'--fid_stats={stats}', '--noprogress', f'--out={out_json}')
  assert out.returncode == 1, out.stderr[-2000:]
  errors = [line for line in out.stderr.splitlines() if line.startswith('error: metric fid: ')]
  assert len(errors) == 1, out.stderr
  got = json.loads(out_json.read_text())['metrics']
  assert set(got['fid']) == {'error'} and 'ValueError' in got['fid']['error']
  assert np.isfinite(got['kid']['mean']) and got['kid']['features'] == 'classifier'
  assert 'kid' in out.stdout and 'error' in out.stdout  # the table shows both


def test_precision_recall_density_coverage_fid_inf_with_intervals(gen8, tmp_path):
  """The issue 23 metrics through the command, with --ci: values in range, intervals around them."""
  out_json = tmp_path / 'metrics.json'
  out = run_main('evaluate', f'--model={gen8}',
                 '--metrics=precision_recall,density_coverage,fid_inf,kid',
                 '--features=classifier', '--data=digits', '--split=test', '--num_samples=300',
                 '--classifier_epochs=1', '--ci=0.9', '--ci_resamples=20', '--noprogress',
                 f'--out={out_json}')
  assert out.returncode == 0, out.stderr[-3000:]
  table = out.stdout
  for key in ('precision', 'recall', 'density', 'coverage', 'fid_inf', 'mean'):
    assert f' {key} ' in table, table
  got = json.loads(out_json.read_text())['metrics']
  pr, dc = got['precision_recall'], got['density_coverage']
  assert 0 <= pr['precision'] <= 1 and 0 <= pr['recall'] <= 1 and 0 <= dc['coverage'] <= 1
  assert got['fid_inf']['fid_inf'] == pytest.approx(got['fid_inf']['fid_inf'])  # finite
  assert len(got['fid_inf']['counts']) == 15
  kid = got['kid']
  assert kid['ci']['low'] <= kid['mean'] <= kid['ci']['high'] and kid['ci']['ci'] == 0.9


def test_bad_ci_and_too_small_fid_inf_are_refused_before_any_work(gen8):
  out = run_main('evaluate', f'--model={gen8}', '--metrics=fid_inf,precision_recall',
                 '--features=classifier', '--data=digits', '--split=test', '--num_samples=200',
                 '--ci=1.5')
  assert out.returncode == 2, out.stderr[-2000:]
  assert 'fid_inf: the 1/N fit evaluates N from 129 to --num_samples=200, which must be at ' \
         'least 258' in out.stderr, out.stderr
  assert 'precision_recall: --ci must be 0 (no intervals) or a coverage in (0, 1)' in out.stderr
  assert 'features' not in out.stderr.replace('--features', '')  # nothing computed


def test_a_conditional_export_is_sampled_on_the_reals_labels(tmp_path, monkeypatch):
  """evaluate --model on a label_size=10 export feeds it --data's labels (run_eval.RealLabelled),
  as the original evaluates Gs; before, its plain metrics got random one-hot labels."""
  from tf_gans.metrics import run_eval  # pylint: disable=import-outside-toplevel
  keras.utils.set_random_seed(3)
  z, y = keras.Input((8,)), keras.Input((10,))
  h = keras.layers.Dense(64, activation='tanh')(keras.layers.Concatenate()([z, y]))
  g = keras.Model([z, y], keras.layers.Reshape((8, 8, 1))(h))
  path = tmp_path / 'cond'
  savedmodel.export_generator(g, 8, 'normal', (-1.0, 1.0), str(path), label_size=10)
  fed = []
  real_labels_for = run_eval.RealLabelled.labels_for
  monkeypatch.setattr(run_eval.RealLabelled, 'labels_for',
                      lambda self, seed, num: fed.append(real_labels_for(self, seed, num)) or fed[-1])
  out = run_main('evaluate', f'--model={path}', '--metrics=kid', '--features=classifier',
                 '--data=digits', '--split=test', '--num_samples=200', '--classifier_epochs=1',
                 '--noprogress')
  assert out.returncode == 0, out.stderr[-3000:]
  from tf_gans import data as data_lib  # pylint: disable=import-outside-toplevel
  want = np.eye(10, dtype=np.float32)[data_lib.load_source('digits', 'test').labels[:200]]
  np.testing.assert_array_equal(np.concatenate(fed), want)

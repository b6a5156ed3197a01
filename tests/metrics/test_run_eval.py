"""Metrics over a whole run: snapshots kept on schedule, evaluated once each, in metrics.jsonl."""

import json
import os

import numpy as np
import pytest

from tf_gans import families
from tf_gans.data import dataset_writers
from tf_gans.metrics import evaluation
from tf_gans.metrics import protocols
from tf_gans.metrics import run_eval
from tf_gans.progressive import config as config_lib
from tf_gans.progressive import loop as progressive_loop
from tf_gans.gan import loop
from tf_gans.training import snapshots
from tf_gans.gan.config import RunConfig


def quiet(*_, **__):
  pass


def test_snapshot_names_follow_the_original_and_sort_in_training_order(tmp_path):
  assert snapshots.snapshot_name('gan', 1000) == 'snapshot-0001000'
  assert snapshots.snapshot_name('pggan', 600) == 'network-snapshot-000600'
  assert snapshots.snapshot_name('pggan', 0.064) == 'network-snapshot-000000.064'
  d = tmp_path / snapshots.SNAPSHOT_DIR
  d.mkdir()
  for name in ('network-snapshot-000000.128', 'network-snapshot-000001', 'network-snapshot-000000.064'):
    (d / f'{name}.index').write_text('')
  assert [p for p, _ in snapshots.list_snapshots(tmp_path)] == [0.064, 0.128, 1.0]


@pytest.fixture(scope='module')
def gan_run(tmp_path_factory):
  logdir = tmp_path_factory.mktemp('gan_run')
  cfg = RunConfig(logdir=str(logdir), batch_size=20, steps=30, log_every=10, sample_every=30,
                  checkpoint_every=30, snapshot_every=10, num_samples=16, progress=False,
                  export=False, seed=2, keep_checkpoints=1)
  loop.train(cfg, log=quiet)
  return logdir


def parzen_options():
  return evaluation.Options(num_samples=200, progress=False,
                            extra={'sigma': 0.3, 'centres': 'model'})


def test_gan_snapshots_are_kept_beyond_the_checkpoints_and_evaluated_once(gan_run):
  # keep_checkpoints=1 keeps one checkpoint; the snapshots stay for evaluation.
  assert [p for p, _ in snapshots.list_snapshots(gan_run)] == [10, 20, 30]
  assert len([f for f in os.listdir(gan_run / 'checkpoints') if f.endswith('.index')]) == 1
  messages = []
  rows = run_eval.evaluate_run(str(gan_run), ['parzen'], parzen_options(), snapshots='10,30',
                               given=('split',), log=messages.append)
  assert [r['step'] for r in rows] == [10, 30]
  assert all(np.isfinite(r['parzen/mean']) for r in rows)
  assert (gan_run / 'metrics.png').exists()
  assert any(f.startswith('events.out') for f in os.listdir(gan_run / 'tensorboard' / 'metrics'))
  # Again with all snapshots: only step 20 is new; the file keeps one line per snapshot.
  rows = run_eval.evaluate_run(str(gan_run), ['parzen'], parzen_options(), given=('split',),
                               log=messages.append)
  assert [r['step'] for r in rows] == [10, 30, 20]
  assert 'evaluating 1 with parzen' in messages[-2]
  lines = open(gan_run / 'metrics.jsonl').read().splitlines()
  assert [json.loads(line)['step'] for line in lines] == [10, 30, 20]
  # The snapshot at step 30 is the run's final generator: same samples as a fresh restore.
  with pytest.raises(ValueError, match=r'--snapshots: no snapshot at 15; the run has 10, 20, 30'):
    run_eval.evaluate_run(str(gan_run), ['parzen'], parzen_options(), snapshots='15')


def test_run_evaluation_refuses_what_it_cannot_do(tmp_path, gan_run):
  with pytest.raises(FileNotFoundError, match='not a tf_gans run folder'):
    run_eval.evaluate_run(str(tmp_path), ['parzen'], parzen_options())
  bare = tmp_path / 'bare'
  bare.mkdir()
  (bare / 'run.json').write_text(open(gan_run / 'run.json').read())
  with pytest.raises(FileNotFoundError, match='holds no snapshots'):
    run_eval.evaluate_run(str(bare), ['parzen'], parzen_options())


def test_pggan_network_snapshots_every_network_snapshot_tick_evaluated_through_gs(tmp_path):
  rng = np.random.default_rng(0)
  images = np.kron(rng.integers(0, 256, [64, 4, 4, 3]).astype(np.uint8),
                   np.ones([1, 4, 4, 1], np.uint8))
  data = tmp_path / 'blocks'
  dataset_writers.write_arrays(str(data), images, progress=False)
  cfg = config_lib.ProgressiveConfig(
      logdir=str(tmp_path / 'run'), dataset=f'tfrecords:{data}', seed=3, total_kimg=0.192,
      lod_training_kimg=0.032, lod_transition_kimg=0.032, minibatch_base=8, fmap_base=16,
      fmap_max=8, fmap_decay=0.0, tick_kimg_base=0.064, tick_kimg_dict='',
      network_snapshot_ticks=2, progress=False, export=False, mbstd_group_size=4)
  progressive_loop.train(cfg, log=quiet)
  # Ticks at 0.064, 0.128, 0.192: every 2nd tick and the end.
  assert [p for p, _ in snapshots.list_snapshots(cfg.logdir)] == [0.128, 0.192]
  opts = evaluation.Options(num_samples=64, num_reals=64, progress=False)
  rows = run_eval.evaluate_run(cfg.logdir, ['swd'], opts, log=quiet)
  assert [r['kimg'] for r in rows] == [0.128, 0.192]
  for r in rows:  # the run's own data (tfrecords, split train) was used: 16x16 SWD
    assert r['swd/num_images'] == 64 and np.isfinite(r['swd/SWDx1e3_16'])
  # The original's preset through its driver: the reals passes once, one log row per snapshot.
  messages = []
  opts = evaluation.Options(num_images=64, progress=False)
  rows = run_eval.evaluate_run(cfg.logdir, ['swd-16k'], opts, snapshots='0.192',
                               log=messages.append)
  preset_row = [r for r in rows if r.get('metrics') == ['swd-16k']]
  assert len(preset_row) == 1 and any(k.startswith('swd-16k/') for k in preset_row[0])
  log = '\n'.join(messages)
  assert 'Reals2' in log and 'Snapshot' in log and '\n0.192 ' in log
  reals2 = [r for r in rows if r.get('title') == 'Reals2']  # the baseline, kept in the file
  assert len(reals2) == 1 and reals2[0]['swd-16k/SWDx1e3_16'] > 0
  # Gs of the last snapshot is the run's final Gs.
  rg, _ = families.load_generator(cfg.logdir)
  snapshots.restore(snapshots.list_snapshots(cfg.logdir)[-1][1], rg.nets)
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  reader = tf.train.load_checkpoint(os.path.join(cfg.logdir, 'checkpoints'))
  for v in rg.nets['Gs'].trainable_variables[:3]:
    key = [k for k in reader.get_variable_to_shape_map() if k.startswith('Gs/')
           and k.endswith('.ATTRIBUTES/VARIABLE_VALUE') and tuple(reader.get_variable_to_shape_map()[k]) == tuple(v.shape)]
    assert any(np.array_equal(reader.get_tensor(k), v.numpy()) for k in key), v.path


def test_a_failing_metric_keeps_the_other_metrics_and_snapshots(gan_run, tmp_path, monkeypatch):
  import shutil  # pylint: disable=import-outside-toplevel
  logdir = tmp_path / 'run'
  shutil.copytree(gan_run, logdir, ignore=shutil.ignore_patterns('metrics.*', 'tensorboard'))
  calls = []

  def flaky(ev):  # fails on the first snapshot only
    calls.append(len(calls))
    if len(calls) == 1:
      raise RuntimeError('flaky broke')
    return {'value': float(len(calls)), 'num_samples': ev.opt.num_samples}
  monkeypatch.setitem(protocols.METRICS._entries, 'flaky', flaky)  # pylint: disable=protected-access
  failures, messages = [], []
  rows = run_eval.evaluate_run(str(logdir), ['flaky', 'parzen'], parzen_options(),
                               snapshots='10,20', given=('split',), log=messages.append,
                               on_error=lambda *a: failures.append(a))
  assert failures == [(10, 'flaky', 'RuntimeError: flaky broke')]
  assert [r['step'] for r in rows] == [10, 20]
  assert rows[0]['errors'] == {'flaky': 'RuntimeError: flaky broke'}
  assert 'flaky/value' not in rows[0] and np.isfinite(rows[0]['parzen/mean'])  # parzen still ran
  assert 'errors' not in rows[1] and rows[1]['flaky/value'] == 2.0
  assert any('error: step 10: flaky: RuntimeError: flaky broke' in m for m in messages)
  # The failed snapshot is not done: the next call evaluates it again, the good one is skipped.
  rows = run_eval.evaluate_run(str(logdir), ['flaky', 'parzen'], parzen_options(),
                               snapshots='10,20', given=('split',), log=quiet)
  assert [r['step'] for r in rows] == [10, 20, 10] and rows[2]['flaky/value'] == 3.0
  assert 'errors' not in rows[2]


def test_run_evaluation_checks_the_constraints_before_any_snapshot(gan_run, monkeypatch):
  def forbidden(*_, **__):
    raise AssertionError('a snapshot was restored before the constraints were checked')
  monkeypatch.setattr(snapshots, 'restore', forbidden)
  with pytest.raises(ValueError, match=r'swd: .*SWD needs images of at least 16x16'):
    run_eval.evaluate_run(str(gan_run), ['swd', 'parzen'], parzen_options(), given=('split',),
                          log=quiet)


def test_a_metrics_interval_reaches_metrics_jsonl_for_the_study(gan_run, tmp_path):
  """Under --ci the kid row keeps its bootstrap interval (`kid/ci`), which the study's runs.csv
  reads (studies/report.intervals); TensorBoard, the log and the plot take the numbers only."""
  import shutil  # pylint: disable=import-outside-toplevel
  from tf_gans.studies import report  # pylint: disable=import-outside-toplevel
  logdir = tmp_path / 'run'
  shutil.copytree(gan_run, logdir)
  (logdir / run_eval.METRICS_FILE).unlink(missing_ok=True)
  opts = evaluation.Options(data='digits', split='test', num_samples=200, features='classifier',
                            classifier_epochs=1, progress=False, ci=0.9, ci_resamples=10)
  rows = run_eval.evaluate_run(str(logdir), ['kid'], opts, snapshots='30', given=('split',),
                               log=quiet)
  ci = rows[-1]['kid/ci']
  assert ci['ci'] == 0.9 and ci['low'] <= rows[-1]['kid/mean'] <= ci['high']
  assert report.intervals(rows[-1], 'kid') == {'kid/mean': ci}
  assert (logdir / run_eval.METRICS_PLOT).exists()

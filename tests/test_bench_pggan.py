"""The PGGAN forward benchmark compares like with like (same weights, same outputs)."""

import pytest

from tf_gans import bench_pggan


def test_forward_benchmark_times_both_sides_on_the_same_function():
  report = bench_pggan.run([16], batch=2, fmap_base=64, fmap_max=32, rounds=2, iters=1,
                           log=lambda *a, **k: None)
  (r,) = report['results']
  assert r['resolution'] == 16 and r['max_abs_diff'] < 1e-5
  assert len(r['rates_per_round']['ours']) == 2 == len(r['rates_per_round']['official_ports'])
  assert r['ours_images_per_sec'] > 0 and r['official_ports_images_per_sec'] > 0
  assert abs(r['speedup_ours_over_official_ports']
             - r['ours_images_per_sec'] / r['official_ports_images_per_sec']) < 1e-9


@pytest.mark.parametrize('jit', [False, pytest.param(True, marks=pytest.mark.slow)])
def test_train_benchmark_reports_every_phase_for_both_sides(jit):
  report = bench_pggan.run_train(8, [4, 8], batch=4, fmap_base=64, fmap_max=16, rounds=1,
                                 iters=1, log=lambda *a, **k: None, jit=jit)
  assert report['benchmark'] == 'pggan_train'
  assert [r['phase_resolution'] for r in report['results']] == [4, 8]
  for r in report['results']:
    assert r['resolution'] == 8 and r['batch'] == 4
    assert r['ours_images_per_sec'] > 0 and r['official_ports_images_per_sec'] > 0
    assert abs(r['speedup_ours_over_official_ports']
               - r['ours_images_per_sec'] / r['official_ports_images_per_sec']) < 1e-9
    variants = {'ours', 'official_ports'} | ({'ours_xla'} if jit else set())
    assert set(r['first_step_seconds']) == variants
    assert (r.get('ours_xla_images_per_sec', 0) > 0) == jit


def test_metrics_benchmark_compares_the_metric_path_with_bare_predict():
  from tf_gans import bench_metrics  # pylint: disable=import-outside-toplevel
  report = bench_metrics.run(swd_images=8, swd_resolution=32, rounds=1, log=lambda *a, **k: None)
  (feat,) = report['features']
  assert set(feat['images_per_sec']) == {'metric', 'bare_predict'}
  assert feat['overhead'] == 1 - feat['images_per_sec']['metric'] / feat['images_per_sec']['bare_predict']
  assert report['swd']['seconds'] > 0 and set(report['swd']['result']) == {
      'SWDx1e3_32', 'SWDx1e3_16', 'SWDx1e3_avg'}


@pytest.mark.slow
def test_multi_worker_benchmark_times_both_variants(tmp_path):
  from tf_gans import bench_distribute  # pylint: disable=import-outside-toplevel
  report = bench_distribute.run(['--flagfile=configs/quickstart.cfg', '--batch_size=20'],
                                str(tmp_path), short=2, long=12, log=lambda *a, **k: None)
  single, two = report['results']['single_process'], report['results']['two_workers']
  assert single['steps_per_sec'] > 0 and two['steps_per_sec'] > 0
  assert report['two_workers_over_single'] == pytest.approx(
      two['steps_per_sec'] / single['steps_per_sec'])

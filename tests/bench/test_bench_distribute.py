"""The multi-worker benchmark times one process and two workers on the same flags."""

import pytest

from tf_gans.bench import distribute as bench_distribute


@pytest.mark.slow
def test_multi_worker_benchmark_times_both_variants(tmp_path):
  report = bench_distribute.run(['--flagfile=configs/quickstart.cfg', '--batch_size=20'],
                                str(tmp_path), short=2, long=12, log=lambda *a, **k: None)
  single, two = report['results']['single_process'], report['results']['two_workers']
  assert single['steps_per_sec'] > 0 and two['steps_per_sec'] > 0
  assert report['two_workers_over_single'] == pytest.approx(
      two['steps_per_sec'] / single['steps_per_sec'])

"""The metrics benchmark compares the metric code path with a bare Keras predict."""

from tf_gans.bench import metrics as bench_metrics


def test_metrics_benchmark_compares_the_metric_path_with_bare_predict():
  report = bench_metrics.run(swd_images=8, swd_resolution=32, rounds=1, log=lambda *a, **k: None)
  (feat,) = report['features']
  assert set(feat['images_per_sec']) == {'metric', 'bare_predict'}
  assert feat['overhead'] == 1 - feat['images_per_sec']['metric'] / feat['images_per_sec']['bare_predict']
  assert report['swd']['seconds'] > 0 and set(report['swd']['result']) == {
      'SWDx1e3_32', 'SWDx1e3_16', 'SWDx1e3_avg'}


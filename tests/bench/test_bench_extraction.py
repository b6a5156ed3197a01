"""The extraction benchmark's oneDNN rounds and verdict, its memory summary and its refusals
(the timed parts themselves need the Inception weights and minutes: see
docs/results/bench/extraction_onednn.json for a run)."""

import pytest

from inprocess_cli import run_main
from tf_gans.bench import extraction


def _quiet(*_, **__):
  pass


def test_verdict_needs_every_round_and_a_clear_margin():
  assert extraction._verdict([1.0, 1.1, 0.9], [1.5, 1.6, 1.4]) == 'on'
  assert extraction._verdict([1.5, 1.6, 1.4], [1.0, 1.1, 0.9]) == 'off'
  assert extraction._verdict([1.0, 1.0, 1.0], [1.05, 1.05, 1.05]) is None   # under 10%
  assert extraction._verdict([1.0, 1.0, 2.0], [1.5, 1.5, 1.5]) is None      # loses a round


def test_onednn_rounds_alternate_the_order_and_pass_the_setting(monkeypatch):
  calls = []
  speed = {'0': 2.0, '1': 3.0}

  def fake_worker(args, log):
    setting = args['env']['TF_ENABLE_ONEDNN_OPTS']
    calls.append((args['argv'][0], setting))
    return {'rate': speed[setting] + 0.01 * len(calls), 'wall_seconds': 1.0,
            'onednn_on_message': setting == '1'}
  monkeypatch.setattr(extraction, '_worker', fake_worker)
  monkeypatch.setattr(extraction, '_workloads', lambda *a: {
      'w': (['mod_w'], lambda r: r['rate'], 'images/s')})
  report = extraction.onednn('weights.h5', rounds=3, log=_quiet)
  assert [s for _, s in calls] == ['0', '1', '1', '0', '0', '1']
  summary = report['summary']['w']
  assert summary['clearly_faster'] == 'on' and len(summary['on_over_off_per_round']) == 3
  assert summary['off_range'][0] < summary['off_median'] < summary['off_range'][1]
  with pytest.raises(ValueError, match=r"--onednn_workloads: unknown \['nope'\]"):
    extraction.onednn('weights.h5', rounds=1, workloads=['nope'], log=_quiet)


def test_memory_summary_compares_the_two_processes(monkeypatch):
  sizes = []

  def fake_worker(args, log):
    n = int(args['argv'][3])
    sizes.append(n)
    return {'num_images': n, 'peak_rss_mb': 1000.0 + n / 100, 'increase_mb': 20.0 + n / 1000,
            'rss_mb_after': 900.0 + n / 50}
  monkeypatch.setattr(extraction, '_worker', fake_worker)
  report = extraction.memory('weights.h5', num=50, log=_quiet)
  assert sizes == [50, 500]
  assert report['increase_ratio_large_over_small'] == pytest.approx(20.5 / 20.05)
  assert report['peak_rss_ratio_large_over_small'] == pytest.approx(1005 / 1000.5)
  assert report['rss_after_ratio_large_over_small'] == pytest.approx(910 / 901)


def test_extraction_bench_without_weights_is_refused(tmp_path):
  out = run_main('benchmark', '--extraction_bench', f'--inception={tmp_path / "none.h5"}')
  assert out.returncode == 2
  assert '--extraction_bench needs --inception=<weights file>' in out.stderr
  out = run_main('benchmark', '--extraction_bench', '--inception=x.h5', '--onednn_rounds=0')
  assert out.returncode == 2 and '--onednn_rounds' in out.stderr


def test_ratio_rounds_alternate_the_order_after_one_untimed_call_each():
  calls = []
  variants = {'bare_forward': lambda: calls.append('b'),
              'source_features': lambda: calls.append('s')}
  median, rates, first = extraction._paired_rounds(variants, 10, 4, _quiet, 'x')
  assert ''.join(calls) == 'bs' + 'bs' + 'sb' + 'bs' + 'sb'
  assert set(first) == set(median) == set(variants)
  assert all(len(v) == 4 and min(v) > 0 for v in rates.values())

"""The PGGAN forward benchmark compares like with like (same weights, same outputs)."""

import pytest

from tf_gans.bench import pggan as bench_pggan


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
  seen = []  # the partial report after each phase (what --out holds while it runs)
  report = bench_pggan.run_train(8, [4, 8], batch=4, fmap_base=64, fmap_max=16, rounds=1,
                                 iters=1, log=lambda *a, **k: None, jit=jit,
                                 partial=lambda r: seen.append(len(r['results'])))
  assert report['benchmark'] == 'pggan_train' and seen == [1, 2]
  assert [r['phase_resolution'] for r in report['results']] == [4, 8]
  for r in report['results']:
    assert r['resolution'] == 8 and r['batch'] == 4
    assert r['ours_images_per_sec'] > 0 and r['official_ports_images_per_sec'] > 0
    assert abs(r['speedup_ours_over_official_ports']
               - r['ours_images_per_sec'] / r['official_ports_images_per_sec']) < 1e-9
    variants = {'ours', 'official_ports'} | ({'ours_xla'} if jit else set())
    assert set(r['first_step_seconds']) == variants
    assert (r.get('ours_xla_images_per_sec', 0) > 0) == jit



def test_train_benchmark_times_strategy_and_precision_variants_beside_ours():
  # Two logical CPUs (tests/conftest.py): `ours_mirrored` trains the same global batch.
  report = bench_pggan.run_train(4, [4], batch=8, fmap_base=64, fmap_max=16, rounds=1, iters=1,
                                 log=lambda *a, **k: None, jit=False, strategies=['mirrored'],
                                 dtypes=['bfloat16'])
  (r,) = report['results']
  assert set(r['first_step_seconds']) == {'ours', 'official_ports', 'ours_mirrored',
                                          'ours_bfloat16'}
  for name in ('ours_mirrored', 'ours_bfloat16'):
    assert r[f'{name}_over_ours'] == pytest.approx(r[f'{name}_images_per_sec']
                                                   / r['ours_images_per_sec'])


@pytest.mark.slow
def test_multi_worker_benchmark_reports_every_phase(tmp_path):
  report = bench_pggan.multi_worker(8, [4, 8], batch=8, fmap_base=64, fmap_max=16, rounds=1,
                                    iters=1, scratch=str(tmp_path), log=lambda *a, **k: None)
  assert [r['phase_resolution'] for r in report['results']] == [4, 8]
  for r in report['results']:
    assert r['single_process_images_per_sec'] > 0 and r['two_workers_images_per_sec'] > 0
    assert r['two_workers_over_single'] == pytest.approx(
        r['two_workers_images_per_sec'] / r['single_process_images_per_sec'])


def test_op_stage_and_type_names():
  assert bench_pggan.op_type('_MklNativeConv2DBackpropFilter') == 'Conv2DBackpropFilter'
  assert bench_pggan.op_kind('FusedConv2D') == 'conv2d'
  assert bench_pggan.op_kind('Conv2DBackpropInput') == 'backpropinput'
  stage = bench_pggan.op_stage
  assert stage('gradients/GradientPenalty/gradients/D/cond/Conv2D_grad/x') == 'gp_double_backprop'
  assert stage('gradient_tape/gradient_tape/GradientPenalty/D/Conv0/x') == 'gp_double_backprop'
  assert stage('GradientPenalty/gradients/GradientPenalty/D/x') == 'gp_backward'
  assert stage('gradient_tape/GradientPenalty/D/Conv0/x') == 'gp_backward'
  assert stage('GradientPenalty/D/Conv0/x') == 'gp_forward'
  assert stage('gradients_1/G/cond/x') == 'backward' and stage('D/Conv0/x') == 'forward'
  # Inside a TF1 cond's gradient function (its own 'gradients' scope):
  assert stage('gradients/GradientPenalty/D/cond_grad/StatelessIf/then/_7/gradients/a/b') == (
      'gp_backward')
  assert stage('GradientPenalty/gradients/GradientPenalty/D/cond_grad/StatelessIf/then/_2/'
               'gradients/c') == 'gp_backward'
  assert stage('gradients/GradientPenalty/gradients/GradientPenalty/D/cond_grad/StatelessIf_grad/'
               'StatelessIf/then/_3/gradients/d') == 'gp_double_backprop'
  assert stage('gradients/D_1/cond_grad/StatelessIf/then/_7/gradients/cond_grad/x') == 'backward'
  assert stage('Adam/update_D/x/ResourceApplyAdam') == 'optimizer'
  assert stage('cond/then/_1/adam/Sub') == 'optimizer' and stage('GsUpdate/mul_3') == 'gs_ema'


def test_profile_breaks_both_steps_down_by_op_type_and_stage(tmp_path):
  report = bench_pggan.profile_train(4, [4], batch=4, fmap_base=64, fmap_max=16, steps=1,
                                     scratch=str(tmp_path), log=lambda *a, **k: None)
  (r,) = report['results']
  for side in ('ours', 'official_ports'):
    p = r[side]
    assert p['steps'] == 1 and p['wall_ms_per_step'] > 0 and p['op_ms_per_step'] > 0
    assert sum(t['percent'] for t in p['by_kind']) == pytest.approx(100.0)
    stages = {t['name'] for t in p['by_stage']}
    assert {'forward', 'backward', 'gp_forward', 'gp_backward', 'gp_double_backprop',
            'optimizer'} <= stages, stages
    assert any(t['name'].startswith('Conv2D') for t in p['by_op_type'])

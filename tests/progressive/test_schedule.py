"""The PGGAN schedule against the reference formula and its documented consequences."""

import math

import pytest

from tf_gans.progressive import schedule

CELEBAHQ = dict(minibatch_base=4, minibatch_dict={4: 128, 8: 128, 16: 128, 32: 64, 64: 32,
                                                  128: 16, 256: 8, 512: 4},
                max_minibatch_per_gpu={256: 16, 512: 8, 1024: 4},
                G_lrate_dict={1024: 0.0015}, D_lrate_dict={1024: 0.0015})


@pytest.mark.parametrize('kimg, lod', [
    (0, 8.0), (599.9, 8.0), (600, 8.0), (900, 7.5), (1200, 7.0), (1800, 7.0), (2100, 6.5),
    (9000, 1.0), (9300, 0.5), (9600, 0.0), (12000, 0.0)])
def test_lod_from_kimg_at_1024(kimg, lod):
  # Reference: lod 8 for 0-600 kimg, 8 -> 7 over 600-1200, ..., 0 at 9600.
  s = schedule.training_schedule(kimg * 1000, 10)
  assert s.lod == pytest.approx(lod, abs=1e-9)
  assert s.resolution == 2 ** (10 - math.floor(lod))


def test_tables_switch_at_the_start_of_a_fade():
  # Pitfall 11: resolution uses floor(lod), so a fade into 8x8 already uses 8x8's values.
  training = schedule.training_schedule(599_000, 10, **CELEBAHQ)
  fading = schedule.training_schedule(601_000, 10, **CELEBAHQ)
  assert (training.resolution, fading.resolution) == (4, 8)
  top = schedule.training_schedule(9_700_000, 10, **CELEBAHQ)
  assert (top.resolution, top.minibatch, top.G_lrate, top.D_lrate) == (1024, 4, 0.0015, 0.0015)
  assert top.tick_kimg == 10 and training.tick_kimg == 160
  assert schedule.training_schedule(0, 10, **CELEBAHQ).G_lrate == 0.001  # the base rate


def test_minibatch_per_gpu_rules():
  s = schedule.training_schedule(8_500_000, 10, num_gpus=3, **CELEBAHQ)  # 512x512
  assert s.resolution == 512 and s.minibatch == 3  # 4 - 4 % 3 = 3, cap 8 * 3
  s = schedule.training_schedule(0, 10, num_gpus=3, **CELEBAHQ)
  assert s.minibatch == 126  # 128 - 128 % 3
  s = schedule.training_schedule(7_300_000, 10, num_gpus=1, minibatch_base=16,
                                 max_minibatch_per_gpu={256: 6})
  assert s.resolution == 256 and s.minibatch == 6


def test_initial_resolution_and_zero_transition():
  s = schedule.training_schedule(0, 5, lod_initial_resolution=8, lod_training_kimg=10,
                                 lod_transition_kimg=0)
  assert s.lod == 2.0 and s.resolution == 8
  assert schedule.training_schedule(10_000, 5, lod_initial_resolution=8, lod_training_kimg=10,
                                    lod_transition_kimg=0).lod == 1.0
  assert schedule.training_schedule(0, 5, lod_training_kimg=0, lod_transition_kimg=0).lod == 3.0


def test_full_resolution_kimg():
  assert schedule.full_resolution_kimg(10, 4, 600, 600) == 9600
  assert schedule.full_resolution_kimg(5, 4, 10, 10) == 60
  assert schedule.full_resolution_kimg(5, 32, 10, 10) == 0


def test_optimizer_reset_key_changes_at_fade_start_and_end():
  keys = [schedule.opt_reset_key(schedule.training_schedule(k * 1000, 10).lod)
          for k in (0, 599, 601, 1199, 1200, 1201)]
  assert keys[0] == keys[1] != keys[2] == keys[3] != keys[4] == keys[5]

"""The PGGAN training schedule: lod, minibatch and learning rates from kimg.

Reference: the official github.com/tkarras/progressive_growing_of_gans
`train.py`, class `TrainingSchedule`, as `train_progressive_gan` calls it.
With kimg = cur_nimg / 1000 (real images shown to D so far):

  phase_dur = lod_training_kimg + lod_transition_kimg
  phase_idx = floor(kimg / phase_dur), phase_kimg = kimg - phase_idx * phase_dur
  lod = R - floor(log2(lod_initial_resolution)) - phase_idx
        - max(phase_kimg - lod_training_kimg, 0) / lod_transition_kimg, >= 0
  resolution = 2 ** (R - floor(lod))

so every phase trains at a fixed lod and then fades to the next one, and the
per-resolution tables are looked up at the new, higher resolution from the
start of a fade. The minibatch loses `minibatch % num_gpus` and is capped at
`max_minibatch_per_gpu[res] * num_gpus`; unknown resolutions take the base
values. Paper section 3 / appendix A.1 describe the same schedule in words.
"""

import dataclasses
import math

# `TrainingSchedule`'s tick_kimg_dict, in kimg (a tick = one log line and one image grid).
TICK_KIMG_DICT = {4: 160, 8: 140, 16: 120, 32: 100, 64: 80, 128: 60, 256: 40, 512: 20, 1024: 10}


@dataclasses.dataclass(frozen=True)
class Schedule:
  """The schedule's values at one point of training."""
  kimg: float
  lod: float
  resolution: int
  minibatch: int
  G_lrate: float  # pylint: disable=invalid-name
  D_lrate: float  # pylint: disable=invalid-name
  tick_kimg: float


def training_schedule(cur_nimg, resolution_log2, num_gpus=1, lod_initial_resolution=4,
                      lod_training_kimg=600, lod_transition_kimg=600, minibatch_base=16,
                      minibatch_dict=None, max_minibatch_per_gpu=None, G_lrate_base=0.001,
                      G_lrate_dict=None, D_lrate_base=0.001, D_lrate_dict=None,
                      tick_kimg_base=160, tick_kimg_dict=None):
  """The reference `TrainingSchedule` at `cur_nimg` images (argument names as there)."""
  # pylint: disable=invalid-name
  kimg = cur_nimg / 1000.0
  phase_dur = lod_training_kimg + lod_transition_kimg
  phase_idx = int(math.floor(kimg / phase_dur)) if phase_dur > 0 else 0
  phase_kimg = kimg - phase_idx * phase_dur
  lod = resolution_log2 - int(math.floor(math.log2(lod_initial_resolution))) - phase_idx
  if lod_transition_kimg > 0:
    lod -= max(phase_kimg - lod_training_kimg, 0.0) / lod_transition_kimg
  lod = max(lod, 0.0)
  resolution = 2 ** (resolution_log2 - int(math.floor(lod)))
  minibatch = minibatch_at(resolution, num_gpus, minibatch_base, minibatch_dict,
                           max_minibatch_per_gpu)
  ticks = TICK_KIMG_DICT if tick_kimg_dict is None else tick_kimg_dict
  return Schedule(kimg=kimg, lod=float(lod), resolution=resolution, minibatch=minibatch,
                  G_lrate=(G_lrate_dict or {}).get(resolution, G_lrate_base),
                  D_lrate=(D_lrate_dict or {}).get(resolution, D_lrate_base),
                  tick_kimg=ticks.get(resolution, tick_kimg_base))


def minibatch_at(resolution, num_gpus=1, minibatch_base=16, minibatch_dict=None,
                 max_minibatch_per_gpu=None):
  """`TrainingSchedule`'s minibatch at a resolution: the table's (or the base), less
  `minibatch % num_gpus`, capped at `max_minibatch_per_gpu[res] * num_gpus`."""
  minibatch = (minibatch_dict or {}).get(resolution, minibatch_base)
  minibatch -= minibatch % num_gpus
  cap = (max_minibatch_per_gpu or {}).get(resolution)
  if cap is not None:
    minibatch = min(minibatch, cap * num_gpus)
  return minibatch


def opt_reset_key(lod):
  """Adam is reset whenever floor(lod) or ceil(lod) changes (`train_progressive_gan`)."""
  return (math.floor(lod), math.ceil(lod))


def full_resolution_kimg(resolution_log2, lod_initial_resolution=4, lod_training_kimg=600,
                         lod_transition_kimg=600):
  """kimg at which lod reaches 0: (R - log2(initial res)) * (training + transition)."""
  phases = resolution_log2 - int(math.floor(math.log2(lod_initial_resolution)))
  return max(phases, 0) * (lod_training_kimg + lod_transition_kimg)

"""`ProgressiveConfig`: a PGGAN training run, saved as `<logdir>/run.json` (family pggan).

Field names and defaults are the arguments of the original code
(github.com/tkarras/progressive_growing_of_gans): `train.py`
`train_progressive_gan` and `TrainingSchedule`, `networks.py` `G_paper` /
`D_paper`, `loss.py` `D_wgangp_acgan`; the `configs/pggan_*.cfg` flag files
set what the original `config.py` sets. Per-resolution tables are
strings `res:value,res:value` (e.g. `--minibatch_dict=4:128,8:128`).
"""

import dataclasses
import math

from tf_gans.progressive import schedule as schedule_lib
from tf_gans.training.runfile import RUN_FILE, RunFileMixin  # pylint: disable=unused-import

# Fields that may change on --resume (they do not change the weights' trajectory).
RESUME_OVERRIDABLE = ('logdir', 'total_kimg', 'image_snapshot_ticks', 'network_snapshot_ticks',
                      'keep_checkpoints', 'progress', 'progress_every_s', 'export', 'dataset', 'data_dir',
                      'allow_partial_schedule', 'strategy', 'jit_compile')
# Fields that define the networks' variables.
ARCHITECTURE = ('fmap_base', 'fmap_decay', 'fmap_max', 'latent_size', 'fused_scale',
                'mbstd_group_size', 'use_wscale', 'max_label_size')


@dataclasses.dataclass
class ProgressiveConfig(RunFileMixin):
  """A progressive training run (reference names)."""
  # pylint: disable=invalid-name
  FAMILY = 'pggan'
  RESUME_OVERRIDABLE = RESUME_OVERRIDABLE
  ARCHITECTURE = ARCHITECTURE
  logdir: str
  dataset: str = 'tfrecords:datasets/celebahq'
  split: str = 'train'
  pad_to: int = 0
  data_dir: str = ''
  max_label_size: int = 0          # 0: unconditional; -1: all the dataset's labels
  mirror_augment: bool = False
  seed: int = 1000
  total_kimg: float = 15000
  lod_initial_resolution: int = 4
  lod_training_kimg: float = 600
  lod_transition_kimg: float = 600
  minibatch_base: int = 16
  minibatch_dict: str = ''
  max_minibatch_per_gpu: str = ''
  G_lrate_base: float = 0.001
  D_lrate_base: float = 0.001
  G_lrate_dict: str = ''
  D_lrate_dict: str = ''
  tick_kimg_base: float = 160
  tick_kimg_dict: str = '4:160,8:140,16:120,32:100,64:80,128:60,256:40,512:20,1024:10'
  G_smoothing: float = 0.999
  D_repeats: int = 1
  minibatch_repeats: int = 4
  reset_opt_for_new_lod: bool = True
  fmap_base: int = 8192
  fmap_decay: float = 1.0
  fmap_max: int = 512
  latent_size: int = 0             # 0: nf(0), the reference's None
  fused_scale: bool = True
  mbstd_group_size: int = 4
  use_wscale: bool = True
  dtype: str = 'float32'           # compute dtype; 'float16' adds the reference's loss scaling
  strategy: str = 'default'        # tf.distribute strategy (tf_gans.training.strategy)
  jit_compile: bool = False        # XLA for the train steps (a GPU feature)
  wgan_lambda: float = 10.0
  wgan_epsilon: float = 0.001
  wgan_target: float = 1.0
  cond_weight: float = 1.0
  image_snapshot_ticks: int = 1
  network_snapshot_ticks: int = 10
  keep_checkpoints: int = 3
  allow_partial_schedule: bool = False
  resume_pkl: str = ''             # start from an original network pickle (G, D, Gs)
  resume_kimg: float = 0.0         # ... as if K kimg were done (the schedule continues there)
  progress: bool = True
  progress_every_s: float = 30.0   # plain progress lines when not on a terminal
  export: bool = True

  def tables(self):
    """The per-resolution tables as dicts {resolution: value}."""
    return {name: parse_table(name, getattr(self, name), float if 'lrate' in name or
                              'kimg' in name else int)
            for name in ('minibatch_dict', 'max_minibatch_per_gpu', 'G_lrate_dict',
                         'D_lrate_dict', 'tick_kimg_dict')}

  def validate(self):
    """Raises ValueError naming the flag and what it expects."""
    for name in ('minibatch_base', 'D_repeats', 'minibatch_repeats', 'image_snapshot_ticks',
                 'network_snapshot_ticks', 'keep_checkpoints', 'fmap_base', 'fmap_max'):
      if getattr(self, name) < 1:
        raise ValueError(f'--{name} must be >= 1, got {getattr(self, name)}.')
    for name in ('total_kimg', 'lod_training_kimg', 'lod_transition_kimg', 'G_lrate_base',
                 'D_lrate_base', 'wgan_lambda', 'wgan_epsilon'):
      if getattr(self, name) < 0:
        raise ValueError(f'--{name} must be >= 0, got {getattr(self, name)}.')
    if self.resume_kimg < 0:
      raise ValueError(f'--resume_kimg must be >= 0, got {self.resume_kimg}.')
    if self.resume_kimg and not self.resume_pkl:
      raise ValueError('--resume_kimg applies to --resume_pkl (a run continued from an original '
                       'network pickle); pass both. To continue a tf_gans run, use --resume.')
    if not 0 <= self.G_smoothing < 1:
      raise ValueError(f'--G_smoothing must be in [0, 1), got {self.G_smoothing}.')
    if self.wgan_target <= 0:
      raise ValueError(f'--wgan_target must be > 0, got {self.wgan_target}.')
    if self.dtype not in ('float32', 'float16', 'bfloat16'):
      raise ValueError(f'--dtype must be float32, float16 or bfloat16, got {self.dtype!r}.')
    r = self.lod_initial_resolution
    if r < 4 or r & (r - 1):
      raise ValueError(f'--lod_initial_resolution must be a power of 2 >= 4, got {r}.')
    self.tables()
    return self

  def check_schedule(self, resolution_log2, dataset_name):
    """Refuses a schedule that ends before full resolution (unless allowed)."""
    if 2 ** resolution_log2 < self.lod_initial_resolution:
      raise ValueError(f'--lod_initial_resolution={self.lod_initial_resolution} exceeds the '
                       f'resolution of {dataset_name} ({2 ** resolution_log2}).')
    full = schedule_lib.full_resolution_kimg(resolution_log2, self.lod_initial_resolution,
                                             self.lod_training_kimg, self.lod_transition_kimg)
    if self.total_kimg < full and not self.allow_partial_schedule:
      raise ValueError(
          f'--total_kimg={self.total_kimg:g} ends before the schedule reaches full resolution '
          f'({2 ** resolution_log2}x{2 ** resolution_log2} of {dataset_name} at {full:g} kimg: '
          f'(log2 {2 ** resolution_log2} - log2 {self.lod_initial_resolution}) phases x '
          f'(lod_training_kimg + lod_transition_kimg)). Raise --total_kimg or pass '
          f'--allow_partial_schedule.')

  def network_kwargs(self, dataset):
    """(G_paper kwargs, D_paper kwargs) for a dataset."""
    label_size = dataset.label_size if self.max_label_size < 0 else min(
        dataset.label_size, self.max_label_size)
    common = dict(num_channels=dataset.num_channels, resolution=2 ** dataset.resolution_log2,
                  label_size=label_size, fmap_base=self.fmap_base, fmap_decay=self.fmap_decay,
                  fmap_max=self.fmap_max, use_wscale=self.use_wscale,
                  fused_scale=self.fused_scale)
    common['dtype'] = self.dtype
    g = dict(common, latent_size=self.latent_size or None)
    if self.dtype == 'float16':  # the reference's fp16 preset: G.pixelnorm_epsilon = 1e-4
      g['pixelnorm_epsilon'] = 1e-4
    d = dict(common, mbstd_group_size=self.mbstd_group_size)
    return g, d

  def check_minibatch(self, sched, replicas):
    """Refuses a schedule minibatch that the replicas or minibatch stddev cannot split."""
    per_replica = sched.minibatch // replicas
    if per_replica < 1:
      raise ValueError(f'the minibatch at {sched.resolution}x{sched.resolution} '
                       f'({sched.minibatch}) leaves nothing for each of {replicas} replicas; '
                       f'raise --minibatch_dict / --minibatch_base.')
    group = min(self.mbstd_group_size, per_replica)
    if self.mbstd_group_size > 1 and per_replica % group:
      raise ValueError(f'the minibatch at {sched.resolution}x{sched.resolution} gives '
                       f'{per_replica} images per replica ({sched.minibatch} over {replicas}), '
                       f'not a multiple of --mbstd_group_size={self.mbstd_group_size}; change '
                       f'--minibatch_dict / --max_minibatch_per_gpu or the group size.')

  def schedule(self, cur_nimg, resolution_log2, num_gpus=1):
    t = self.tables()
    return schedule_lib.training_schedule(
        cur_nimg, resolution_log2, num_gpus=num_gpus,
        lod_initial_resolution=self.lod_initial_resolution,
        lod_training_kimg=self.lod_training_kimg, lod_transition_kimg=self.lod_transition_kimg,
        minibatch_base=self.minibatch_base, minibatch_dict=t['minibatch_dict'],
        max_minibatch_per_gpu=t['max_minibatch_per_gpu'], G_lrate_base=self.G_lrate_base,
        G_lrate_dict=t['G_lrate_dict'], D_lrate_base=self.D_lrate_base,
        D_lrate_dict=t['D_lrate_dict'], tick_kimg_base=self.tick_kimg_base,
        tick_kimg_dict=t['tick_kimg_dict'])


def parse_table(name, text, value_type):
  """'4:128,8:64' -> {4: 128, 8: 64}; errors name the flag."""
  table = {}
  for item in filter(None, (t.strip() for t in (text or '').split(','))):
    try:
      res, value = item.split(':')
      res, value = int(res), value_type(value)
    except ValueError:
      raise ValueError(f'--{name}: expected res:value pairs such as 4:128,8:64, got '
                       f'{item!r} in {text!r}.') from None
    if res < 4 or res & (res - 1):
      raise ValueError(f'--{name}: resolution {res} is not a power of 2 >= 4 (in {text!r}).')
    if not value > 0 or (isinstance(value, float) and math.isinf(value)):
      raise ValueError(f'--{name}: value for {res} must be > 0, got {value}.')
    table[res] = value
  return table

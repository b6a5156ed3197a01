"""`ProgressiveConfig`: a PGGAN training run, saved as `<logdir>/run.json` (family pggan).

Field names and defaults are the arguments of the original code
(github.com/tkarras/progressive_growing_of_gans): `train.py`
`train_progressive_gan` and `TrainingSchedule`, `networks.py` `G_paper` /
`D_paper`, `loss.py` `D_wgangp_acgan`; the `configs/pggan_*.cfg` flag files
set what the original `config.py` sets, and each of its switches is a field
(`-nopixelnorm` is `--nouse_pixelnorm`, `-nogrowing` is
`--lod_initial_resolution` = the dataset's resolution; the help texts name
them); `configs/pggan_table1/` holds the paper's Table 1 rows the code can
express. Per-resolution tables are strings `res:value,res:value` (e.g.
`--minibatch_dict=4:128,8:128`). Each field is a `tf_gans.train` flag, its
help text beside it (`tf_gans.flags`).
"""

import dataclasses
import math

from tf_gans.progressive import schedule as schedule_lib
from tf_gans.training import precision
from tf_gans.training.runfile import RunFileMixin, field

# Fields that may change on --resume (they do not change the weights' trajectory).
# skip_nonfinite_steps: a run that stopped on a non-finite step may go on from its last
# checkpoint skipping such updates (finite steps are the same either way).
RESUME_OVERRIDABLE = ('logdir', 'total_kimg', 'image_snapshot_ticks', 'network_snapshot_ticks',
                      'keep_checkpoints', 'progress', 'progress_every_s', 'export', 'dataset', 'data_dir',
                      'allow_partial_schedule', 'strategy', 'jit_compile',
                      'skip_nonfinite_steps')
# The per-resolution tables ('res:value,...').
TABLES = ('minibatch_dict', 'max_minibatch_per_gpu', 'G_lrate_dict', 'D_lrate_dict',
          'tick_kimg_dict')
# Fields that define the networks (G_paper / D_paper arguments): their variables, or
# the function of the same variables (pixel norm, activation, latent normalisation).
ARCHITECTURE = ('fmap_base', 'fmap_decay', 'fmap_max', 'latent_size', 'fused_scale',
                'mbstd_group_size', 'use_wscale', 'use_pixelnorm', 'pixelnorm_epsilon',
                'use_leakyrelu', 'normalize_latents', 'max_label_size')


@dataclasses.dataclass
class ProgressiveConfig(RunFileMixin):
  """A progressive training run (reference names)."""
  # pylint: disable=invalid-name
  FAMILY = 'pggan'
  RESUME_OVERRIDABLE = RESUME_OVERRIDABLE
  ARCHITECTURE = ARCHITECTURE
  logdir: str = field(dataclasses.MISSING, 'Run folder: checkpoints, samples, TensorBoard, export.')
  dataset: str = field('tfrecords:datasets/celebahq', 'Data (PGGAN: tfrecords:<dir> as the '
                       'original dataset_tool writes, or any in-memory source).')
  split: str = field('train', 'Split, optionally sliced: train, test, train[:9000].')
  pad_to: int = field(0, 'Zero-pad images to this square size (MNIST 28 -> 32).')
  data_dir: str = field('', "TFDS data_dir for tfds:<name> (default: TFDS's).")
  max_label_size: int = field(0, 'Labels used from the dataset (0: unconditional, -1: all the '
                              "dataset's labels; original dataset.max_label_size, config.py "
                              "-cond = -1 ('full'), -cond1 = 1).")
  mirror_augment: bool = field(False, 'Flip reals along the width with p = 0.5 (original '
                               'mirror_augment).')
  seed: int = field(1000, 'Seeds initialisation, noise and data order (original random_seed 1000).')
  total_kimg: float = field(15000, 'Training length in thousands of real images shown to D.')
  lod_initial_resolution: int = field(4, 'Resolution of the first phase (original '
                                      'TrainingSchedule(lod_initial_resolution=...)); the '
                                      "dataset's resolution trains at full resolution from the "
                                      'start, no growing (config.py -nogrowing: 1024, with '
                                      'lod_training_kimg = lod_transition_kimg = 0).')
  lod_training_kimg: float = field(600, 'kimg per phase at a fixed lod.')
  lod_transition_kimg: float = field(600, 'kimg per fade-in to the next resolution.')
  minibatch_base: int = field(16, 'Minibatch for resolutions not in --minibatch_dict.')
  minibatch_dict: str = field('', 'Minibatch per resolution, res:mb pairs (4:128,8:128,...).')
  max_minibatch_per_gpu: str = field('', 'Cap on the per-replica minibatch per resolution '
                                     '(256:16,...).')
  G_lrate_base: float = field(0.001, 'G learning rate for resolutions not in --G_lrate_dict.')
  D_lrate_base: float = field(0.001, 'D learning rate for resolutions not in --D_lrate_dict.')
  G_lrate_dict: str = field('', 'G learning rate per resolution (1024:0.0015).')
  D_lrate_dict: str = field('', 'D learning rate per resolution.')
  tick_kimg_base: float = field(160, 'Tick length (kimg) for resolutions not in --tick_kimg_dict.')
  tick_kimg_dict: str = field('4:160,8:140,16:120,32:100,64:80,128:60,256:40,512:20,1024:10', 'Tick'
                              ' length per resolution (log line, image grid).')
  G_smoothing: float = field(0.999, 'Gs = moving average of G with this beta per D step (0: Gs = '
                             'G; original train_progressive_gan(G_smoothing=...), config.py '
                             '-nosmoothing: 0).')
  D_repeats: int = field(1, 'D updates per G update.')
  minibatch_repeats: int = field(4, 'Minibatches per schedule evaluation (lod and lr frozen '
                                 'meanwhile; config.py -norepeat: 1).')
  reset_opt_for_new_lod: bool = field(True, 'Reset Adam whenever floor(lod) or ceil(lod) changes '
                                      '(config.py -noreset: --noreset_opt_for_new_lod).')
  fmap_base: int = field(8192, 'G_paper/D_paper fmap_base.')
  fmap_decay: float = field(1.0, 'G_paper/D_paper fmap_decay.')
  fmap_max: int = field(512, 'G_paper/D_paper fmap_max.')
  latent_size: int = field(0, "G latent size (0: nf(0), the reference's None).")
  fused_scale: bool = field(True, 'Fused upscale/downscale convolutions in G and D (networks.py '
                            "G_paper/D_paper(fused_scale=...); the original's converted Theano "
                            'networks: False).')
  mbstd_group_size: int = field(4, 'D minibatch-stddev group size, <= 1: off (networks.py '
                                'D_paper(mbstd_group_size=...); config.py -preset-v1-1gpu: 16).')
  use_wscale: bool = field(True, "Equalized learning rate: N(0, 1) weights scaled by He's "
                           'constant at run time, else He-initialised weights used as they are '
                           '(networks.py G_paper/D_paper(use_wscale=...); config.py -nowscale: '
                           '--nouse_wscale).')
  use_pixelnorm: bool = field(True, "Pixelwise feature normalisation after each of G's conv / "
                              'dense layers (networks.py G_paper(use_pixelnorm=...); config.py '
                              '-nopixelnorm: --nouse_pixelnorm).')
  pixelnorm_epsilon: float = field(0.0, "G's pixel-norm epsilon (networks.py "
                                   "G_paper(pixelnorm_epsilon=...)); 0: the original's, 1e-8, or "
                                   '1e-4 with --dtype=float16 as config.py -fp16 sets it.')
  use_leakyrelu: bool = field(True, "G's activation: leaky ReLU 0.2, else ReLU; D always uses "
                              'leaky ReLU (networks.py G_paper(use_leakyrelu=...); config.py '
                              '-noleakyrelu: --nouse_leakyrelu).')
  normalize_latents: bool = field(True, "Normalise G's input (latents and labels) onto the unit "
                                  'hypersphere (networks.py G_paper(normalize_latents=...)).')
  dtype: str = field('float32', "Compute precision (see --dtype); float16 adds the reference's "
                     'loss scaling.')
  strategy: str = field('default', 'tf.distribute strategy (see --strategy).')
  jit_compile: bool = field(False, 'XLA for the train steps (a GPU feature).')
  wgan_lambda: float = field(10.0, 'WGAN-GP lambda.')
  wgan_epsilon: float = field(0.001, 'Drift term weight (eps * D(x)^2).')
  wgan_target: float = field(1.0, 'WGAN-GP target gradient norm (gamma).')
  cond_weight: float = field(1.0, 'AC-GAN label loss weight.')
  skip_nonfinite_steps: bool = field(False, 'Skip a D or G update whose gradients are not all '
                                     'finite and go on, as the original code does (tfutil.py '
                                     'Optimizer.apply_updates: tf.cond(grad_ok, apply, no-op); '
                                     "Adam's moments and step count stay); the skipped updates "
                                     'are counted in the progress line and history.csv. '
                                     'Default: a non-finite float32 step stops the run '
                                     '(DivergenceError). May be added on --resume.')
  image_snapshot_ticks: int = field(1, 'Ticks between Gs image grids (fakesKKKKKK.png).')
  network_snapshot_ticks: int = field(10, 'Ticks between checkpoints and network snapshots '
                                      '(snapshots/).')
  keep_checkpoints: int = field(3, 'Checkpoints to keep.')
  allow_partial_schedule: bool = field(False, 'Allow --total_kimg to end before full resolution.')
  resume_pkl: str = field('', 'Start from an original network pickle (G, D, Gs), e.g. a '
                          'network-snapshot-KKKKKK.pkl of the original code (original '
                          'resume_snapshot).')
  resume_kimg: float = field(0.0, 'With --resume_pkl: the kimg the schedule continues from '
                             '(original resume_kimg).')
  progress: bool = field(True, 'Show a progress line (rate, ETA, losses).')
  progress_every_s: float = field(30.0, 'Seconds between progress lines when the output is a file '
                                  'or pipe.')
  export: bool = field(True, 'Export the Gs SavedModel at the end.')

  def __post_init__(self):
    self.dtype = precision.canonical(self.dtype)  # one spelling from here on

  def tables(self):
    """The per-resolution tables as dicts {resolution: value}, parsed once per config
    value (the loop asks every round)."""
    key = tuple(getattr(self, name) for name in TABLES)
    if getattr(self, '_tables_key', None) != key:
      self._tables = {name: parse_table(name, getattr(self, name), float if 'lrate' in name or
                                        'kimg' in name else int) for name in TABLES}
      self._tables_key = key
    return self._tables

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
    if self.pixelnorm_epsilon < 0:
      raise ValueError(f"--pixelnorm_epsilon must be >= 0 (0: the original's), got "
                       f'{self.pixelnorm_epsilon}.')
    if self.max_label_size < -1:
      raise ValueError(f'--max_label_size must be >= -1 (-1: all labels), got '
                       f'{self.max_label_size}.')
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
    """(G_paper kwargs, D_paper kwargs) for a dataset: every network switch of the run
    (the original `config.py` sets the same ones through its `G` and `D` dicts)."""
    label_size = dataset.label_size if self.max_label_size < 0 else min(
        dataset.label_size, self.max_label_size)
    common = dict(num_channels=dataset.num_channels, resolution=2 ** dataset.resolution_log2,
                  label_size=label_size, fmap_base=self.fmap_base, fmap_decay=self.fmap_decay,
                  fmap_max=self.fmap_max, use_wscale=self.use_wscale,
                  fused_scale=self.fused_scale, dtype=self.dtype)
    g = dict(common, latent_size=self.latent_size or None,
             normalize_latents=self.normalize_latents, use_pixelnorm=self.use_pixelnorm,
             pixelnorm_epsilon=self.resolved_pixelnorm_epsilon(),
             use_leakyrelu=self.use_leakyrelu)
    d = dict(common, mbstd_group_size=self.mbstd_group_size)
    return g, d

  def resolved_pixelnorm_epsilon(self):
    """--pixelnorm_epsilon, or the original's when 0: G_paper's 1e-8, and 1e-4 in float16
    (config.py -fp16: G.pixelnorm_epsilon = 1e-4)."""
    if self.pixelnorm_epsilon:
      return self.pixelnorm_epsilon
    return 1e-4 if self.dtype == 'float16' else 1e-8

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

  def minibatches(self, resolution_log2, num_gpus=1):
    """The minibatches the schedule can take, one per resolution 4 .. 2**resolution_log2."""
    t = self.tables()
    return sorted({schedule_lib.minibatch_at(2 ** r, num_gpus, self.minibatch_base,
                                             t['minibatch_dict'], t['max_minibatch_per_gpu'])
                   for r in range(2, resolution_log2 + 1)})


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

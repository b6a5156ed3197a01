"""The PGGAN flags of `tf_gans.train` (`--model=pggan`), one per `ProgressiveConfig` field.

Fields that the GAN/RGAN flags already define (logdir, dataset, split, pad_to,
data_dir, seed, keep_checkpoints, progress, export) are shared. Help texts name
the reference argument each flag sets (shared/reference/pggan.md section 6).
"""

import dataclasses

from absl import flags

from tf_gans.progressive.config import ProgressiveConfig

FLAGS = flags.FLAGS
SHARED = ('logdir', 'dataset', 'split', 'pad_to', 'data_dir', 'seed', 'keep_checkpoints',
          'progress', 'export', 'strategy', 'jit_compile')
HELP = {
    'max_label_size': 'Labels used from the dataset (0: unconditional, -1: all; reference max_label_size).',
    'mirror_augment': 'Flip reals along the width with p = 0.5 (reference mirror_augment).',
    'total_kimg': 'Training length in thousands of real images shown to D.',
    'lod_initial_resolution': 'Resolution of the first phase.',
    'lod_training_kimg': 'kimg per phase at a fixed lod.',
    'lod_transition_kimg': 'kimg per fade-in to the next resolution.',
    'minibatch_base': 'Minibatch for resolutions not in --minibatch_dict.',
    'minibatch_dict': 'Minibatch per resolution, res:mb pairs (4:128,8:128,...).',
    'max_minibatch_per_gpu': 'Cap on the per-replica minibatch per resolution (256:16,...).',
    'G_lrate_base': 'G learning rate for resolutions not in --G_lrate_dict.',
    'D_lrate_base': 'D learning rate for resolutions not in --D_lrate_dict.',
    'G_lrate_dict': 'G learning rate per resolution (1024:0.0015).',
    'D_lrate_dict': 'D learning rate per resolution.',
    'tick_kimg_base': 'Tick length (kimg) for resolutions not in --tick_kimg_dict.',
    'tick_kimg_dict': 'Tick length per resolution (log line, image grid).',
    'G_smoothing': 'Gs = moving average of G with this beta per D step (0: Gs = G).',
    'D_repeats': 'D updates per G update.',
    'minibatch_repeats': 'Minibatches per schedule evaluation (lod and lr frozen meanwhile).',
    'reset_opt_for_new_lod': 'Reset Adam whenever floor(lod) or ceil(lod) changes.',
    'fmap_base': 'G_paper/D_paper fmap_base.', 'fmap_decay': 'G_paper/D_paper fmap_decay.',
    'fmap_max': 'G_paper/D_paper fmap_max.', 'latent_size': 'G latent size (0: nf(0)).',
    'fused_scale': 'Fused upscale/downscale convolutions in G and D.',
    'mbstd_group_size': 'D minibatch-stddev group size (<= 1: off).',
    'use_wscale': 'Equalized learning rate (runtime weight scaling).',
    'dtype': 'G/D compute dtype: float32, float16 (the reference\'s fp16 preset: loss scaling '
             'from 2^64, pixelnorm eps 1e-4; a GPU feature) or bfloat16 (float32 variables).',
    'wgan_lambda': 'WGAN-GP lambda.', 'wgan_epsilon': 'Drift term weight (eps * D(x)^2).',
    'wgan_target': 'WGAN-GP target gradient norm (gamma).',
    'cond_weight': 'AC-GAN label loss weight.',
    'image_snapshot_ticks': 'Ticks between Gs image grids (fakesKKKKKK.png).',
    'network_snapshot_ticks': 'Ticks between checkpoints.',
    'allow_partial_schedule': 'Allow --total_kimg to end before full resolution.',
}


def define_progressive_flags():
  for field in dataclasses.fields(ProgressiveConfig):
    if field.name in SHARED:
      continue
    define = {bool: flags.DEFINE_bool, int: flags.DEFINE_integer, float: flags.DEFINE_float,
              str: flags.DEFINE_string}[field.type]  # the annotation: 600 kimg is a float
    define(field.name, field.default, f'[--model=pggan] {HELP[field.name]}')
  flags.DEFINE_integer('resolution', 0, '[--model=pggan] Expected dataset resolution (0: the '
                       'dataset\'s); --smoke uses it for built-in data when the dataset is absent.')
  flags.DEFINE_bool('smoke', False, '[--model=pggan] Tiny networks (8 fmaps), a few minibatches '
                    'per phase: every lod transition up to full resolution in minutes; built-in '
                    'photo crops when the dataset is absent.')


# --mixed_precision (the GAN flag) as PGGAN's --dtype: both mean float32 variables
# and this compute dtype; float16 brings the reference's loss scaling.
MIXED_PRECISION_DTYPES = {'': 'float32', 'mixed_float16': 'float16', 'mixed_bfloat16': 'bfloat16'}


def progressive_config_from_flags():
  """(ProgressiveConfig, names given explicitly)."""
  # A shared flag left unset takes the PGGAN default (e.g. the reference's seed 1000),
  # not the GAN trainer's.
  values = {f.name: f.default if f.name in SHARED and not FLAGS[f.name].present
            and f.default is not dataclasses.MISSING else FLAGS[f.name].value
            for f in dataclasses.fields(ProgressiveConfig)}
  explicit = tuple(f.name for f in dataclasses.fields(ProgressiveConfig) if FLAGS[f.name].present)
  if FLAGS['mixed_precision'].present:
    policy = FLAGS.mixed_precision
    if policy not in MIXED_PRECISION_DTYPES:
      raise ValueError(f'--mixed_precision must be mixed_float16 or mixed_bfloat16 (or empty), '
                       f'got {policy!r}.')
    dtype = MIXED_PRECISION_DTYPES[policy]
    if 'dtype' in explicit and values['dtype'] != dtype:
      raise ValueError(f'--mixed_precision={policy} means --dtype={dtype} for --model=pggan, '
                       f'but --dtype={values["dtype"]} is given; pass one of them.')
    values['dtype'] = dtype
    explicit += ('dtype',)
  return ProgressiveConfig(**values), explicit

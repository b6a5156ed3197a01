"""The PGGAN flags of `tf_gans.train` (`--model=pggan`): one per `ProgressiveConfig` field.

A field that the GAN / RGAN config has too (logdir, dataset, split, pad_to,
data_dir, seed, keep_checkpoints, progress, progress_every_s, export, strategy,
jit_compile) is
the one flag `tf_gans.flags` defines; the precision field `dtype` is its
`--mixed_precision` (alias `--dtype`). Help texts name the argument of the
original code each flag sets (`train.py` `train_progressive_gan` /
`TrainingSchedule`, `networks.py` `G_paper` / `D_paper`, `loss.py`
`D_wgangp_acgan`).
"""

import dataclasses

from absl import flags

from tf_gans.progressive.config import ProgressiveConfig

FLAGS = flags.FLAGS
HELP = {
    'max_label_size': 'Labels used from the dataset (0: unconditional, -1: all; original max_label_size).',
    'mirror_augment': 'Flip reals along the width with p = 0.5 (original mirror_augment).',
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
    'wgan_lambda': 'WGAN-GP lambda.', 'wgan_epsilon': 'Drift term weight (eps * D(x)^2).',
    'wgan_target': 'WGAN-GP target gradient norm (gamma).',
    'cond_weight': 'AC-GAN label loss weight.',
    'image_snapshot_ticks': 'Ticks between Gs image grids (fakesKKKKKK.png).',
    'network_snapshot_ticks': 'Ticks between checkpoints and network snapshots (snapshots/).',
    'allow_partial_schedule': 'Allow --total_kimg to end before full resolution.',
    'resume_pkl': 'Start from an original network pickle (G, D, Gs), e.g. a '
                  'network-snapshot-KKKKKK.pkl of the original code (original resume_snapshot).',
    'resume_kimg': 'With --resume_pkl: the kimg the schedule continues from (original '
                   'resume_kimg).',
}
# Flags of the PGGAN command line that are not config fields.
CLI_ONLY = ('smoke', 'resolution')


def define_progressive_flags():
  """Defines a flag for each ProgressiveConfig field that `tf_gans.flags` has not."""
  for field in dataclasses.fields(ProgressiveConfig):
    if field.name in FLAGS or field.name == 'dtype':  # shared, or the precision flag
      continue
    define = {bool: flags.DEFINE_bool, int: flags.DEFINE_integer, float: flags.DEFINE_float,
              str: flags.DEFINE_string}[field.type]  # the annotation: 600 kimg is a float
    define(field.name, field.default, f'[--model=pggan] {HELP[field.name]}')
  flags.DEFINE_integer('resolution', 0, '[--model=pggan] Expected dataset resolution (0: the '
                       'dataset\'s); --smoke uses it for built-in data when the dataset is absent.')
  flags.DEFINE_bool('smoke', False, '[--model=pggan] Tiny networks (8 fmaps), a few minibatches '
                    'per phase: every lod transition up to full resolution in minutes; built-in '
                    'photo crops when the dataset is absent.')

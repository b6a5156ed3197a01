"""Rebuild a finished or running run from its folder (for export and evaluation)."""

import os

from tf_gans.training import savedmodel as export_lib
from tf_gans.gan import loop
from tf_gans.training import runfile
from tf_gans.training.checkpoint import TrainState
from tf_gans.gan.config import RunConfig


def load_run(logdir, checkpoint=None):
  """(gan, nets, cfg, step) of the run in `logdir`, restored from `checkpoint` or the latest."""
  run_file, family = runfile.locate(logdir)
  if run_file is None:
    raise FileNotFoundError(f'{logdir} is not a tf_gans run folder (no {runfile.RUN_FILE}).')
  if family != RunConfig.FAMILY:
    raise ValueError(f'{logdir} holds a {family} run: its generator (Gs) is exported at the end '
                     f'of training into {os.path.join(logdir, "export", "generator")}.')
  cfg = RunConfig.load(run_file)
  source = loop.load_data(cfg)
  gan, nets = loop.build_gan(cfg, source)
  state = TrainState(gan, logdir)
  step = state.restore(checkpoint)
  return gan, nets, cfg, step


def export_run(logdir, out_dir, checkpoint=None, overwrite=False):
  """Exports the run's generator; returns (export path, step).

  `logdir` may also be a folder written by `tf_gans.convert` (PGGAN networks):
  then its Gs is exported (step None).
  """
  if os.path.exists(out_dir) and not overwrite:  # before any expensive work
    raise FileExistsError(f'Export folder {out_dir} exists already; pass --overwrite to replace it.')
  from tf_gans.models import pggan_convert  # pylint: disable=import-outside-toplevel
  if pggan_convert.is_converted(logdir):
    if checkpoint:
      raise ValueError(f'--checkpoint does not apply to the converted PGGAN folder {logdir}.')
    gs = pggan_convert.load_converted(logdir)[pggan_convert.NETWORK_NAMES.index('Gs')]
    path = export_lib.export_generator(gs, gs.latent_size, 'normal', (-1.0, 1.0), out_dir,
                                       overwrite=overwrite,
                                       label_size=gs.static_kwargs['label_size'])
    return path, None
  _, nets, _, step = load_run(logdir, checkpoint)
  path = export_lib.export_generator(nets.generator, nets.latent_dim, nets.latent_distribution,
                                     nets.value_range, out_dir, overwrite=overwrite)
  return path, step

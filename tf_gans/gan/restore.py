"""Rebuild a GAN / RGAN run's `GAN` (G, D, optimizers) from its folder and newest intact
checkpoint (`tf_gans.training.checkpoint`: a damaged newer one is skipped with a warning and
left in place, since this only reads the run)."""

from tf_gans.gan import loop
from tf_gans.training import runfile
from tf_gans.training.checkpoint import TrainState
from tf_gans.gan.config import RunConfig


def load_run(logdir, checkpoint=None):
  """(gan, nets, cfg, step) of the run in `logdir`, restored from `checkpoint` or the newest
  intact one.

  Raises DamagedCheckpointError when `checkpoint` (or every checkpoint) is damaged.
  """
  run_file, family = runfile.locate(logdir)
  if run_file is None:
    raise FileNotFoundError(f'{logdir} is not a tf_gans run folder (no {runfile.RUN_FILE}).')
  if family != RunConfig.FAMILY:
    raise ValueError(f'{logdir} holds a {family} run, not a GAN / RGAN run.')
  cfg = RunConfig.load(run_file)
  source = loop.load_data(cfg)
  gan, nets = loop.build_gan(cfg, source)
  state = TrainState(gan, logdir, read_only=True)
  step = state.restore(checkpoint)
  return gan, nets, cfg, step

"""A PGGAN run's data and config before it starts: --smoke and its built-in data fallback."""

import dataclasses

from tf_gans.progressive import data as data_lib
from tf_gans.progressive import schedule as schedule_lib
from tf_gans.training import strategy as strategy_lib

SMOKE_FMAPS = 8
SMOKE_MINIBATCH = 4
# One round (minibatch_repeats x 4 images) per training phase, two per fade (the
# second one at lod frac 0.5), since the schedule is evaluated once per round.
SMOKE_PHASE_KIMG = 0.016


def smoke_config(cfg, resolution_log2):
  """Tiny nets and phases: every transition up to full resolution in minutes."""
  full = schedule_lib.full_resolution_kimg(resolution_log2, cfg.lod_initial_resolution,
                                           SMOKE_PHASE_KIMG, 2 * SMOKE_PHASE_KIMG)
  return dataclasses.replace(
      cfg, fmap_base=SMOKE_FMAPS, fmap_max=SMOKE_FMAPS, fmap_decay=0.0, latent_size=0,
      minibatch_base=SMOKE_MINIBATCH, minibatch_dict='', max_minibatch_per_gpu='',
      lod_training_kimg=SMOKE_PHASE_KIMG, lod_transition_kimg=2 * SMOKE_PHASE_KIMG,
      total_kimg=round(full + 2 * SMOKE_PHASE_KIMG, 6), tick_kimg_base=3 * SMOKE_PHASE_KIMG,
      tick_kimg_dict='', network_snapshot_ticks=1000, image_snapshot_ticks=1000,
      mbstd_group_size=min(cfg.mbstd_group_size, SMOKE_MINIBATCH))


def prepare(cfg, resume=False, log=print, smoke=False, resolution=0):
  """(cfg, dataset) of a PGGAN run: the data opened (built-in photos for --smoke when
  absent) and, with --smoke, the tiny config.

  On --resume the saved run decides the data (a smoke run that fell back to
  the built-in photos saved `--dataset=builtin_photos:<resolution>`), so
  --smoke and --resolution apply to new runs only: (cfg, None).
  """
  strategy_lib.STRATEGIES.check_flag('strategy', cfg.strategy)
  if resume:
    if smoke or resolution:
      log('note: --smoke / --resolution apply to new runs; --resume continues the saved run.')
    return cfg, None
  # Before any TensorFlow op (reading TFRecords): MultiWorkerMirroredStrategy must come first.
  strategy_lib.get(cfg.strategy)
  try:
    dataset = data_lib.open_run_dataset(cfg)
  except (FileNotFoundError, ValueError) as e:
    if not smoke:
      raise
    if not resolution:
      raise ValueError(f'--smoke: {cfg.dataset} is not available ({e}) and no --resolution is '
                       f'given for the built-in photo crops.') from e
    log(f'--smoke: {cfg.dataset} is not available here ({str(e).splitlines()[0][:120]}); '
        f'using built-in photo crops at {resolution}x{resolution}.')
    cfg = dataclasses.replace(cfg, dataset=f'{data_lib.BUILTIN_PHOTOS_PREFIX}{resolution}')
    dataset = data_lib.open_dataset(cfg.dataset, seed=cfg.seed)
  if resolution and 2 ** dataset.resolution_log2 != resolution:
    raise ValueError(f'--resolution={resolution}, but {cfg.dataset} holds '
                     f'{2 ** dataset.resolution_log2}x{2 ** dataset.resolution_log2} images.')
  if smoke:
    cfg = smoke_config(cfg, dataset.resolution_log2)
  return cfg, dataset

"""The training families this install knows, for the commands (`train`, `evaluate --run`,
`export`, `generate`, `study`).

  gan    GAN 2014 / RGAN nets (mlp2014, standard_cnn_32, dcgan_*): `tf_gans.gan`
  pggan  progressive growing (pggan): `tf_gans.progressive`

Each family registers itself in `tf_gans.training.family.FAMILIES` from its own
package (`tf_gans/gan/family.py`, `tf_gans/progressive/family.py`); importing
this module imports them (and TensorFlow). A model's family is its builder's
`family` attribute (`tf_gans.models.family`); a run's is in its run file.
"""

import dataclasses

from tf_gans import models
from tf_gans.gan import family as _gan_family  # noqa: F401  (registers 'gan')
from tf_gans.progressive import family as _pggan_family  # noqa: F401  (registers 'pggan')
from tf_gans.training import runfile
from tf_gans.training.family import FAMILIES


def get(name):
  """The `Family` registered as `name` ('gan' or 'pggan')."""
  return FAMILIES.get(name)


def of_run(logdir):
  """(family, config) of the run saved in `logdir`; its logdir is `logdir` as given."""
  path, name = runfile.locate(logdir)
  if path is None:
    raise FileNotFoundError(f'{logdir} is not a tf_gans run folder (no {runfile.RUN_FILE}).')
  family = get(name)
  return family, dataclasses.replace(family.config_class.load(path), logdir=str(logdir))


def load_generator(logdir):
  """(`RunGenerator`, config) of the run in `logdir`: its generator rebuilt from the run
  file, weights as initialised (restore a snapshot or checkpoint into `nets`)."""
  family, cfg = of_run(logdir)
  return family.load_generator(cfg), cfg


def generator_module(logdir, checkpoint=None, snapshot=None):
  """(module, where) of the run in `logdir`: its generator (PGGAN: Gs) at the latest (or the
  given) training checkpoint, finished or not, or at its snapshot `snapshot` (a step, or
  PGGAN kimg), with the signatures of an export
  (`tf_gans.models.savedmodel.InMemoryExport`); `where` is e.g. 'step 600'."""
  from tf_gans.models import savedmodel  # pylint: disable=import-outside-toplevel
  rg, where = _restored(logdir, checkpoint, snapshot)
  module = savedmodel.InMemoryExport(rg.generator, rg.latent_dim, rg.latent_distribution,
                                     rg.value_range, rg.label_size)
  return module, where


def _restored(logdir, checkpoint=None, snapshot=None):
  """(`RunGenerator`, where) of the run in `logdir` with its nets read from the newest intact
  (or the given) checkpoint, or from its snapshot at `snapshot`."""
  from tf_gans.training.family import restore_latest  # pylint: disable=import-outside-toplevel
  rg, _ = load_generator(logdir)
  if snapshot is not None:
    if checkpoint:
      raise ValueError('--checkpoint and --snapshot name two sources; give one.')
    return rg, _restore_snapshot(rg, logdir, snapshot)
  return rg, _where(rg, restore_latest(rg, logdir, checkpoint))


def _restore_snapshot(rg, logdir, position):
  """Reads the run's snapshot at `position` into `rg.nets`; returns 'step S' / 'K kimg'."""
  from tf_gans.training import snapshots  # pylint: disable=import-outside-toplevel
  available = snapshots.list_snapshots(logdir)
  found = [prefix for p, prefix in available if abs(float(p) - float(position)) < 1e-9]
  if not found:
    raise ValueError(f'--snapshot={position:g}: {logdir} has no snapshot there; it has '
                     f'{", ".join(f"{p:g}" for p, _ in available) or "none"} '
                     f'({snapshots.SNAPSHOT_DIR}/).')
  snapshots.restore(found[0], rg.nets)
  return f'step {int(position)}' if rg.unit == 'step' else f'{float(position):.3f} kimg'


def _where(rg, checkpoint_path):
  number = int(checkpoint_path.rsplit('-', 1)[1])  # ckpt-N: the step, or PGGAN's cur_nimg
  return f'step {number}' if rg.unit == 'step' else f'{number / 1000:.3f} kimg'


def is_run(path):
  """Whether `path` is a tf_gans run folder (it holds a run file)."""
  return bool(path) and runfile.locate(path)[0] is not None


def select(logdir, resume, model, model_given):
  """The family of a `tf_gans.train` call: the run file's on --resume, else --model's.

  Raises ValueError when --model names a model of another family than the
  run being resumed, or an unknown model.
  """
  if model_given or not resume:
    models.names()  # the registry fills on first use
    models.MODELS.check_flag('model', model)
  if resume and logdir:
    _, name = runfile.locate(logdir)
    if name:
      if model_given and models.family(model) != name:
        raise ValueError(f'--model={model} trains with the {models.family(model)} stack, but '
                         f'{logdir} holds a {name} run; resume it with '
                         f'`{runfile.resume_command(logdir)}` alone.')
      return get(name)
  return get(models.family(model))


def export_run(logdir, out_dir, checkpoint=None, overwrite=False, snapshot=None):
  """Exports the generator of the run in `logdir` (any family) from its latest (or the
  given) training checkpoint, finished or not, or from its snapshot at `snapshot`
  (a step, or PGGAN kimg: `tf_gans.training.snapshots`); returns (export path, where),
  e.g. ('out', 'step 600') or ('out', '1.200 kimg').

  `logdir` may also be a folder written by `tf_gans.convert` (PGGAN networks):
  then its Gs is exported (where None).
  """
  # pylint: disable=import-outside-toplevel
  import os
  from tf_gans.models import pggan_convert
  from tf_gans.models import savedmodel
  if os.path.exists(out_dir) and not overwrite:  # before any expensive work
    raise FileExistsError(f'Export folder {out_dir} exists already; pass --overwrite to replace it.')
  if pggan_convert.is_converted(logdir):
    if checkpoint:
      raise ValueError(f'--checkpoint does not apply to the converted PGGAN folder {logdir}.')
    gs = pggan_convert.load_converted(logdir)[pggan_convert.NETWORK_NAMES.index('Gs')]
    path = savedmodel.export_generator(gs, gs.latent_size, 'normal', (-1.0, 1.0), out_dir,
                                       overwrite=overwrite,
                                       label_size=gs.static_kwargs['label_size'])
    return path, None
  rg, where = _restored(logdir, checkpoint, snapshot)
  path = savedmodel.export_generator(rg.generator, rg.latent_dim, rg.latent_distribution,
                                     rg.value_range, out_dir, overwrite=overwrite,
                                     label_size=rg.label_size)
  return path, where

"""What a training family is: the small protocol the shared driver runs.

A family is one paper's way of training (GAN 2014 / RGAN: `tf_gans.gan`;
progressive growing: `tf_gans.progressive`). It registers a `Family` in
`FAMILIES` from its own package; nothing under `tf_gans.training` imports a
family. The driver (`tf_gans.training.run`) runs any of them, and the
commands (`train`, `evaluate --run`, `export`, `generate`, `study`) reach a
run's family through `tf_gans.families`, which imports the built-in ones.

A family gives:
  config_class    its run config (a `RunFileMixin` dataclass; its fields are the
                  `tf_gans.train` flags), saved as `<logdir>/run.json`
  trainer_class   builds its trainer inside the run's `Lifecycle` and runs its
                  rounds (the protocol is in `tf_gans.training.run`)
  load_generator  cfg -> `RunGenerator`: the run's generator rebuilt in float32 from
                  its run file, for evaluation, export and sampling of any
                  checkpoint or snapshot
  cli_options     command-line options it takes besides its config's fields
"""

import dataclasses
import os
from typing import Callable

from tf_gans.registry import Registry

FAMILIES = Registry('training family')


@dataclasses.dataclass(frozen=True)
class Family:
  """A training family (see the module docstring)."""
  name: str
  config_class: type
  trainer_class: type
  load_generator: Callable
  cli_options: tuple = ()


@dataclasses.dataclass
class RunGenerator:
  """A run's generator, rebuilt from its run file, and how to sample it.

  `nets` are keyed as in the run's checkpoints and snapshots ('G'; PGGAN also
  'Gs'), so either restores into them (`tf_gans.training.snapshots.restore`,
  `restore_latest`).
  """
  nets: dict            # {checkpoint key: Keras model}
  generator: object     # the net that is evaluated and exported (G; PGGAN: Gs)
  latent_dim: int
  latent_distribution: str
  value_range: tuple
  label_size: int
  unit: str             # 'step' or 'kimg'
  data: str             # the run's dataset spec, split and padding
  split: str
  pad_to: int


def restore_latest(rg, logdir, checkpoint=None):
  """Reads the nets of `rg` from the run's newest intact (or the given) training checkpoint.

  Returns the checkpoint's path. The optimizers and D in the checkpoint are
  not needed and not read (`expect_partial`). Damaged newer checkpoints
  (`checkpoint.damage`: truncated, missing or changed files) are skipped with one
  warning line on stderr and left where they are (this reader moves nothing).
  """
  import sys  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from tf_gans.training import checkpoint as checkpoint_lib  # pylint: disable=import-outside-toplevel
  path = checkpoint
  if not path:
    directory = os.path.join(logdir, checkpoint_lib.CHECKPOINT_DIR)
    path, damaged = checkpoint_lib.newest_intact(directory)
    for name, problems in damaged:
      sys.stderr.write(f'warning: damaged checkpoint {name} in {directory} ({"; ".join(problems)}): '
                       f'skipped{f", reading {os.path.basename(path)}" if path else ""}.\n')
    if damaged and not path:
      listed = '; '.join(f'{name}: {", ".join(problems)}' for name, problems in damaged)
      raise checkpoint_lib.DamagedCheckpointError(f'no intact checkpoint in {directory}: {listed}.')
  if not path:
    raise checkpoint_lib.NoCheckpointError(
        f'{logdir} holds no checkpoint yet (checkpoints/); a run writes its first one at '
        f'--checkpoint_every (GAN / RGAN) or --network_snapshot_ticks (PGGAN).')
  try:
    tf.train.Checkpoint(**rg.nets).read(path).expect_partial().assert_existing_objects_matched()
  except (AssertionError, ValueError, tf.errors.OpError) as e:
    raise ValueError(f'Checkpoint {path} does not match the networks of {logdir}\'s run file: '
                     f'{e}') from e
  return path

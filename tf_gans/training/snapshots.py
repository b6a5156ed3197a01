"""Network snapshots: the generator(s) at points of training, kept for evaluation.

Separate from the few full resume checkpoints (`checkpoints/`, which keep only
the last `--keep_checkpoints`): every snapshot stays, so a metric can be
computed over the whole run afterwards (`python -m tf_gans.evaluate --run=DIR`),
as the original PGGAN evaluates every `network-snapshot-KKKKKK.pkl`
(`util_scripts.py` `evaluate_metrics`) and the RGAN CAT runs compute FID every
10k iterations.

  <logdir>/snapshots/snapshot-SSSSSSS.*         GAN / RGAN at step S: G
  <logdir>/snapshots/network-snapshot-KKKKKK.*  PGGAN at kimg K (the original's
                                                name; sub-kimg runs add .III images):
                                                G and Gs, with their lod variables

Each is a `tf.train.Checkpoint` of just those networks (weights only: no
optimizer state), written on the protocol's schedule: GAN / RGAN every
`--snapshot_every` steps and at the end; PGGAN with every network snapshot
tick (`--network_snapshot_ticks`) and at the end.
"""

import os
import re
import shutil

import tensorflow as tf

from tf_gans.training import checkpoint as checkpoint_lib
from tf_gans.training import runfile

SNAPSHOT_DIR = 'snapshots'
# family -> (file prefix, unit of the number in the name)
NAMING = {'gan': ('snapshot', 'step'), 'pggan': ('network-snapshot', 'kimg')}
_NAME_RE = re.compile(r'^(snapshot|network-snapshot)-(\d+)(?:\.(\d{3}))?\.index$')


def snapshot_name(family, position):
  """'snapshot-0001000' (step) or 'network-snapshot-000600' (kimg; '.III' below a kimg)."""
  prefix, unit = NAMING[family]
  if unit == 'step':
    return f'{prefix}-{int(position):07d}'
  nimg = int(round(position * 1000))
  extra = f'.{nimg % 1000:03d}' if nimg % 1000 else ''
  return f'{prefix}-{nimg // 1000:06d}{extra}'


class Snapshots:
  """Writes snapshots of `nets` ({name: Keras model}) into `<out_dir>/snapshots`."""

  def __init__(self, out_dir, family, nets):
    self.directory = os.path.join(out_dir, SNAPSHOT_DIR)
    self.family = family
    self.checkpoint = tf.train.Checkpoint(**nets)
    self.last = None

  def write(self, position):
    """Writes the snapshot at `position` (step or kimg) unless it exists; returns its prefix.

    Raises `checkpoint.SaveError` when the write fails (permission, full disk):
    its partial files are removed, the snapshots before it are kept.
    """
    prefix = os.path.join(self.directory, snapshot_name(self.family, position))
    if not os.path.exists(prefix + '.index'):
      try:
        os.makedirs(self.directory, exist_ok=True)
        self.checkpoint.write(prefix)
      except (tf.errors.OpError, OSError) as e:
        raise self._failed(prefix, e) from None
    self.last = prefix
    return prefix

  def _failed(self, prefix, error):
    name = os.path.basename(prefix)
    for f in (os.listdir(self.directory) if os.path.isdir(self.directory) else ()):
      if f == name + '.index' or f.startswith(name + '.data-'):
        try:
          os.remove(os.path.join(self.directory, f))
        except OSError:
          pass
    shutil.rmtree(prefix + '_temp', ignore_errors=True)
    logdir = os.path.dirname(self.directory)
    return checkpoint_lib.SaveError(
        f'could not write snapshot {name} into {self.directory} '
        f'({checkpoint_lib.describe_error(error)}): the snapshots before it and the checkpoints '
        f'are kept, its partial files removed. Free some space or make the folder writable, '
        f'then continue with: {runfile.resume_command(logdir)}')


def list_snapshots(logdir):
  """[(position, prefix)] of the snapshots in `logdir`, in training order (step or kimg)."""
  directory = os.path.join(logdir, SNAPSHOT_DIR)
  if not os.path.isdir(directory):
    return []
  found = []
  for name in os.listdir(directory):
    m = _NAME_RE.match(name)
    if not m:
      continue
    whole, frac = int(m.group(2)), m.group(3)
    position = whole + int(frac) / 1000 if frac else whole
    if m.group(1) == 'network-snapshot' and not frac:
      position = float(whole)
    found.append((position, os.path.join(directory, name[:-len('.index')])))
  return sorted(found)


def restore(prefix, nets):
  """Reads the snapshot `prefix` into `nets` ({name: Keras model}); refuses a mismatch."""
  try:
    tf.train.Checkpoint(**nets).read(prefix).assert_existing_objects_matched()
  except (AssertionError, ValueError, tf.errors.OpError) as e:
    raise ValueError(f'Snapshot {prefix} does not match this run\'s networks: {e}') from e

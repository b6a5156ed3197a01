"""Checkpoints of a whole training state: saved atomically and sealed, never with NaNs,
checked before every restore.

`Checkpointer` is what every trainer uses: a `tf.train.CheckpointManager`
that refuses to save non-finite weights (`DivergenceError`), writes into this
process's folder (a scratch folder on non-chief workers) and restores the
chief's newest intact checkpoint. `TrainState` is the GAN / RGAN state built on
it (G, D, both optimizers, the step counter and the dropout seed-generator
states); `tf_gans.progressive.model.PGGAN` is the PGGAN one. The noise and the
data position are pure functions of (seed, step) (see `tf_gans.gan` and
`tf_gans.data.make_dataset`), so restoring the step restores them too.

`tf.train.CheckpointManager` writes the data files first and the `checkpoint`
state file last (atomically), so a kill during a save leaves the previous
checkpoint as the latest loadable one (tests/training/test_checkpoint.py kills
a saving process to check this).

Integrity. A save is verified when written: the new checkpoint's index is read
back through TensorFlow's reader (it parses, names its variables, its data
shards exist), then the size and SHA-256 of each of its files are recorded
beside it in `ckpt-N.sha256.json`. Checksums rather than a read-back alone,
because a read-back at save time says nothing about what later happens to the
files (a copy cut short, a full disk, a bad sector), while the recorded sizes
and digests let every later restore name the exact file that changed, without
parsing it, for ~20 ms per 24 MB (hashlib's SHA-256 here). Before a restore
the checkpoint is checked against that record (a checkpoint without one,
written before the record existed or killed between its save and its record,
is read back whole: every tensor through TensorFlow's reader, which checks
each tensor's CRC32C). A damaged newest checkpoint (a truncated or missing
file, changed bytes) is skipped for the newest intact one: its files are moved
into `checkpoints/damaged/` (never deleted), the state file then names the
intact one, and one `warning:` line says what was skipped. With no intact one
left, `DamagedCheckpointError` names every damaged file and moves nothing.

A save that fails (permission denied, disk full, any write error) raises
`SaveError`: one message naming the folder, the newest checkpoint that is kept
intact and the command that resumes from it. The failed checkpoint's partial
files are removed and the state file still names the previous checkpoint.
"""

import errno
import hashlib
import json
import os
import re
import shutil
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from tf_gans.training import runfile

CHECKPOINT_DIR = 'checkpoints'
# Beside ckpt-N.index: {file name: {"bytes": size, "sha256": hex digest}} of its files.
CHECKSUM_SUFFIX = '.sha256.json'
# Where damaged checkpoints are moved, inside CHECKPOINT_DIR.
DAMAGED_DIR = 'damaged'
# The CheckpointManager's state file (which checkpoints exist, which is the latest).
STATE_FILE = 'checkpoint'
# Exit status of a run stopped by a non-finite loss or weight (every model).
DIVERGENCE_EXIT_STATUS = 1

_NAME_RE = re.compile(r'^(ckpt-\d+)(\.index|\.data-\d{5}-of-\d{5}|' + re.escape(CHECKSUM_SUFFIX)
                      + r')$')


class DivergenceError(RuntimeError):
  """Training produced a non-finite loss or weight."""


class NoCheckpointError(FileNotFoundError):
  """A folder that should hold a checkpoint holds none."""


class DamagedCheckpointError(ValueError):
  """A checkpoint's files are missing, truncated or changed since they were written."""


class SaveError(OSError, ValueError):
  """A checkpoint (or snapshot) could not be written; what was kept is in the message.

  An OSError for callers that handle file-system failures, a ValueError for
  the command lines' one-line errors (exit 2)."""


def divergence(what, value, where):
  """The one DivergenceError every model raises: what, where, and what was kept."""
  return DivergenceError(f'{what} is {value} at {where}: training diverged. The last good '
                         f'checkpoint was kept; resume from it with a smaller learning rate, '
                         f'or check the data.')


def _number(name):
  return int(name.rsplit('-', 1)[1])


def checkpoint_files(prefix):
  """Names of the files of checkpoint `prefix` on disk: its .index and .data-* shards."""
  directory, name = os.path.split(prefix)
  try:
    names = os.listdir(directory)
  except OSError:
    return []
  return sorted(f for f in names
                if (m := _NAME_RE.match(f)) and m.group(1) == name
                and m.group(2) != CHECKSUM_SUFFIX)


def _sha256(path):
  digest = hashlib.sha256()
  with open(path, 'rb') as f:
    for chunk in iter(lambda: f.read(1 << 20), b''):
      digest.update(chunk)
  return digest.hexdigest()


def _signature(prefix):
  """(name, size, mtime) of the checkpoint's files: what a verification result depends on."""
  directory = os.path.dirname(prefix)
  out = []
  for f in checkpoint_files(prefix) + [os.path.basename(prefix) + CHECKSUM_SUFFIX]:
    try:
      st = os.stat(os.path.join(directory, f))
    except OSError:
      continue
    out.append((f, st.st_size, st.st_mtime_ns))
  return tuple(out)


def seal(prefix):
  """Verifies the checkpoint just written at `prefix` and records its files' checksums.

  The verification reads its index back through TensorFlow's reader: it must
  parse and name variables, and the data shards must exist and hold bytes.
  Then `<prefix>.sha256.json` is written atomically. Raises RuntimeError
  naming what is wrong.
  """
  name = os.path.basename(prefix)
  try:
    variables = tf.train.load_checkpoint(prefix).get_variable_to_shape_map()
  except (tf.errors.OpError, IndexError, ValueError) as e:
    raise RuntimeError(f'{name} does not read back ({describe_error(e)})') from None
  files = checkpoint_files(prefix)
  directory = os.path.dirname(prefix)
  data = [f for f in files if '.data-' in f]
  if not variables or not data or any(os.path.getsize(os.path.join(directory, f)) == 0
                                      for f in data):
    raise RuntimeError(f'{name} reads back empty (files: {", ".join(files) or "none"})')
  record = {f: {'bytes': os.path.getsize(os.path.join(directory, f)),
                'sha256': _sha256(os.path.join(directory, f))} for f in files}
  tmp = prefix + CHECKSUM_SUFFIX + '.tmp'
  with open(tmp, 'w') as out:
    json.dump(record, out, indent=1, sort_keys=True)
  os.replace(tmp, prefix + CHECKSUM_SUFFIX)
  return record


def damage(prefix):
  """What is wrong with checkpoint `prefix`: [] when intact, else one phrase per file.

  Against its checksum record when there is one; otherwise (a checkpoint
  written before the record existed) every tensor is read back.
  """
  directory, name = os.path.split(prefix)
  record = None
  try:
    with open(prefix + CHECKSUM_SUFFIX) as f:
      record = json.load(f)
  except (OSError, ValueError):
    pass
  if isinstance(record, dict) and record:
    problems = []
    for f, want in sorted(record.items()):
      path = os.path.join(directory, f)
      if not os.path.exists(path):
        problems.append(f'{f} is missing')
        continue
      size = os.path.getsize(path)
      if size < want['bytes']:
        problems.append(f'{f} is truncated ({size} of {want["bytes"]} bytes)')
      elif size != want['bytes']:
        problems.append(f'{f} has {size} bytes, {want["bytes"]} were written')
      elif _sha256(path) != want['sha256']:
        problems.append(f'{f} has corrupted bytes (its SHA-256 differs from the one '
                        f'recorded when it was written)')
    return problems
  files = checkpoint_files(prefix)
  problems = []
  if f'{name}.index' not in files:
    problems.append(f'{name}.index is missing')
  if not any('.data-' in f for f in files):
    problems.append(f'{name}.data-00000-of-00001 is missing')
  if problems:
    return problems
  try:
    reader = tf.train.load_checkpoint(prefix)
  except (tf.errors.OpError, IndexError, ValueError, RuntimeError) as e:
    return [f'{name}.index does not read back ({describe_error(e)})']
  try:
    for key in reader.get_variable_to_shape_map():
      reader.get_tensor(key)
  except (tf.errors.OpError, IndexError, ValueError, RuntimeError) as e:
    data = ', '.join(f for f in files if '.data-' in f)
    problems.append(f'{data} does not read back ({describe_error(e)})')
  return problems


def describe_error(error):
  """A short phrase for an OSError / TensorFlow error: 'the disk is full: ...',
  'permission denied: ...' or its type, then its first 200 characters."""
  message = error.message if isinstance(error, tf.errors.OpError) else str(error)
  message = ' '.join(re.sub(r'\{\{[^}]*\}\}', '', str(message)).split())
  if len(message) > 200:
    message = message[:200] + '...'
  if (isinstance(error, OSError) and error.errno == errno.ENOSPC) or (
      'No space left on device' in message):
    text = 'the disk is full'
  elif isinstance(error, (PermissionError, tf.errors.PermissionDeniedError)) or (
      isinstance(error, OSError) and error.errno in (errno.EACCES, errno.EPERM, errno.EROFS)):
    text = 'permission denied'
  else:
    text = type(error).__name__
  return f'{text}: {message}' if message else text


def _read_state(directory):
  """[(name, timestamp)] of the checkpoints the state file lists (oldest first), or None."""
  if not os.path.exists(os.path.join(directory, STATE_FILE)):
    return None
  try:
    state = tf.train.get_checkpoint_state(directory)
  except Exception:  # pylint: disable=broad-except  # an unparseable state file
    return None
  if state is None:
    return None
  names = [os.path.basename(p) for p in state.all_model_checkpoint_paths]
  latest = os.path.basename(state.model_checkpoint_path)
  if latest and latest not in names:
    names.append(latest)
  stamps = list(state.all_model_checkpoint_timestamps)
  if len(stamps) != len(names):
    stamps = [None] * len(names)
  return list(zip(names, stamps))


def _write_state(directory, entries):
  """Writes the state file naming `entries` ([(name, timestamp or None)], oldest first),
  atomically. Its last_preserved_timestamp precedes every entry, so a CheckpointManager
  reading it sweeps them as usual (entries older than it would be kept for good)."""
  stamps = []
  for name, stamp in entries:
    if stamp is None:
      try:
        stamp = os.path.getmtime(os.path.join(directory, name + '.index'))
      except OSError:
        stamp = time.time()
    stamps.append(stamp)
  lines = [f'model_checkpoint_path: "{entries[-1][0]}"']
  lines += [f'all_model_checkpoint_paths: "{n}"' for n, _ in entries]
  lines += [f'all_model_checkpoint_timestamps: {t!r}' for t in stamps]
  lines.append(f'last_preserved_timestamp: {min(stamps) - 1.0!r}')
  tmp = os.path.join(directory, STATE_FILE + '.tmp')
  with open(tmp, 'w') as f:
    f.write('\n'.join(lines) + '\n')
  os.replace(tmp, os.path.join(directory, STATE_FILE))


def candidates(directory):
  """Names of the checkpoints in `directory`, newest first: those its state file lists, or,
  without a readable state file, every ckpt-N with a file there."""
  state = _read_state(directory)
  if state is not None:
    names = {n for n, _ in state}
  else:
    try:
      names = {m.group(1) for f in os.listdir(directory) if (m := _NAME_RE.match(f))}
    except OSError:
      names = set()
  return sorted((n for n in names if re.fullmatch(r'ckpt-\d+', n)), key=_number, reverse=True)


def newest_intact(directory, check=damage):
  """(the newest intact checkpoint's prefix or None, [(name, problems)] of the damaged
  newer ones) in `directory`; moves nothing (read-only users, e.g. export, evaluate).

  Args:
    check: callable(prefix) -> problems ([] when intact); default `damage`.
  """
  damaged = []
  for name in candidates(directory):
    prefix = os.path.join(directory, name)
    problems = check(prefix)
    if not problems:
      return prefix, damaged
    damaged.append((name, problems))
  return None, damaged


def _unique(path):
  n, out = 1, path
  while os.path.lexists(out):
    n += 1
    out = f'{path}.{n}'
  return out


def _mb(nbytes):
  return f'{nbytes / 1e6:.1f} MB'


class Checkpointer:
  """Saves `checkpoint` into `<out_dir>/checkpoints`; restores from `<logdir>/checkpoints`.

  Args:
    checkpoint: the `tf.train.Checkpoint` of the whole training state.
    out_dir: where this process writes (the run folder, or a non-chief's scratch folder).
    logdir: the run folder (restores read the chief's checkpoints there).
    max_to_keep: checkpoints kept.
    models: the Keras models whose weights must be finite to be saved.
    number: callable -> the checkpoint number (the step, or PGGAN's images shown).
    where: callable -> 'step 120' / '12.3 kimg', for messages.
    check: optional callable(path) run before a restore; raises ValueError
      naming what does not fit (e.g. PGGAN's per-variable shapes).
    warn: callable(line) for the line that reports skipped damaged checkpoints
      (default: stderr).
    read_only: only restores (export, evaluate): damaged checkpoints are skipped
      but left where they are, the state file untouched.
  """

  def __init__(self, checkpoint, out_dir, logdir, max_to_keep, models, number, where,
               check=None, warn=None, read_only=False):
    self.checkpoint = checkpoint
    self.directory = os.path.join(out_dir, CHECKPOINT_DIR)
    self.restore_dir = os.path.join(logdir, CHECKPOINT_DIR)
    self.logdir = logdir
    self.max_to_keep = max_to_keep
    self.manager = tf.train.CheckpointManager(checkpoint, self.directory, max_to_keep)
    self.models, self.number, self.where, self.check = models, number, where, check
    self.warn = warn or _stderr_line
    self.read_only = read_only
    self._intact = {}  # prefix -> the _signature it was found intact with

  def check_finite(self):
    """Raises DivergenceError if any trainable weight is not finite."""
    for model in self.models:
      for v in model.trainable_variables:
        if not np.all(np.isfinite(v.numpy())):
          raise divergence(f'weight {v.path}', 'not finite', self.where())

  def save(self):
    """Saves as ckpt-<number>, verified and sealed (see the module docstring).

    Raises:
      DivergenceError: a weight is not finite (nothing is written).
      SaveError: the write failed; the previous checkpoint is kept as the latest.
    """
    self.check_finite()
    number = self.number()
    prefix = os.path.join(self.directory, f'ckpt-{number}')
    before = list(self.manager.checkpoints)
    try:
      path = self.manager.save(checkpoint_number=number)
      seal(path)
    except (tf.errors.OpError, OSError, RuntimeError) as e:
      raise self._save_failed(prefix, before, e) from None
    self._intact[path] = _signature(path)
    self._prune_records()
    return path

  def save_unless_saved(self):
    """Saves unless the latest checkpoint already holds this number; returns its path."""
    latest = self.manager.latest_checkpoint or ''
    if latest.endswith(f'ckpt-{self.number()}'):
      return latest
    return self.save()

  def _save_failed(self, prefix, before, error):
    """Undoes a failed save of `prefix`: its partial files go, the state file names the
    previous checkpoint again; returns the SaveError saying so."""
    name = os.path.basename(prefix)
    removed = False
    if prefix not in before:  # a new number: its files are this save's partial output
      for f in checkpoint_files(prefix) + [name + CHECKSUM_SUFFIX, name + CHECKSUM_SUFFIX + '.tmp']:
        try:
          os.remove(os.path.join(self.directory, f))
          removed = True
        except OSError:
          pass
      if os.path.isdir(prefix + '_temp'):
        shutil.rmtree(prefix + '_temp', ignore_errors=True)
        removed = True
    # What is left of the checkpoints before this save (its sweep may have run).
    kept = [p for p in before if checkpoint_files(p)]
    try:
      state = _read_state(self.directory) or []
      if (state and state[-1][0] == name) or (not state and kept):
        old = dict(state)
        entries = [(os.path.basename(p), old.get(os.path.basename(p))) for p in kept]
        if entries:
          _write_state(self.directory, entries)
        else:
          os.remove(os.path.join(self.directory, STATE_FILE))
    except OSError:
      pass  # the disk refuses even this: the state file names the previous latest or none
    self.manager = tf.train.CheckpointManager(self.checkpoint, self.directory, self.max_to_keep)
    if kept and self.damage(kept[-1]):
      what = (f'the newest earlier checkpoint, {os.path.basename(kept[-1])}, is damaged: '
              f'{", ".join(self.damage(kept[-1]))}')
    elif kept:
      what = (f'the newest checkpoint, {os.path.basename(kept[-1])}, is kept intact and a '
              f'resume continues from it')
    else:
      what = 'no earlier checkpoint exists (a resume starts the run from the beginning)'
    partial = f'; the partial files of {name} were removed' if removed else ''
    return SaveError(f'could not write checkpoint {name} into {self.directory} at '
                     f'{self.where()} ({describe_error(error)}): {what}{partial}. Free some '
                     f'space or make the folder writable, then continue with: '
                     f'{runfile.resume_command(self.logdir)}')

  def _prune_records(self):
    """Removes the checksum records of checkpoints the manager swept away."""
    for f in os.listdir(self.directory):
      m = _NAME_RE.match(f)
      if m and m.group(2) == CHECKSUM_SUFFIX and not checkpoint_files(
          os.path.join(self.directory, m.group(1))):
        try:
          os.remove(os.path.join(self.directory, f))
        except OSError:
          pass

  def damage(self, prefix):
    """`damage(prefix)`, remembered while the checkpoint's files do not change."""
    signature = _signature(prefix)
    if signature and self._intact.get(prefix) == signature:
      return []
    problems = damage(prefix)
    if not problems:
      self._intact[prefix] = signature
    return problems

  def latest(self):
    """The chief's newest intact checkpoint, or None if it has none.

    Damaged newer ones are skipped: on the process that writes the run folder
    (unless read_only) their files are moved into `checkpoints/damaged/` and the
    state file names the intact one; one warning line says what was skipped.

    Raises:
      DamagedCheckpointError: there are checkpoints, but none is intact (nothing moved).
    """
    intact, damaged = newest_intact(self.restore_dir, self.damage)
    if not damaged:
      return intact
    detail = '; '.join(', '.join(problems) for _, problems in damaged)
    if intact is None:
      raise DamagedCheckpointError(
          f'no intact checkpoint in {self.restore_dir} ({detail}); nothing was moved or '
          f'deleted. Put intact copies of these files back, or start the run over from its '
          f'beginning: move {self.restore_dir} aside, then run '
          f'{runfile.resume_command(self.logdir)}')
    if self.read_only:
      use, where = 'reading', ' (left where they are)'
    else:
      use, where = 'resuming from', ' (the steps after it are trained again)'
      if self.directory == self.restore_dir:  # this process writes the folder
        where += (f'; their files were moved to {self._set_aside(damaged, intact)} '
                  f'(nothing deleted)')
    skipped = ', '.join(name for name, _ in damaged)
    self.warn(f'warning: damaged checkpoint{"s" if len(damaged) > 1 else ""} {skipped} in '
              f'{self.restore_dir} ({detail}): skipped, {use} {os.path.basename(intact)}'
              f'{where}.')
    return intact

  def _set_aside(self, damaged, intact):
    """Moves the files of `damaged` into checkpoints/damaged/; the state file then lists
    the intact ones up to `intact`. Returns the folder."""
    folder = os.path.join(self.restore_dir, DAMAGED_DIR)
    os.makedirs(folder, exist_ok=True)
    for name, _ in damaged:
      prefix = os.path.join(self.restore_dir, name)
      for f in checkpoint_files(prefix) + [name + CHECKSUM_SUFFIX]:
        source = os.path.join(self.restore_dir, f)
        if os.path.exists(source):
          os.replace(source, _unique(os.path.join(folder, f)))
    moved = {name for name, _ in damaged}
    state = _read_state(self.restore_dir) or []
    stamps = dict(state)
    entries = [(n, stamps.get(n)) for n in sorted(set(stamps) | {os.path.basename(intact)},
                                                  key=_number)
               if n not in moved and _number(n) <= _number(os.path.basename(intact))]
    _write_state(self.restore_dir, entries)
    self.manager = tf.train.CheckpointManager(self.checkpoint, self.directory, self.max_to_keep)
    return folder

  def restore(self, path=None):
    """Restores `path` (default: the chief's newest intact checkpoint); returns the path.

    Raises:
      NoCheckpointError: there is no checkpoint.
      DamagedCheckpointError: `path` is damaged (or none is intact).
      ValueError: the checkpoint belongs to a different model.
    """
    path = path or self.latest()
    if not path:
      raise NoCheckpointError(f'No checkpoint in {self.restore_dir}.')
    problems = self.damage(path)
    if problems:
      raise DamagedCheckpointError(f'checkpoint {path} is damaged: {", ".join(problems)}.')
    if self.check:
      self.check(path)
    try:
      self.checkpoint.restore(path).assert_existing_objects_matched()
    except (tf.errors.DataLossError, IndexError) as e:
      raise DamagedCheckpointError(f'checkpoint {path} is damaged: {describe_error(e)}.') from e
    except (AssertionError, ValueError, tf.errors.OpError) as e:
      raise ValueError(f'Checkpoint {path} does not match this model: {e}') from e
    return path

  def size_estimate(self):
    """Bytes one checkpoint of this state takes (its variables; the index is small)."""
    total = 0
    for t in tf.train.TrackableView(self.checkpoint).descendants():
      if isinstance(t, (tf.Variable, keras.Variable)):
        total += int(np.prod(t.shape)) * tf.as_dtype(t.dtype).size
    return total


def _stderr_line(line):
  sys.stderr.write(line + '\n')
  sys.stderr.flush()


def _seed_states(model):
  return [v for v in model.variables if 'seed_generator_state' in v.path]


class TrainState(Checkpointer):
  """The checkpointable state of a `tf_gans.GAN` run."""

  def __init__(self, gan, logdir, max_to_keep=3, restore_logdir=None, read_only=False):
    self.gan = gan
    # Optimizer slots must exist before a restore can fill them.
    for opt, net in ((gan.d_optimizer, gan.discriminator), (gan.g_optimizer, gan.generator)):
      if not opt.built:
        opt.build(net.trainable_variables)
    # Keys sort so that the nets come before the optimizers that also track
    # their variables: weights are then stored as G/... and D/....
    checkpoint = tf.train.Checkpoint(
        G=gan.generator, D=gan.discriminator,
        G_opt=gan.g_optimizer, D_opt=gan.d_optimizer, step=gan.step,
        seed_states=_seed_states(gan.generator) + _seed_states(gan.discriminator))
    super().__init__(checkpoint, logdir, restore_logdir or logdir, max_to_keep,
                     models=(gan.generator, gan.discriminator), number=lambda: self.step,
                     where=lambda: f'step {self.step}', read_only=read_only)

  @property
  def step(self):
    return int(self.gan.step.numpy())

  def restore(self, path=None):
    """Restores `path` (default: the latest); returns the restored step."""
    super().restore(path)
    return self.step

"""Folders written whole: built beside their final place, then renamed in.

Standard library only, so every layer (data, models, training) can use it.
"""

import os
import shutil
import tempfile


class NotWritableError(PermissionError, ValueError):
  """A folder a command must write is not writable, or a file stands where it should be.

  A PermissionError for callers that handle file-system failures, a ValueError
  for the command lines' one-line errors (exit 2)."""


def unwritable(folder):
  """Why `folder` cannot be written, or None if it can (or can be created and then written).

  Tried, not inferred from permission bits (root passes every `os.access`
  check, a read-only mount fails them all): a file is created and removed in
  `folder`, or, while `folder` does not exist yet, in its nearest existing
  ancestor, which must be a folder.
  """
  folder = os.path.abspath(os.fspath(folder))
  probe = folder
  while not os.path.exists(probe):
    parent = os.path.dirname(probe)
    if parent == probe:
      break
    probe = parent
  if not os.path.isdir(probe):
    if probe == folder:
      return f'{folder} is a file, not a folder'
    return f'{probe} is a file, so {folder} cannot be created'
  try:
    fd, path = tempfile.mkstemp(prefix='.write-test-', dir=probe)
    os.close(fd)
    os.remove(path)
  except OSError as e:
    why = e.strerror or type(e).__name__
    if probe == folder:
      return f'{folder} is not writable ({why})'
    return f'{folder} cannot be created: {probe} is not writable ({why})'
  return None


def refuse_existing(target, overwrite, label='Folder'):
  """The default rule: an existing `target` is replaced only with `overwrite`."""
  if os.path.exists(target) and not overwrite:
    raise FileExistsError(f'{label} {target} exists already; pass --overwrite to replace it.')


class AtomicFolder:
  """Writes the folder `target` so that it never exists half written.

    with AtomicFolder(out_dir, overwrite) as tmp:
      write_everything_into(tmp)   # tmp is a new empty folder

  The block writes into `<target>.tmp-<pid>`; leaving it normally renames
  that folder to `target`. `begin` / `commit` / `abort` do the same for a
  writer whose work spans several calls.

  Guarantee, step by step ("crash": the process dies; "failure": an
  exception, in the block or in `commit`):
    * Refusal: `check(target, overwrite)` runs before anything is created and
      again just before the swap; by default it raises FileExistsError when
      `target` exists and `overwrite` is False. A refusal at the swap removes
      the temporary folder; `target` is untouched in both cases.
    * Writing: `target` is untouched (the old folder, or nothing). A failure
      removes the temporary folder and re-raises. A crash leaves
      `<target>.tmp-<pid>`, which the next writer with the same pid removes.
    * Swap: an old `target` is renamed to `<target>.old-<pid>`, the temporary
      folder renamed to `target`, then the old one deleted. A crash between
      the two renames leaves no `target` but both folders complete under
      their `.old` / `.tmp` names; if the second rename fails, the old folder
      is renamed back. A crash while deleting leaves part of `.old-<pid>`.
  So whatever exists under the name `target` is always a complete folder.
  """

  def __init__(self, target, overwrite=False, label='Folder', check=None):
    self.target = os.path.normpath(os.fspath(target))
    self.overwrite = overwrite
    self.tmp = f'{self.target}.tmp-{os.getpid()}'
    self._old = f'{self.target}.old-{os.getpid()}'
    self._check = check or (lambda target, overwrite: refuse_existing(target, overwrite, label))

  def begin(self):
    """Checks the target, then makes the empty temporary folder and returns it."""
    self._check(self.target, self.overwrite)
    _remove(self.tmp)  # left by a killed process with our pid
    os.makedirs(self.tmp)
    return self.tmp

  def commit(self):
    """Checks the target again and swaps the temporary folder in; aborts on failure."""
    try:
      self._check(self.target, self.overwrite)
      replaced = os.path.lexists(self.target)
      if replaced:
        _remove(self._old)  # left by a killed process with our pid
        os.rename(self.target, self._old)
      try:
        os.rename(self.tmp, self.target)
      except BaseException:
        if replaced:
          os.rename(self._old, self.target)
        raise
    except BaseException:
      self.abort()
      raise
    if replaced:
      _remove(self._old)
    return self.target

  def abort(self):
    """Removes the temporary folder; `target` is left as it was."""
    _remove(self.tmp)

  def __enter__(self):
    return self.begin()

  def __exit__(self, exc_type, exc_value, traceback):
    if exc_type is None:
      self.commit()
    else:
      self.abort()
    return False


def _remove(path):
  """Deletes a folder tree or a file if there is one; ignores errors."""
  if os.path.isdir(path) and not os.path.islink(path):
    shutil.rmtree(path, ignore_errors=True)
  elif os.path.lexists(path):
    try:
      os.remove(path)
    except OSError:
      pass

"""AtomicFolder: the target appears only complete, failures leave the old one, refusals."""

import os

import pytest

from tf_gans import atomic


def _write(folder, text):
  with open(os.path.join(folder, 'a.txt'), 'w') as f:
    f.write(text)


def _read(folder):
  with open(os.path.join(folder, 'a.txt')) as f:
    return f.read()


def test_target_appears_only_complete(tmp_path):
  target = tmp_path / 'sub' / 'out'
  with atomic.AtomicFolder(target) as tmp:
    assert os.listdir(tmp) == [] and os.path.dirname(tmp) == str(tmp_path / 'sub')
    _write(tmp, 'new')
    assert not target.exists()
  assert _read(target) == 'new'
  assert os.listdir(tmp_path / 'sub') == ['out']


def test_overwrite_keeps_the_old_target_until_the_swap(tmp_path):
  target = tmp_path / 'out'
  target.mkdir()
  _write(target, 'old')
  with atomic.AtomicFolder(target, overwrite=True) as tmp:
    _write(tmp, 'new')
    assert _read(target) == 'old'
  assert _read(target) == 'new'
  assert os.listdir(tmp_path) == ['out']  # neither .tmp- nor .old- left


@pytest.mark.parametrize('exc', [RuntimeError, KeyboardInterrupt])
def test_failure_inside_leaves_the_old_target_and_no_temporary_folder(tmp_path, exc):
  target = tmp_path / 'out'
  target.mkdir()
  _write(target, 'old')
  with pytest.raises(exc):
    with atomic.AtomicFolder(target, overwrite=True) as tmp:
      _write(tmp, 'half')
      raise exc('stop')
  assert _read(target) == 'old'
  assert os.listdir(tmp_path) == ['out']


def test_refuses_an_existing_target_without_overwrite(tmp_path):
  target = tmp_path / 'out'
  target.mkdir()
  _write(target, 'old')
  with pytest.raises(FileExistsError, match=r'Export folder .*out exists already; pass --overwrite'):
    with atomic.AtomicFolder(target, label='Export folder'):
      pytest.fail('the block must not run')
  assert _read(target) == 'old'
  assert os.listdir(tmp_path) == ['out']


def test_refuses_a_target_that_appeared_while_writing(tmp_path):
  target = tmp_path / 'out'
  with pytest.raises(FileExistsError, match='--overwrite'):
    with atomic.AtomicFolder(target) as tmp:
      _write(tmp, 'new')
      target.mkdir()
      _write(target, 'other')
  assert _read(target) == 'other'
  assert os.listdir(tmp_path) == ['out']


def test_a_failed_swap_puts_the_old_target_back(tmp_path, monkeypatch):
  target = tmp_path / 'out'
  target.mkdir()
  _write(target, 'old')
  rename = os.rename

  def failing_rename(src, dst):
    if str(src).endswith(f'.tmp-{os.getpid()}'):
      raise OSError('disk gone')
    rename(src, dst)

  monkeypatch.setattr(atomic.os, 'rename', failing_rename)
  with pytest.raises(OSError, match='disk gone'):
    with atomic.AtomicFolder(target, overwrite=True) as tmp:
      _write(tmp, 'new')
  assert _read(target) == 'old'
  assert os.listdir(tmp_path) == ['out']


def test_leftovers_of_a_killed_writer_with_our_pid_are_cleared(tmp_path):
  target = tmp_path / 'out'
  target.mkdir()
  for leftover in (f'out.tmp-{os.getpid()}', f'out.old-{os.getpid()}'):
    (tmp_path / leftover).mkdir()
    _write(tmp_path / leftover, 'stale')
  with atomic.AtomicFolder(target, overwrite=True) as tmp:
    assert os.listdir(tmp) == []
    _write(tmp, 'new')
  assert _read(target) == 'new'
  assert os.listdir(tmp_path) == ['out']


def test_begin_commit_abort_and_a_custom_check(tmp_path):
  calls = []

  def check(target, overwrite):
    calls.append((target, overwrite))

  (tmp_path / 'out').mkdir()  # the custom rule accepts it even without overwrite
  folder = atomic.AtomicFolder(tmp_path / 'out', check=check)
  _write(folder.begin(), 'new')
  assert folder.commit() == str(tmp_path / 'out')
  assert calls == [(str(tmp_path / 'out'), False)] * 2
  aborted = atomic.AtomicFolder(tmp_path / 'other', check=check)
  aborted.begin()
  aborted.abort()
  assert _read(tmp_path / 'out') == 'new' and os.listdir(tmp_path) == ['out']

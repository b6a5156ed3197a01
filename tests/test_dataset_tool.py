"""Tests of the `python -m tf_gans.dataset_tool` command line (original PGGAN `dataset_tool.py`).

Its `main(argv)` runs in this process (no TensorFlow import per command); one
subprocess shows that --help does not import TensorFlow at all.
"""

import contextlib
import importlib.util
import io
import os
import pickle
import subprocess
import sys
import types

import numpy as np

from tf_gans import dataset_tool
from tf_gans.data import dataset_writers
from tf_gans.data import tfrecords

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cli(*args):
  """`python -m tf_gans.dataset_tool *args`, in-process: exit status, stdout, stderr."""
  out, err = io.StringIO(), io.StringIO()
  code = 0
  with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    try:
      dataset_tool.main([str(a) for a in args])
    except SystemExit as e:
      code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
  return types.SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def test_cli_bad_folder_is_one_line(tmp_path):
  result = _cli('create_from_images', tmp_path / 'out', tmp_path / 'missing_images')
  assert result.returncode == 2
  assert result.stderr.strip().splitlines() == [
      f'error: Image folder {tmp_path / "missing_images"} does not exist.']
  assert not (tmp_path / 'out').exists()


def test_cli_writes_and_reports(tmp_path):
  result = _cli('create_photo_crops', tmp_path / 'photos', '--resolution', 8,
                '--num_images', 4)
  assert result.returncode == 0, result.stderr
  assert 'Wrote 4 images of 8x8x3, no labels' in result.stdout
  assert 'photos-r03.tfrecords (8x8 lod 0' in result.stdout
  assert tfrecords.MultiResDataset(tmp_path / 'photos').num_images == 4


def test_cli_module_keeps_the_create_functions():
  # Scripts and tests call `dataset_tool.create_*`; they are the dataset_writers functions.
  for name in ('create_from_images', 'create_mnist', 'create_mnistrgb', 'create_cifar10',
               'create_cifar100', 'create_svhn', 'create_lsun', 'create_celeba',
               'create_celebahq', 'create_from_hdf5', 'create_cifar10_tfds', 'create_from_tfds',
               'create_photo_crops'):
    assert getattr(dataset_tool, name) is getattr(dataset_writers, name)


def test_cli_has_every_command_of_the_original_and_its_help_needs_no_tensorflow():
  """`python -m tf_gans.dataset_tool --help` in a new process (runpy, as -m runs it), then a
  look at what it imported: TensorFlow's seconds of start-up are for the commands needing it."""
  script = ('import atexit, runpy, sys\n'
            'atexit.register(lambda: print("tensorflow imported:", "tensorflow" in sys.modules, '
            'file=sys.stderr))\n'
            'sys.argv = ["dataset_tool", "--help"]\n'
            'runpy.run_module("tf_gans.dataset_tool", run_name="__main__", alter_sys=True)\n')
  result = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                          cwd=REPO, timeout=120, check=False)
  assert result.returncode == 0, result.stderr
  assert 'tensorflow imported: False' in result.stderr, result.stderr
  # The commands of the original dataset_tool.py execute_cmdline, then ours.
  for name in ('display', 'extract', 'compare', 'create_mnist', 'create_mnistrgb',
               'create_cifar10', 'create_cifar100', 'create_svhn', 'create_lsun',
               'create_celeba', 'create_celebahq', 'create_from_images', 'create_from_hdf5',
               'create_cifar10_tfds', 'create_from_tfds', 'create_photo_crops', 'info'):
    assert name in result.stdout


def test_cli_create_cifar10_extract_compare(tmp_path):
  # The original's argument shape: create_cifar10 <tfrecord_dir> <cifar10_dir>.
  rng = np.random.RandomState(0)
  (tmp_path / 'c10').mkdir()
  data = rng.randint(0, 256, [5, 2, 3072]).astype(np.uint8)
  labels = rng.randint(0, 10, [5, 2])
  for batch in range(5):
    with open(tmp_path / 'c10' / f'data_batch_{batch + 1}', 'wb') as f:
      pickle.dump({'data': data[batch], 'labels': labels[batch].tolist()}, f, protocol=2)
  result = _cli('create_cifar10', tmp_path / 'a', tmp_path / 'c10')
  assert result.returncode == 0, result.stderr
  assert 'Wrote 10 images of 32x32x3, labels [10, 10]' in result.stdout
  order = np.arange(10)
  np.random.RandomState(123).shuffle(order)
  stored = tfrecords.MultiResDataset(tmp_path / 'a')
  np.testing.assert_array_equal(stored.labels.argmax(axis=1), labels.reshape(-1)[order])
  dataset_tool.create_cifar10(tmp_path / 'b', tmp_path / 'c10', progress=False)
  result = _cli('compare', tmp_path / 'a', tmp_path / 'b')
  assert result.returncode == 0, result.stderr
  assert result.stdout.splitlines() == ['Identical images: 10 / 10', 'Identical labels: 10 / 10']
  result = _cli('extract', tmp_path / 'a', tmp_path / 'png')
  assert result.returncode == 0, result.stderr
  assert result.stdout.strip() == f'Extracted 10 images to {tmp_path / "png"}.'
  assert len(os.listdir(tmp_path / 'png')) == 10


def test_cli_optional_packages_are_one_line(tmp_path):
  (tmp_path / 'db').mkdir()
  result = _cli('create_lsun', tmp_path / 'out', tmp_path / 'db')
  if importlib.util.find_spec('lmdb') is None:
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        'error: create_lsun reads LSUN through the optional lmdb package: pip install lmdb']
  else:
    assert result.returncode == 2 and 'Traceback' not in result.stderr

"""Tests of the `python -m tf_gans.dataset_tool` command line (original PGGAN `dataset_tool.py`)."""

import os
import subprocess
import sys

from tf_gans import dataset_tool
from tf_gans.data import dataset_writers
from tf_gans.data import tfrecords

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cli(*args):
  return subprocess.run([sys.executable, '-m', 'tf_gans.dataset_tool', *map(str, args)],
                        capture_output=True, text=True, cwd=REPO, timeout=120, check=False)


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
  for name in ('create_from_images', 'create_mnist', 'create_cifar10', 'create_from_tfds',
               'create_photo_crops'):
    assert getattr(dataset_tool, name) is getattr(dataset_writers, name)

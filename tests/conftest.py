"""Shared test set-up: quiet TF, two logical CPUs (for MirroredStrategy tests), paths."""

import os
import pathlib

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import pytest  # pylint: disable=wrong-import-position
import tensorflow as tf  # pylint: disable=wrong-import-position

# Must happen before TensorFlow initialises its devices: tests of tf.distribute
# split this machine's CPU into two logical devices.
_cpus = tf.config.list_physical_devices('CPU')
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED = REPO.parent / 'shared'


@pytest.fixture
def mnist_dir():
  path = SHARED / 'data' / 'mnist'
  if not path.is_dir():
    pytest.skip(f'{path} not present: the MNIST IDX files live in ../shared beside the repo.')
  return path

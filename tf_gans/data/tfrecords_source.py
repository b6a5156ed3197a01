"""`tfrecords:<dir>`: the full-resolution images of a multi-resolution TFRecords folder.

The folders `python -m tf_gans.dataset_tool` writes (the layout of the
original PGGAN `dataset_tool.py` `TFRecordExporter`) as
an in-memory `ArraySource`, so that the GAN/RGAN trainer and
`tf_gans.evaluate` read them like any other dataset. Progressive training
reads every level of detail through `tf_gans.data.tfrecords.MultiResDataset`
instead.
"""

import os

import numpy as np

from tf_gans.data.source import DATASETS
from tf_gans.data.source import ArraySource
from tf_gans.data.source import check_split
from tf_gans.data.source import reject_options


@DATASETS.register('tfrecords', usage='tfrecords:<dir>')
def load_tfrecords(arg, split, **options):
  """Loads lod 0 (uint8, scale 1/255); one-hot labels become class indices.

  Args:
    arg: The dataset folder.
    split: 'train' (a TFRecords folder holds one set of images).
    **options: Unused; each must be None.
  """
  if not arg:
    raise ValueError("Dataset 'tfrecords' needs a folder: tfrecords:<dir>.")
  check_split('tfrecords', split, ('train',))
  reject_options('tfrecords', options)
  if not os.path.isdir(arg):
    raise FileNotFoundError(f'tfrecords:{arg}: no such folder; write one with '
                            f'`python -m tf_gans.dataset_tool create_... {arg} ...`.')
  from tf_gans.data import tfrecords  # pylint: disable=import-outside-toplevel
  dataset = tfrecords.MultiResDataset(arg)
  labels = dataset.labels
  classes = np.argmax(labels, axis=1) if labels.shape[1] else None
  return ArraySource(name=f'tfrecords:{arg}', images=dataset.load_images(0), scale=1 / 255,
                     labels=classes)

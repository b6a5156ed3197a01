"""`tfrecords:<dir>`: the full-resolution images of a multi-resolution TFRecords folder.

The folders `python -m tf_gans.dataset_tool` writes (the layout of the
original PGGAN `dataset_tool.py` `TFRecordExporter`) as an `ArraySource`, so
that the GAN/RGAN trainer and `tf_gans.evaluate` read them like any other
dataset. Progressive training reads every level of detail through
`tf_gans.data.tfrecords.MultiResDataset` instead.

The images are a `LazyImages` over lod 0: a record is read (by its byte
offset) only when its row is indexed, so the metric reals passes, which walk
the set a minibatch at a time as the original `dataset.TFRecordDataset`
streams it, hold one minibatch whatever the set's size (the original streams;
CelebA-HQ 1024 would be 88 GiB in memory). Callers that need every image at
once (`np.asarray(source.images)`, the in-memory training pipelines) read them
all.

Labels (the `.labels` file, float [N, K]): one-hot rows become class indices
with `label_size` K (what the digit classifier and the GAN trainers take); any
other rows (multi-hot attributes, soft labels) are kept as label vectors
[N, K], as the original keeps its `_np_labels`. `ArraySource.label_vectors()`
gives the rows back either way.
"""

import os

import numpy as np

from tf_gans.data.source import DATASETS
from tf_gans.data.source import ArraySource
from tf_gans.data.source import LazyImages
from tf_gans.data.source import check_split
from tf_gans.data.source import is_one_hot
from tf_gans.data.source import reject_options

# Rows per chunk when every image is read (np.asarray of the images).
_CHUNK = 256


@DATASETS.register('tfrecords', usage='tfrecords:<dir>')
def load_tfrecords(arg, split, **options):
  """Lod 0 as lazily read uint8 images (scale 1/255) and the labels (module docstring).

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
  images = LazyImages(lambda rows: dataset.read_records(0, rows), dataset.num_images,
                      dataset.image_shape(0), chunk=_CHUNK)
  labels, label_size = dataset.labels, dataset.label_size
  if not label_size:
    labels = None
  elif is_one_hot(labels):
    labels = np.argmax(labels, axis=1)
  return ArraySource(name=f'tfrecords:{arg}', images=images, scale=1 / 255, labels=labels,
                     label_size=label_size)

"""The PGGAN multi-resolution TFRecords layout, shared by writer and reader.

A dataset folder `tfrecord_dir` holds, for a top resolution 2^R:

  <basename>-r02.tfrecords ... <basename>-rRR.tfrecords  (one file per lod)
  <basename>-rxx.labels                                   (optional)

File `-rNN` holds every image at resolution 2^NN, i.e. at lod R - NN, so
lod 0 is the full resolution and lod R - 2 is 4x4. The files are uncompressed
TFRecords; each record is a `tf.train.Example` with the features `shape`
(int64 [C, H, W]) and `data` (bytes: the uint8 pixels in CHW, C order), with
C 1 or 3. The labels file is `np.save` of a float32 array [N, label_size];
row i belongs to record i of every file (all files hold the images in the
same order). Folders written by the original `dataset_tool.py` are read as
they are, and folders written here can be read by the original
`dataset.py` (`TFRecordDataset`, `parse_tfrecord_tf` / `parse_tfrecord_np`).
"""

import math
import re

import numpy as np

TFRECORDS_SUFFIX = '.tfrecords'
LABELS_SUFFIX = '.labels'
MIN_RESOLUTION_LOG2 = 2  # The smallest file is 4x4 (r02), as the original.
# `<basename>-rNN.tfrecords`: the file of resolution 2^NN.
FILE_RE = re.compile(r'^(?P<basename>.*)-r(?P<log2>\d\d)\.tfrecords$')


def tfrecord_name(basename, resolution_log2):
  """File name of one lod: `<basename>-rNN.tfrecords` (`TFRecordExporter.add_image`)."""
  return f'{basename}-r{resolution_log2:02d}{TFRECORDS_SUFFIX}'


def labels_name(basename):
  """File name of the labels: `<basename>-rxx.labels` (`TFRecordExporter.add_labels`)."""
  return f'{basename}-rxx{LABELS_SUFFIX}'


def check_image_shape(shape, name='image', first=None):
  """Checks one [H, W, C] shape against the original's rules.

  The asserts of `dataset_tool.py` `TFRecordExporter.add_image` (C 1 or 3,
  square, a power of 2, every image of the first one's shape) and of
  `dataset.py` `TFRecordDataset.__init__`.

  Args:
    shape: (H, W, C) of the image.
    name: The image's file name or index, for the messages.
    first: (H, W, C) of the first image of the dataset and its name, as a
      pair, or None for the first image itself.

  Returns:
    resolution_log2 = log2(H).

  Raises:
    ValueError: Naming `name`, if the image is not square, its side is not a
      power of two >= 4, it has neither 1 nor 3 channels, or its shape differs
      from the first image's.
  """
  height, width, channels = (int(d) for d in shape)
  if height != width:
    raise ValueError(
        f'{name} is not square: {width}x{height} (width x height); PGGAN '
        'datasets hold square images.')
  if height < 2**MIN_RESOLUTION_LOG2 or height & (height - 1):
    raise ValueError(
        f'{name}: side {height} is not a power of two >= '
        f'{2**MIN_RESOLUTION_LOG2}; crop or resize it (e.g. --resolution).')
  if channels not in (1, 3):
    raise ValueError(
        f'{name} has {channels} channels; expected 1 (grey) or 3 (RGB).')
  if first is not None and tuple(first[0]) != (height, width, channels):
    first_shape, first_name = first
    raise ValueError(
        f'{name} is {width}x{height}x{channels} but the first image '
        f'({first_name}) is {first_shape[1]}x{first_shape[0]}x{first_shape[2]}; '
        'every image of a dataset must have the same size and channels.')
  return height.bit_length() - 1


def feature_spec():
  """The features of one record, for `tf.io.parse_example`: int64 `shape` [3], bytes `data`."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  return {'shape': tf.io.FixedLenFeature([3], tf.int64),
          'data': tf.io.FixedLenFeature([], tf.string)}


def encode_example(image):
  """Serialises a uint8 [H, W, C] image as the original `tf.train.Example`.

  Returns:
    Bytes of an Example with `shape` = [C, H, W] (int64) and `data` = the CHW
    pixels in C order.
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  chw = np.ascontiguousarray(np.transpose(image, (2, 0, 1)), dtype=np.uint8)
  feature = {
      'shape': tf.train.Feature(int64_list=tf.train.Int64List(value=chw.shape)),
      'data': tf.train.Feature(bytes_list=tf.train.BytesList(value=[chw.tobytes()])),
  }
  example = tf.train.Example(features=tf.train.Features(feature=feature))
  return example.SerializeToString()


def decode_example(record, name='record'):
  """Parses one serialised Example into its uint8 [H, W, C] image.

  Raises:
    ValueError: Naming `name`, if the record lacks `shape` or `data`, the
      shape is not [C, H, W] or the byte count does not match it.
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  try:
    features = tf.train.Example.FromString(record).features.feature
  except Exception as error:  # pylint: disable=broad-except  (protobuf DecodeError)
    raise ValueError(f'{name} is not a tf.train.Example: {error}') from None
  if 'shape' not in features or 'data' not in features:
    raise ValueError(
        f'{name} lacks the features "shape" and "data" of the PGGAN format; '
        f'it has: {", ".join(sorted(features)) or "none"}.')
  shape = tuple(int(d) for d in features['shape'].int64_list.value)
  data = features['data'].bytes_list.value
  if len(shape) != 3 or len(data) != 1 or len(data[0]) != math.prod(shape):
    raise ValueError(
        f'{name}: "shape" {list(shape)} and {sum(len(d) for d in data)} bytes of '
        '"data" do not form one uint8 [C, H, W] image.')
  chw = np.frombuffer(data[0], np.uint8).reshape(shape)
  return np.transpose(chw, (1, 2, 0))

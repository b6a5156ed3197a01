"""TensorFlow Datasets, read from an already-prepared data_dir; never downloads.

Spec: `tfds:<name>` (the name may carry a config/version as TFDS accepts,
e.g. `tfds:mnist:3.*.*`). Options:
  data_dir: the TFDS data folder; None means TFDS's default search
    (`$TFDS_DATA_DIR` or `~/tensorflow_datasets`).
  image_size: None, or the side of the square every image is centre-cropped
    and resized to (needed for datasets whose images vary in size).
The split is passed to TFDS as is ('train', 'test', ...).
"""

import numpy as np

from tf_gans.data.source import ArraySource
from tf_gans.data.source import DATASETS
from tf_gans.data.source import reject_options

_BATCH = 1024


def _not_prepared_error(name, data_dir, error):
  """Builds the error for a dataset that is absent from the data_dir."""
  where = data_dir or '$TFDS_DATA_DIR or ~/tensorflow_datasets (the default)'
  return FileNotFoundError(
      f'TFDS dataset {name!r} is not prepared in {where}, and tf_gans never '
      'downloads. Run `tfds build '
      f'{name}` on a machine with network access, then copy the prepared '
      f'folder (<data_dir>/{name.split(":")[0]}/...) into this data_dir or '
      f'~/tensorflow_datasets, or pass data_dir. TFDS said: {error}')


def _load_tf_dataset(name, split, data_dir):
  """Returns the tf.data.Dataset of one prepared TFDS split."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  try:
    return tfds.load(name, split=split, data_dir=data_dir, download=False,
                     try_gcs=False)
  except AssertionError as error:  # TFDS's "could not find data in ...".
    raise _not_prepared_error(name, data_dir, error) from None
  except tfds.core.registered.DatasetNotFoundError as error:
    first_line = str(error).splitlines()[0]
    raise ValueError(
        f'Unknown TFDS dataset in spec tfds:{name}: {first_line}') from None


def _prepare_image(features, name, image_size):
  """Returns the uint8 HWC image of one example, optionally crop-resized."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if 'image' not in features:
    raise ValueError(
        f'TFDS dataset {name!r} has no "image" feature; features: '
        f'{", ".join(sorted(features))}.')
  image = features['image']
  if image.dtype != tf.uint8 or image.shape.rank != 3:
    raise ValueError(
        f'TFDS dataset {name!r}: "image" must be uint8 [H, W, C], got '
        f'{image.dtype.name} {image.shape}.')
  if image_size is None:
    return image
  return _crop_resize(image, int(image_size))


def _crop_resize(image, size):
  """Centre-crops a uint8 image tensor to a square and resizes it (area)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  shape = tf.shape(image)
  side = tf.minimum(shape[0], shape[1])
  image = tf.image.resize_with_crop_or_pad(image, side, side)
  image = tf.image.resize(image, [size, size], method='area', antialias=True)
  return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)


def _to_numpy(dataset, name, image_size):
  """Reads (image, label-or-None) of every example into numpy arrays."""
  has_label = 'label' in dataset.element_spec

  def select(features):
    image = _prepare_image(features, name, image_size)
    label = features['label'] if has_label else 0
    return image, label

  dataset = dataset.map(select)
  if not dataset.element_spec[0].shape.is_fully_defined():
    raise ValueError(
        f'TFDS dataset {name!r} has images of varying size '
        f'{dataset.element_spec[0].shape}; pass image_size (CLI --image_size) '
        'to centre-crop and resize them.')
  images, labels = [], []
  for image_batch, label_batch in dataset.batch(_BATCH).as_numpy_iterator():
    images.append(image_batch)
    labels.append(label_batch)
  if not images:
    raise ValueError(f'TFDS dataset {name!r}: the split holds no examples.')
  labels = np.concatenate(labels).astype(np.int64) if has_label else None
  return np.concatenate(images), labels


@DATASETS.register('tfds', usage='tfds:<name>')
def load_tfds(arg, split, data_dir=None, image_size=None, **options):
  """Loads one split of a prepared TFDS image dataset into memory.

  Args:
    arg: The TFDS name, e.g. 'mnist', 'cifar10', 'celeb_a'.
    split: A TFDS split name, e.g. 'train'.
    data_dir: TFDS data folder, or None for the TFDS default.
    image_size: None, or a square side to centre-crop and resize to.
    **options: Unused; each must be None.

  Returns:
    An `ArraySource` with uint8 images, scale 1/255, and labels when the
    dataset has a 'label' feature.

  Raises:
    FileNotFoundError: If the dataset is not prepared in `data_dir`.
  """
  if not arg:
    raise ValueError("Dataset 'tfds' needs a name: 'tfds:<name>'.")
  reject_options('tfds', options)
  dataset = _load_tf_dataset(arg, split, data_dir)
  images, labels = _to_numpy(dataset, arg, image_size)
  return ArraySource(
      name=f'tfds:{arg}:{split}', images=images, scale=1.0 / 255,
      labels=labels)

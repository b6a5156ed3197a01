"""Writes PGGAN datasets from images, MNIST, TFDS or offline photos (the create_* commands).

The library behind `python -m tf_gans.dataset_tool`: each `create_*` writes
a multi-resolution TFRecords folder (`tf_gans.data.tfrecords`) with the
original tool's conventions: images in `np.random.RandomState(123).shuffle(
arange(N))` order (create_from_images only with shuffle, its default),
one-hot float32 labels where the source has classes, and an existing
non-empty folder refused before any slow work unless `overwrite`.
`create_photo_crops` needs no download: random square crops of the colour
photographs shipped inside the scikit-learn and scikit-image wheels
(`PHOTOS`).
"""

import os
import pathlib

import numpy as np

from tf_gans.data import tfrecords

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp')
SHUFFLE_SEED = 123  # RandomState seed of the original create_* commands.
MNIST_PAD = 2  # 28x28 -> 32x32, as the original create_mnist.
MNIST_CLASSES = 10
# Colour photographs available offline: (package, name). sklearn names are
# files of `load_sample_images()`, skimage names are `skimage.data` functions
# ('stereo_motorcycle' is the left image of the stereo pair).
PHOTOS = (
    ('sklearn', 'china.jpg'),
    ('sklearn', 'flower.jpg'),
    ('skimage', 'astronaut'),
    ('skimage', 'chelsea'),
    ('skimage', 'coffee'),
    ('skimage', 'rocket'),
    ('skimage', 'stereo_motorcycle'),
    ('skimage', 'hubble_deep_field'),
    ('skimage', 'immunohistochemistry'),
)
# A crop's side is uniform in [CROP_MIN_FRACTION * short side, short side].
CROP_MIN_FRACTION = 0.25
_GREY_MODES = frozenset(('1', 'L', 'LA', 'I', 'I;16', 'I;16B', 'I;16L', 'F'))


def shuffled_order(num_images):
  """The original's image order: `RandomState(123).shuffle(arange(N))`."""
  order = np.arange(num_images)
  np.random.RandomState(SHUFFLE_SEED).shuffle(order)
  return order


def one_hot(labels, num_classes):
  """float32 [N, num_classes] one-hot rows of integer `labels` [N]."""
  labels = np.asarray(labels, np.int64)
  if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
    raise ValueError(
        f'labels must lie in [0, {num_classes}), got [{labels.min()}, {labels.max()}].')
  onehot = np.zeros([labels.size, num_classes], np.float32)
  onehot[np.arange(labels.size), labels] = 1.0
  return onehot


def write_arrays(tfrecord_dir, images, labels=None, order=None, overwrite=False,
                 progress=True, names=None):
  """Writes images (and labels) to a dataset folder in the given order.

  Args:
    tfrecord_dir: The folder to create.
    images: Sequence of N arrays [H, W] or [H, W, C] (e.g. a uint8 [N, H, W, C]
      array), or a callable i -> image with `names` giving N.
    labels: Optional float array [N, label_size] in the same indexing.
    order: Optional permutation of range(N): record k is image order[k].
    overwrite: Replace an existing non-empty folder.
    progress: Print progress lines for long exports.
    names: Optional list of N names used in error messages.

  Returns:
    The `WriteSummary`.
  """
  count = len(names) if names is not None else len(images)
  order = np.arange(count) if order is None else np.asarray(order)
  get = images if callable(images) else images.__getitem__
  with tfrecords.MultiResWriter(tfrecord_dir, expected_images=count, overwrite=overwrite,
                                progress=progress) as writer:
    for index in order:
      writer.add_image(get(int(index)), names[index] if names is not None else f'image {index}')
    if labels is not None:
      writer.add_labels(np.asarray(labels)[order])
  return writer.summary


# ---------------------------------------------------------------------------
# create_from_images


def list_image_files(image_dir):
  """Sorted PNG/JPEG/BMP files directly inside `image_dir` (not recursive)."""
  directory = pathlib.Path(image_dir)
  if not directory.is_dir():
    raise FileNotFoundError(f'Image folder {directory} does not exist.')
  paths = sorted(p for p in directory.iterdir()
                 if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
  if not paths:
    raise ValueError(
        f'Image folder {directory} holds no images ({", ".join(IMAGE_EXTENSIONS)}, any case).')
  return paths


def _read_header(path):
  """(width, height, mode) of an image file, without decoding its pixels."""
  from PIL import Image  # pylint: disable=import-outside-toplevel
  try:
    with Image.open(path) as image:
      return image.size[0], image.size[1], image.mode
  except OSError as error:
    raise ValueError(f'{path} cannot be read as an image: {error}') from None


def scan_images(paths):
  """Checks every file's size from its header; returns the Pillow mode to use.

  Every image must be square with a power-of-two side >= 4, all of one size,
  so an export fails before writing anything. The mode is 'RGB' if any image
  is colour, else 'L'.

  Raises:
    ValueError: Naming the file, for an unreadable or badly sized image.
  """
  first = None
  any_colour = False
  for path in paths:
    width, height, mode = _read_header(path)
    shape = (height, width, 1)
    if first is None:
      tfrecords.check_image_shape(shape, str(path))
      first = (shape, str(path))
    else:
      tfrecords.check_image_shape(shape, str(path), first)
    any_colour = any_colour or mode not in _GREY_MODES
  return 'RGB' if any_colour else 'L'


def _decode(path, mode):
  """uint8 pixels of `path` converted to `mode` ([H, W] or [H, W, 3])."""
  from PIL import Image  # pylint: disable=import-outside-toplevel
  try:
    with Image.open(path) as image:
      return np.asarray(image.convert(mode), dtype=np.uint8)
  except OSError as error:
    raise ValueError(f'{path} cannot be decoded: {error}') from None


def create_from_images(tfrecord_dir, image_dir, shuffle=True, overwrite=False, progress=True):
  """All PNG/JPEG/BMP images of a folder (original `dataset_tool.py` `create_from_images`).

  Files are taken in sorted name order, then shuffled with RandomState(123)
  when `shuffle` (the original's default). Grey images stay 1-channel unless
  the folder also holds colour images, in which case all become RGB.
  """
  _check_target(tfrecord_dir, overwrite)
  paths = list_image_files(image_dir)
  mode = scan_images(paths)
  order = shuffled_order(len(paths)) if shuffle else None
  return write_arrays(tfrecord_dir, lambda i: _decode(paths[i], mode), order=order,
                      overwrite=overwrite, progress=progress, names=[str(p) for p in paths])


# ---------------------------------------------------------------------------
# create_mnist


def create_mnist(tfrecord_dir, idx_dir, split='train', overwrite=False, progress=True):
  """MNIST IDX files padded to 32x32, 1 channel, one-hot labels [N, 10].

  Reads `train-images*idx3-ubyte*` / `t10k-...` with
  `tf_gans.data.mnist_idx`, pads 2 pixels on each side and writes the images
  in RandomState(123) order, as the original create_mnist.
  """
  from tf_gans.data import mnist_idx  # pylint: disable=import-outside-toplevel
  _check_target(tfrecord_dir, overwrite)
  source = mnist_idx.load_mnist_idx(os.fspath(idx_dir), split)
  if source.labels is None:
    raise FileNotFoundError(
        f'MNIST folder {idx_dir} has no labels file for split {split!r} '
        f"('{mnist_idx._PREFIX[split]}-labels-idx1-ubyte[.gz]').")  # pylint: disable=protected-access
  pad = ((0, 0), (MNIST_PAD, MNIST_PAD), (MNIST_PAD, MNIST_PAD), (0, 0))
  images = np.pad(source.images, pad)
  return write_arrays(tfrecord_dir, images, one_hot(source.labels, MNIST_CLASSES),
                      order=shuffled_order(len(images)), overwrite=overwrite, progress=progress)


# ---------------------------------------------------------------------------
# create_from_tfds / create_cifar10


def _tfds_num_classes(name, data_dir, labels):
  """Number of classes of a TFDS 'label' feature (from its info if possible)."""
  try:
    import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
    return int(tfds.builder(name, data_dir=data_dir).info.features['label'].num_classes)
  except Exception:  # pylint: disable=broad-except  (no info offline: use the data)
    return int(labels.max()) + 1


def create_from_tfds(tfrecord_dir, tfds_name, split='train', data_dir=None, resolution=None,
                     overwrite=False, progress=True):
  """One split of a prepared TFDS dataset; never downloads.

  Images are centre-cropped and resized (area) to `resolution` when given;
  a 'label' feature becomes one-hot labels. RandomState(123) order.

  Raises:
    FileNotFoundError: Naming the dataset and `tfds build <name>`, if it is
      not prepared in `data_dir`.
  """
  from tf_gans.data import tfds_source  # pylint: disable=import-outside-toplevel
  _check_target(tfrecord_dir, overwrite)
  if resolution is not None:
    _check_resolution(resolution)
  source = tfds_source.load_tfds(tfds_name, split, data_dir=data_dir, image_size=resolution)
  labels = None
  if source.labels is not None:
    labels = one_hot(source.labels, _tfds_num_classes(tfds_name, data_dir, source.labels))
  return write_arrays(tfrecord_dir, source.images, labels,
                      order=shuffled_order(source.num_examples), overwrite=overwrite,
                      progress=progress)


def create_cifar10(tfrecord_dir, data_dir=None, overwrite=False, progress=True):
  """CIFAR-10 training set (50000 x 32x32x3, one-hot labels [N, 10]) from TFDS."""
  return create_from_tfds(tfrecord_dir, 'cifar10', 'train', data_dir=data_dir,
                          overwrite=overwrite, progress=progress)


# ---------------------------------------------------------------------------
# create_photo_crops


def load_photos():
  """The colour photographs of `PHOTOS`, as a list of (name, uint8 [H, W, 3])."""
  from sklearn.datasets import load_sample_images  # pylint: disable=import-outside-toplevel
  import skimage.data  # pylint: disable=import-outside-toplevel
  sklearn_photos = load_sample_images()
  by_file = {os.path.basename(f): image
             for f, image in zip(sklearn_photos.filenames, sklearn_photos.images)}
  photos = []
  for package, name in PHOTOS:
    if package == 'sklearn':
      image = by_file[name]
    else:
      image = getattr(skimage.data, name)()
      if isinstance(image, tuple):  # stereo_motorcycle: (left, right, disparity).
        image = image[0]
    photos.append((f'{package}:{name}', np.asarray(image, np.uint8)))
  return photos


def random_crop(photo, resolution, rng):
  """One random square crop of `photo` resized to resolution x resolution.

  The side is uniform in [max(short / 4, min(resolution, short)), short]
  (no upscaling when the photo allows it), the position uniform; the crop
  is resized with Pillow's LANCZOS filter.
  """
  from PIL import Image  # pylint: disable=import-outside-toplevel
  height, width = photo.shape[:2]
  short = min(height, width)
  low = max(int(np.ceil(short * CROP_MIN_FRACTION)), min(resolution, short))
  side = rng.randint(low, short + 1)
  top = rng.randint(0, height - side + 1)
  left = rng.randint(0, width - side + 1)
  crop = Image.fromarray(photo[top:top + side, left:left + side])
  return np.asarray(crop.resize((resolution, resolution), Image.Resampling.LANCZOS), np.uint8)


def create_photo_crops(tfrecord_dir, resolution=32, num_images=2000, seed=0, overwrite=False,
                       progress=True):
  """Random square crops of real photographs, deterministic given `seed`.

  Crop k picks a photo of `PHOTOS` uniformly, then a crop (`random_crop`),
  all from `np.random.RandomState(seed)`; no labels.
  """
  if int(num_images) <= 0:
    raise ValueError(f'--num_images must be positive, got {num_images}.')
  _check_resolution(resolution)
  _check_target(tfrecord_dir, overwrite)
  photos = load_photos()
  rng = np.random.RandomState(int(seed))

  def crop(_):
    return random_crop(photos[rng.randint(len(photos))][1], int(resolution), rng)

  # Crops are drawn in record order, so the stream of rng draws is fixed.
  return write_arrays(tfrecord_dir, crop, overwrite=overwrite, progress=progress,
                      names=[f'crop {k}' for k in range(int(num_images))])


def _check_target(tfrecord_dir, overwrite):
  """Refuses an existing dataset folder before any slow work (see MultiResWriter)."""
  tfrecords.check_target(tfrecord_dir, overwrite)


def _check_resolution(resolution):
  """Raises ValueError unless `resolution` is a power of two >= 4."""
  resolution = int(resolution)
  if resolution < 4 or resolution & (resolution - 1):
    raise ValueError(f'--resolution={resolution}: must be a power of two >= 4.')

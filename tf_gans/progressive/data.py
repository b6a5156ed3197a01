"""Real images at every level of detail, as the progressive trainer reads them.

Reference: the official github.com/tkarras/progressive_growing_of_gans
`dataset.py` (`TFRecordDataset`) and `dataset_tool.py` (`TFRecordExporter`,
which writes one TFRecords file per lod). A multi-resolution dataset
has `resolution_log2`, `num_channels`, `label_size`, `labels` (float32
[N, label_size]) and `images(lod, seed, skip=0)`: an infinite tf.data
stream of (uint8 NHWC image, label) at resolution 2**(R - lod), a pure
function of (seed, skip), so a resumed run continues the exact stream.
Under several workers `images(lod, seed, skip, rows)` takes a
`tf_gans.training.replicas.WorkerRows` and streams only the elements that
worker's replicas train on (selected before anything is gathered or read),
so each host reads minibatch / W images a step, not the global minibatch.

Two implementations: `tf_gans.data.tfrecords.MultiResDataset` (the
reference's TFRecords folders, `--dataset=tfrecords:<dir>`) and `ArrayLods`
here, for any in-memory source of `tf_gans.data` (digits, mnist_idx, folder,
tfds): the lower levels are computed as `dataset_tool.py`
`TFRecordExporter.add_image` computes them (2x2
means of the unquantised level above, then rint and clip). Both draw the
order per lod, the same way: the same images stream identically from memory
and from their TFRecords folder.
"""

import numpy as np

TFRECORDS_PREFIX = 'tfrecords:'
BUILTIN_PHOTOS_PREFIX = 'builtin_photos:'


def downscale_levels(images_uint8):
  """{lod: uint8 NHWC} for lod 0..R-2, each level from the float level above."""
  levels = {0: images_uint8}
  x = images_uint8.astype(np.float32)
  lod = 0
  while x.shape[1] > 4:
    x = (x[:, 0::2, 0::2] + x[:, 0::2, 1::2] + x[:, 1::2, 0::2] + x[:, 1::2, 1::2]) * 0.25
    lod += 1
    levels[lod] = np.clip(np.rint(x), 0, 255).astype(np.uint8)
  return levels


class ArrayLods:
  """Every level of detail of an in-memory uint8 image array [N, H, W, C]."""

  def __init__(self, images_uint8, labels=None, name='images'):
    n, h, w, c = images_uint8.shape
    if h != w or h < 4 or h & (h - 1):
      raise ValueError(f'{name}: progressive training needs square power-of-two images >= 4x4, '
                       f'got {h}x{w} (pad them, e.g. --pad_to=32 for MNIST).')
    if c not in (1, 3):
      raise ValueError(f'{name}: images need 1 or 3 channels, got {c}.')
    self.name = name
    self.resolution = h
    self.resolution_log2 = h.bit_length() - 1
    self.num_channels = c
    self.num_images = n
    self.labels = (np.zeros([n, 0], np.float32) if labels is None
                   else np.asarray(labels, np.float32))
    self.label_size = self.labels.shape[1]
    self._levels = downscale_levels(np.asarray(images_uint8, np.uint8))

  @property
  def lods(self):
    return sorted(self._levels)

  def level(self, lod):
    if lod not in self._levels:
      raise ValueError(f'{self.name}: no lod {lod}; available: {self.lods}.')
    return self._levels[lod]

  def images(self, lod, seed, skip=0, rows=None):
    """Shuffled passes over the images of `lod`, from element `skip` on.

    The order is the TFRecords reader's (`tf_gans.data.tfrecords.MultiResDataset.images`):
    element i lies in epoch e = i // N at slot p = i % N and shows image
    `index_shuffle(p, seed=(seed, e, 2 + lod))`, so every epoch is a fresh
    permutation and every lod has its own permutations (the original
    `dataset.py` shuffles each lod's pipeline independently), and the same
    images give the same stream in memory and in a TFRecords folder. A pure
    function of (lod, seed, skip): `skip=k` is the stream without its first
    k elements, at no cost.

    rows: a `tf_gans.training.replicas.WorkerRows`: only this worker's
      elements of the stream (counted from `skip`, so a resumed stream selects
      what the straight one did), chosen from the stream positions before any
      image is gathered; None or one worker: every element.
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    from tf_gans.data.tfrecords import reader  # pylint: disable=import-outside-toplevel
    if int(skip) < 0:
      raise ValueError(f'skip must be >= 0, got {skip}.')
    images = tf.constant(self.level(lod))
    labels = tf.constant(self.labels)
    # One definition of the order for both sources (the reader's position -> record).
    image_of = reader._shuffle_fn(self.num_images, int(seed), int(lod))  # pylint: disable=protected-access
    positions = tf.data.Dataset.counter(start=int(skip), dtype=tf.int64)
    if rows is not None:
      positions = rows.select(positions)
    return positions.map(lambda p: self._gather(images, labels, image_of(p)))

  @staticmethod
  def _gather(images, labels, index):
    """The read of one stream element: (image, label) of image `index`."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    return tf.gather(images, index), tf.gather(labels, index)


def open_run_dataset(cfg):
  """The dataset of a run config (`ProgressiveConfig`: dataset, split, pad_to, data_dir, seed)."""
  return open_dataset(cfg.dataset, cfg.split, cfg.pad_to, cfg.data_dir, seed=cfg.seed)


def open_dataset(spec, split='train', pad_to=0, data_dir='', seed=0):
  """A multi-resolution dataset for `--dataset`: `tfrecords:<dir>`, a tf_gans.data spec,
  or `builtin_photos:<resolution>` (what `--smoke` falls back to; `seed` picks the crops)."""
  if spec.startswith(BUILTIN_PHOTOS_PREFIX):
    try:
      resolution = int(spec[len(BUILTIN_PHOTOS_PREFIX):])
    except ValueError:
      raise ValueError(f'--dataset={spec}: expected {BUILTIN_PHOTOS_PREFIX}<resolution>, e.g. '
                       f'{BUILTIN_PHOTOS_PREFIX}64.') from None
    return builtin_photos(resolution, num_images=32, seed=seed)
  if spec.startswith(TFRECORDS_PREFIX):
    import os  # pylint: disable=import-outside-toplevel
    path = spec[len(TFRECORDS_PREFIX):]
    if not os.path.isdir(path):
      raise FileNotFoundError(f'--dataset={spec}: no folder {path}; write one with '
                              f'`python -m tf_gans.dataset_tool create_... {path} ...`.')
    from tf_gans.data import tfrecords  # pylint: disable=import-outside-toplevel
    return tfrecords.MultiResDataset(path)
  from tf_gans import data  # pylint: disable=import-outside-toplevel
  kwargs = {'data_dir': data_dir} if spec.startswith('tfds:') and data_dir else {}
  source = data.load_source(spec, split, **kwargs)
  if pad_to:
    source = source.pad_to(pad_to)
  images = np.clip(np.rint(source.as_float() * 255.0), 0, 255).astype(np.uint8)
  # Label rows as stored (multi-hot kept), class indices one-hot (ArraySource.label_vectors).
  return ArrayLods(images, source.label_vectors(), name=source.name)


def builtin_photos(resolution, num_images=64, seed=0):
  """Random square crops of scikit-learn's two sample photographs, resized (offline).

  Crop sides are uniform in [1/4, 1] of the photo's short side; PIL's
  Lanczos resize. Used by `--smoke` when the config's dataset is absent.
  """
  from PIL import Image  # pylint: disable=import-outside-toplevel
  from sklearn.datasets import load_sample_images  # pylint: disable=import-outside-toplevel
  photos = load_sample_images().images
  rng = np.random.default_rng(seed)
  out = np.empty([num_images, resolution, resolution, 3], np.uint8)
  for i in range(num_images):
    photo = photos[i % len(photos)]
    h, w = photo.shape[:2]
    side = int(rng.integers(min(h, w) // 4, min(h, w) + 1))
    y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    crop = Image.fromarray(photo[y:y + side, x:x + side])
    out[i] = np.asarray(crop.resize((resolution, resolution), Image.LANCZOS))
  return ArrayLods(out, name=f'built-in photo crops {resolution}x{resolution}')

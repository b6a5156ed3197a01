"""Look at existing datasets: `display`, `extract` and `compare` of the original `dataset_tool.py`.

All three read the images in file order at full resolution (lod 0), as the
original does through `dataset.py` `TFRecordDataset(..., repeat=False,
shuffle_mb=0)`, one batch at a time (`MultiResDataset.iter_images`).
`display` cannot open the original's cv2 window (no display here): it prints
the index and label of each shown image and saves them as one PNG grid.
"""

import dataclasses
import math
import os

import numpy as np

from tf_gans.data.tfrecords.reader import MultiResDataset

DISPLAY_IMAGES = 64  # Images in the `display` grid by default.


def _indexed_images(dataset):
  """Yields (index, uint8 [H, W, C]) over the lod-0 images in file order."""
  index = 0
  for batch in dataset.iter_images(0):
    for image in batch:
      yield index, image
      index += 1


def _pil_image(image):
  """A Pillow image of a uint8 [H, W, C] array ('L' for one channel, else 'RGB')."""
  from PIL import Image  # pylint: disable=import-outside-toplevel
  if image.shape[2] == 1:
    return Image.fromarray(image[:, :, 0], 'L')
  return Image.fromarray(image, 'RGB')


def image_grid(images):
  """Tiles uint8 [N, H, W, C] images into a near-square grid, row-major, zero-filled."""
  count, height, width, channels = images.shape
  columns = max(1, math.ceil(math.sqrt(count)))
  rows = max(1, math.ceil(count / columns))
  grid = np.zeros([rows * height, columns * width, channels], np.uint8)
  for k, image in enumerate(images):
    row, column = divmod(k, columns)
    grid[row * height:(row + 1) * height, column * width:(column + 1) * width] = image
  return grid


def display(tfrecord_dir, output=None, num_images=DISPLAY_IMAGES):
  """The original `dataset_tool.py` `display`, without a window.

  Prints `idx = i` and `label = [...]` for each of the first `num_images`
  images (file order, full resolution) as the original does, and saves
  them as one grid PNG instead of showing them one by one with cv2.

  Args:
    tfrecord_dir: The dataset folder.
    output: PNG path of the grid; default `<tfrecord_dir>-display.png`
      beside the folder.
    num_images: How many images to show (>= 1).

  Returns:
    The text to print: one line per image, then where the grid is.
  """
  if int(num_images) < 1:
    raise ValueError(f'--num_images must be >= 1, got {num_images}.')
  dataset = MultiResDataset(tfrecord_dir)
  output = os.fspath(output) if output else os.path.normpath(os.fspath(tfrecord_dir)) + '-display.png'
  lines, shown = [], []
  for index, image in _indexed_images(dataset):
    if index >= int(num_images):
      break
    lines.append(f'idx = {index:<8d} label = {dataset.labels[index].tolist()}')
    shown.append(image)
  folder = os.path.dirname(output)
  if folder:
    os.makedirs(folder, exist_ok=True)
  _pil_image(image_grid(np.stack(shown))).save(output)
  lines.append(f'Displayed {len(shown)} images (of {dataset.num_images}) in {output}.')
  return '\n'.join(lines)


def extract(tfrecord_dir, output_dir):
  """The original `dataset_tool.py` `extract`: every full-resolution image as a PNG.

  Files `img00000000.png`, `img00000001.png`, ... in file order, 'L' for
  grey datasets and 'RGB' otherwise (labels are not written).

  Returns:
    The number of images written.
  """
  dataset = MultiResDataset(tfrecord_dir)
  os.makedirs(output_dir, exist_ok=True)
  count = 0
  for index, image in _indexed_images(dataset):
    _pil_image(image).save(os.path.join(output_dir, f'img{index:08d}.png'))
    count += 1
  return count


@dataclasses.dataclass
class Comparison:
  """What `compare` found.

  Attributes:
    num_compared: Image pairs compared (the shorter dataset's count).
    identical_images: Pairs with equal shapes and pixels.
    identical_labels: Pairs with equal label rows (shapes and values).
    different_images: Indices of the differing images.
    different_labels: Indices of the differing label rows.
    different_counts: True if the datasets hold different numbers of images.
    ignore_labels: Whether labels were left out of the report.
  """

  num_compared: int
  identical_images: int
  identical_labels: int
  different_images: list
  different_labels: list
  different_counts: bool
  ignore_labels: bool

  def report(self):
    """The original's printout: each difference, then the identical counts."""
    lines = [f'Image {i} is different' for i in self.different_images]
    if not self.ignore_labels:
      lines += [f'Label {i} is different' for i in self.different_labels]
    if self.different_counts:
      lines.append('Datasets contain different number of images')
    lines.append(f'Identical images: {self.identical_images} / {self.num_compared}')
    if not self.ignore_labels:
      lines.append(f'Identical labels: {self.identical_labels} / {self.num_compared}')
    return '\n'.join(lines)


def compare(tfrecord_dir_a, tfrecord_dir_b, ignore_labels=False):
  """The original `dataset_tool.py` `compare`: counts identical images and labels.

  Walks both datasets in file order at full resolution until the shorter
  ends; image pair i is identical when shapes and pixels are equal, label
  pair i when the rows (all columns; none without labels) are equal.

  Returns:
    A `Comparison`.
  """
  a = MultiResDataset(tfrecord_dir_a)
  b = MultiResDataset(tfrecord_dir_b)
  identical_images = identical_labels = count = 0
  different_images, different_labels = [], []
  for (index, image_a), (_, image_b) in zip(_indexed_images(a), _indexed_images(b)):
    if image_a.shape == image_b.shape and np.array_equal(image_a, image_b):
      identical_images += 1
    else:
      different_images.append(index)
    label_a, label_b = a.labels[index], b.labels[index]
    if label_a.shape == label_b.shape and np.array_equal(label_a, label_b):
      identical_labels += 1
    else:
      different_labels.append(index)
    count += 1
  return Comparison(
      num_compared=count, identical_images=identical_images, identical_labels=identical_labels,
      different_images=different_images, different_labels=different_labels,
      different_counts=a.num_images != b.num_images, ignore_labels=bool(ignore_labels))

"""A folder (searched recursively) of image files, loaded into memory.

Spec: `folder:<path>`; only split `train`. Options:
  image_size: None keeps the native size (all images must then share it);
    an int centre-crops every image to a square and resizes it to
    image_size x image_size with Pillow's LANCZOS filter.
  channels: 1 (Pillow mode 'L') or 3 ('RGB'); None picks 3 if any image is
    colour, else 1.
"""

import os
import pathlib

import numpy as np

from tf_gans import progress
from tf_gans.data.source import ArraySource
from tf_gans.data.source import DATASETS
from tf_gans.data.source import check_split
from tf_gans.data.source import reject_options

EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.gif')

# Pillow modes without colour information.
_GREY_MODES = frozenset(('1', 'L', 'LA', 'La', 'I', 'I;16', 'I;16B', 'I;16L',
                         'I;16N', 'F'))
_MAX_LISTED = 10
_PROGRESS_THRESHOLD = 1000  # folders of more images show a loading counter


def list_images(directory):
  """Returns the sorted image files under `directory` (recursive).

  Raises:
    FileNotFoundError: If `directory` is not a folder.
    ValueError: If it holds no file with an accepted extension.
  """
  if not directory.is_dir():
    raise FileNotFoundError(f'Image folder {directory} does not exist.')
  paths = sorted(p for p in directory.rglob('*')
                 if p.suffix.lower() in EXTENSIONS and p.is_file())
  if not paths:
    raise ValueError(
        f'Image folder {directory} holds no images; accepted extensions: '
        f'{", ".join(EXTENSIONS)} (searched recursively, any case).')
  return paths


def _read_mode(path):
  """Returns the Pillow mode from the file header (no pixel decoding)."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  with Image.open(path) as image:
    return image.mode


def _decode(path, mode, image_size):
  """Decodes `path` to a uint8 array [H, W] or [H, W, 3] in `mode`."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  with Image.open(path) as image:
    image.load()
    image = image.convert(mode)
  if image_size is not None:
    image = _crop_resize(image, image_size)
  return np.asarray(image, dtype=np.uint8)


def _crop_resize(image, size):
  """Centre-crops a Pillow image to a square and resizes it to size x size."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  width, height = image.size
  side = min(width, height)
  left = (width - side) // 2
  top = (height - side) // 2
  box = (left, top, left + side, top + side)
  # Crop first: resizing with `box=` would blend in pixels outside the box.
  return image.crop(box).resize((size, size), Image.Resampling.LANCZOS)


def _corrupt_error(directory, corrupt):
  """Builds the ValueError listing corrupt files (path, reason) pairs."""
  lines = [f'  {path}: {reason}' for path, reason in corrupt[:_MAX_LISTED]]
  if len(corrupt) > _MAX_LISTED:
    lines.append(f'  ... and {len(corrupt) - _MAX_LISTED} more')
  return ValueError(
      f'Image folder {directory}: {len(corrupt)} file(s) could not be read '
      'as images:\n' + '\n'.join(lines))


def _size_error(directory, paths, arrays):
  """Returns a ValueError naming two files of different sizes, or None."""
  first = arrays[0].shape
  for path, array in zip(paths, arrays):
    if array.shape[:2] != first[:2]:
      return ValueError(
          f'Image folder {directory} mixes image sizes, e.g. {paths[0]} is '
          f'{first[1]}x{first[0]} and {path} is {array.shape[1]}x'
          f'{array.shape[0]} (width x height); pass image_size (the CLI flag '
          '--image_size) to centre-crop and resize every image to one square '
          'size.')
  return None


def _pick_mode(channels, paths, corrupt):
  """Returns the Pillow mode to convert to, reading headers if needed."""
  if channels not in (None, 1, 3):
    raise ValueError(f'channels must be 1, 3 or None, got {channels!r}.')
  if channels is not None:
    return 'L' if channels == 1 else 'RGB'
  any_colour = False
  for path in paths:
    try:
      any_colour = any_colour or _read_mode(path) not in _GREY_MODES
    except Exception as error:  # pylint: disable=broad-except
      corrupt[path] = _reason(error)
  return 'RGB' if any_colour else 'L'


def _reason(error):
  """Short description of a decoding error."""
  return f'{type(error).__name__}: {error}'


def _decode_all(paths, mode, image_size, corrupt):
  """Decodes every path not already known to be corrupt."""
  good_paths, arrays = [], []
  counter = progress.Progress('Loading images', len(paths),
                              enabled=len(paths) > _PROGRESS_THRESHOLD)
  for done, path in enumerate(paths, start=1):
    if path not in corrupt:
      try:
        arrays.append(_decode(path, mode, image_size))
        good_paths.append(path)
      except Exception as error:  # pylint: disable=broad-except
        corrupt[path] = _reason(error)
    counter.update(done)
  return good_paths, arrays


@DATASETS.register('folder', usage='folder:<path>')
def load_folder(arg, split, image_size=None, channels=None, **options):
  """Loads every image under a folder.

  Args:
    arg: The folder.
    split: Must be 'train'.
    image_size: None, or the side of the square every image is centre-cropped
      and resized to.
    channels: 1, 3, or None (3 if any image is colour, else 1).
    **options: Unused; each must be None.

  Returns:
    An `ArraySource` with uint8 images [N, H, W, channels], scale 1/255, no
    labels, in sorted path order.
  """
  if not arg:
    raise ValueError("Dataset 'folder' needs a path: 'folder:<path>'.")
  check_split('folder', split, ('train',))
  reject_options('folder', options)
  if image_size is not None and int(image_size) <= 0:
    raise ValueError(f'image_size must be positive, got {image_size!r}.')
  directory = pathlib.Path(os.path.expanduser(arg))
  paths = list_images(directory)
  corrupt = {}
  mode = _pick_mode(channels, paths, corrupt)
  size = None if image_size is None else int(image_size)
  good_paths, arrays = _decode_all(paths, mode, size, corrupt)
  if corrupt:
    raise _corrupt_error(
        directory, [(p, corrupt[p]) for p in paths if p in corrupt])
  error = _size_error(directory, good_paths, arrays)
  if error is not None:
    raise error
  images = np.stack(arrays)
  if images.ndim == 3:
    images = images[..., np.newaxis]
  return ArraySource(name=f'folder:{directory}', images=images, scale=1.0 / 255)


def _read_size(path):
  """(width, height) from the file header (no pixel decoding)."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  with Image.open(path) as image:
    return image.size


def open_folder(arg, channels=None):
  """Every image under a folder as a lazily decoded `ArraySource` (for evaluation).

  Unlike `load_folder`, nothing is decoded here: each file's header is read, a
  folder that is empty, holds unreadable files or mixes image sizes is refused
  now (naming the files), and the pixels of a row are decoded when it is read
  (`LazyImages`), so a pass over the folder holds one minibatch, however many
  images it holds. Images keep their size (no --image_size: metrics resize).

  Args:
    arg: The folder.
    channels: 1, 3, or None (3 if any image is colour, else 1).
  """
  from tf_gans.data.source import LazyImages  # pylint: disable=g-import-not-at-top
  if not arg:
    raise ValueError("Dataset 'folder' needs a path: 'folder:<path>'.")
  directory = pathlib.Path(os.path.expanduser(arg))
  paths = list_images(directory)
  corrupt = {}
  mode = _pick_mode(channels, paths, corrupt)
  sizes = {}
  for path in paths:
    if path not in corrupt:
      try:
        sizes[path] = _read_size(path)
      except Exception as error:  # pylint: disable=broad-except
        corrupt[path] = _reason(error)
  if corrupt:
    raise _corrupt_error(directory, [(p, corrupt[p]) for p in paths if p in corrupt])
  (width, height), first = sizes[paths[0]], paths[0]
  for path in paths:
    if sizes[path] != (width, height):
      raise ValueError(
          f'Image folder {directory} mixes image sizes, e.g. {first} is {width}x{height} and '
          f'{path} is {sizes[path][0]}x{sizes[path][1]} (width x height); metrics compare '
          'images of one size.')
  depth = 1 if mode == 'L' else 3

  def read(rows):
    out = np.empty([len(rows), height, width, depth], np.uint8)
    for i, row in enumerate(rows):
      try:
        image = _decode(paths[row], mode, None)
      except Exception as error:  # pylint: disable=broad-except
        raise ValueError(f'Image folder {directory}: {paths[row]} could not be decoded: '
                         f'{_reason(error)}.') from None
      out[i] = image.reshape(height, width, depth)
    return out
  images = LazyImages(read, len(paths), (height, width, depth))
  return ArraySource(name=f'folder:{directory}', images=images, scale=1.0 / 255)

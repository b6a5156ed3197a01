"""CAT dataset face crops, prepared as the Relativistic GAN code does.

Reference: github.com/AlexiaJM/RelativisticGAN, `code/preprocess_cat_dataset.py`
and `code/setting_up_script.sh` ("the reference" below). Each image `X.jpg`
of the CAT dataset (Zhang, Sun and Tang, 2008) has an annotation `X.jpg.cat`:
the number of points (9), then 9 integer (x, y) pairs:
left eye, right eye, mouth, left ear 1-3, right ear 1-3. For every image the
reference

  1. swaps the eyes when they look mislabelled (`_eyes` gives the exact test),
  2. rotates the image about the point between the eyes so that the eyes are
     level (`cv2.warpAffine`, bilinear, grey 128 border) and rotates the
     landmarks the same way,
  3. crops a face of width w = |x(right ear 3) - x(left ear 1)| and height
     h = w, placed so that the eye centre sits at (0.5, 0.4) of the face;
     the box is truncated at the left and top image borders (w or h shrink)
     and cut by array slicing at the right and bottom, so it may be
     non-square,
  4. for each size S in 64, 128, 256: if min(h, w) >= S, resizes the crop to
     S x S (`cv2.resize`, bilinear, aspect ratio not kept) and writes it to
     `cats_bigger_than_SxS/X.jpg`.

This module does the same with numpy and Pillow:

  * Rotation uses `PIL.Image.rotate` on a copy padded with 2 grey pixels and
    with the centre moved by half a pixel: Pillow puts pixel centres at
    i + 0.5, OpenCV at i. The result then equals OpenCV's floating-point
    bilinear warp, border included, up to rounding (at most 1 grey level;
    OpenCV's fixed-point arithmetic may differ by another level). Both
    libraries take a positive angle as counter-clockwise on screen (y down).
  * Resizing is `resize_bilinear`, OpenCV's INTER_LINEAR rule (half-pixel
    centres, edge clamping, no anti-aliasing) in numpy, not Pillow's
    BILINEAR, which anti-aliases when shrinking.
  * Images are read as RGB with the EXIF orientation applied, as
    `cv2.imread(path)` does.
  * Outputs are JPEG (quality 95, OpenCV's default) under the input's name,
    as the reference writes them; `image_format='png'` writes lossless PNGs
    (`X.png`) instead.

Differences from the reference, on purpose:

  * All size folders are created (the reference's setup script never creates
    the 256 one and `cv2.imwrite` then fails silently).
  * Images are found recursively (`*.jpg`, any case), so the unzipped
    CAT_00 ... CAT_06 folders need not be merged first.
  * An image without a `.cat` file is skipped and reported (the reference
    crashes). A malformed `.cat` file or an unreadable image raises an error
    naming the file, or is skipped and reported with `skip_bad_files=True`.

Cleaning (`setting_up_script.sh`): the reference deletes
`00000003_019.jpg.cat`, so `00000003_019.jpg` is always skipped here. It
replaces `00000003_015.jpg.cat` with a fixed copy downloaded from the CAT
dataset's web site; that copy is not in the reference repository, so put it
in the input folder yourself (`FIXED_ANNOTATION_URL`); the summary reminds
you. The reference also deletes 134 outlier images; pass their names in an
exclude file (`read_exclude_file`).
"""

import collections
import dataclasses
import math
import pathlib
import sys

import numpy as np

NUM_LANDMARKS = 9
LANDMARK_NAMES = ('left_eye', 'right_eye', 'mouth', 'left_ear_1',
                  'left_ear_2', 'left_ear_3', 'right_ear_1', 'right_ear_2',
                  'right_ear_3')
LEFT_EYE, RIGHT_EYE, MOUTH = 0, 1, 2
LEFT_EAR_1, RIGHT_EAR_3 = 3, 8
DEFAULT_SIZES = (64, 128, 256)
BORDER_VALUE = (128, 128, 128)
JPEG_QUALITY = 95  # cv2.imwrite's default IMWRITE_JPEG_QUALITY.
IMAGE_FORMATS = ('jpeg', 'png')
# setting_up_script.sh deletes this annotation ("Error correction").
DELETED_ANNOTATION_IMAGES = ('00000003_019.jpg',)
# ... and replaces this one with a copy downloaded from here.
FIXED_ANNOTATION_IMAGE = '00000003_015.jpg'
FIXED_ANNOTATION_URL = (
    'https://web.archive.org/web/20150703060412/http://137.189.35.203/WebUI/'
    'CatDatabase/Data/00000003_015.jpg.cat')

# Skip reasons, in the order the summary lists them.
SKIP_EXCLUDED = 'in the exclude list'
SKIP_DELETED = 'annotation deleted by the reference (setting_up_script.sh)'
SKIP_NO_ANNOTATION = 'no .cat annotation file'
SKIP_BAD_ANNOTATION = 'malformed .cat annotation'
SKIP_BAD_IMAGE = 'unreadable image'
SKIP_TOO_SMALL = 'face crop smaller than every requested size'
SKIP_REASONS = (SKIP_EXCLUDED, SKIP_DELETED, SKIP_NO_ANNOTATION,
                SKIP_BAD_ANNOTATION, SKIP_BAD_IMAGE, SKIP_TOO_SMALL)

_PAD = 2  # Grey pixels added around an image before rotating it.
_MAX_LISTED = 10


class AnnotationError(ValueError):
  """A `.cat` annotation file that cannot be parsed."""


def output_folder_name(size):
  """Returns the reference's folder name for `size`, e.g. cats_bigger_than_64x64."""
  return f'cats_bigger_than_{size}x{size}'


def read_landmarks(path):
  """Parses a CAT `.cat` annotation file.

  The file holds whitespace-separated integers: the number of points, which
  must be 9, then 9 (x, y) pairs. The reference reads the first line and
  discards the count; here any whitespace (line breaks included) separates
  the numbers, and a wrong count or number of values is an error.

  Args:
    path: The `.cat` file.

  Returns:
    A float64 array [9, 2] of (x, y) in `LANDMARK_NAMES` order.

  Raises:
    AnnotationError: The file cannot be read or is malformed; the message
      names the file.
  """
  path = pathlib.Path(path)
  try:
    text = path.read_text(encoding='ascii')
  except (OSError, UnicodeDecodeError) as error:
    raise AnnotationError(f'{path}: cannot read: {error}') from error
  tokens = text.split()
  if not tokens:
    raise AnnotationError(f'{path}: empty annotation file.')
  try:
    numbers = [int(token) for token in tokens]
  except ValueError as error:
    raise AnnotationError(
        f'{path}: expected integers only, got {text.strip()[:80]!r}.'
    ) from error
  count, coords = numbers[0], numbers[1:]
  if count != NUM_LANDMARKS:
    raise AnnotationError(
        f'{path}: the first number (the point count) must be '
        f'{NUM_LANDMARKS}, got {count}.')
  if len(coords) != 2 * NUM_LANDMARKS:
    raise AnnotationError(
        f'{path}: expected {2 * NUM_LANDMARKS} coordinates after the count, '
        f'got {len(coords)}.')
  return np.asarray(coords, dtype=np.float64).reshape(NUM_LANDMARKS, 2)


def _eyes(landmarks):
  """Returns (left_eye, right_eye), swapped if they look mislabelled.

  The reference swaps them only when the "left" eye is right of the "right"
  eye (larger x), higher up (smaller y), and the mouth is right of the
  "right" eye, i.e. "the right eye is in the second quadrant of the face
  while the left eye is in the fourth". Other cases with x(left) > x(right)
  are kept, so such faces are turned by about 180 degrees, as in the
  reference.
  """
  left = landmarks[LEFT_EYE]
  right = landmarks[RIGHT_EYE]
  mouth_x = landmarks[MOUTH, 0]
  if left[0] > right[0] and left[1] < right[1] and mouth_x > right[0]:
    left, right = right, left
  return left, right


def eye_center_and_angle(landmarks):
  """Returns the eye centre (x, y) and the angle in degrees that levels the eyes.

  The angle is atan2(dy, dx) from the left to the right eye (after `_eyes`),
  with y pointing down; rotating the image counter-clockwise on screen by it
  (`rotate_image`, `rotate_points`) puts both eyes at the same height.
  """
  left, right = _eyes(np.asarray(landmarks, dtype=np.float64))
  center = (0.5 * (left[0] + right[0]), 0.5 * (left[1] + right[1]))
  angle = math.degrees(math.atan2(right[1] - left[1], right[0] - left[0]))
  return center, angle


def rotate_points(points, center, angle_degrees):
  """Rotates (x, y) points as `rotate_image` rotates the pixels.

  Counter-clockwise on screen (y down) by `angle_degrees` about `center`:
  x' = cx + c dx + s dy and y' = cy - s dx + c dy, with (dx, dy) = p - center,
  c = cos(angle), s = sin(angle); the reference's `rotateCoords`, which is
  also `cv2.getRotationMatrix2D(center, angle, 1)`.

  Args:
    points: Array-like [N, 2] of (x, y) pixel coordinates (pixel centres at
      integers, as in the `.cat` files and OpenCV).
    center: (x, y) of the rotation centre.
    angle_degrees: The angle.

  Returns:
    A float64 array [N, 2].
  """
  points = np.asarray(points, dtype=np.float64)
  radians = math.radians(angle_degrees)
  cos, sin = math.cos(radians), math.sin(radians)
  dx = points[:, 0] - center[0]
  dy = points[:, 1] - center[1]
  return np.stack([center[0] + cos * dx + sin * dy,
                   center[1] - sin * dx + cos * dy], axis=1)


def rotate_image(image, center, angle_degrees):
  """Rotates a Pillow RGB image as `cv2.warpAffine` does in the reference.

  Same size out, bilinear, grey (128, 128, 128) where the source lies outside
  the image, rotation about `center` in OpenCV's pixel coordinates.

  Args:
    image: A Pillow image in mode 'RGB'.
    center: (x, y) of the rotation centre, pixel centres at integers.
    angle_degrees: Counter-clockwise on screen; see `rotate_points`.

  Returns:
    The rotated Pillow image, same size and mode.
  """
  from PIL import Image  # pylint: disable=g-import-not-at-top
  width, height = image.size
  # The grey frame makes Pillow blend edge pixels with the border colour, as
  # OpenCV's BORDER_CONSTANT does, instead of cutting them off.
  padded = Image.new('RGB', (width + 2 * _PAD, height + 2 * _PAD),
                     BORDER_VALUE)
  padded.paste(image, (_PAD, _PAD))
  # Pillow's pixel i covers [i, i + 1): OpenCV's point x is Pillow's x + 0.5.
  pillow_center = (center[0] + 0.5 + _PAD, center[1] + 0.5 + _PAD)
  rotated = padded.rotate(angle_degrees, resample=Image.Resampling.BILINEAR,
                          center=pillow_center, fillcolor=BORDER_VALUE)
  return rotated.crop((_PAD, _PAD, _PAD + width, _PAD + height))


def face_box(center, rotated_landmarks):
  """The reference's face box, before it is cut to the image.

  w = |x(right ear 3) - x(left ear 1)| of the rotated landmarks, h = w,
  min_x = cx - w / 2 and min_y = cy - 2 h / 5. A negative min_x (min_y) is
  added to w (h) and set to 0: the box is truncated at the left (top) border.
  Nothing is done at the right and bottom; `crop_bounds` leaves that to
  slicing.

  Args:
    center: The eye centre (x, y), unchanged by the rotation about it.
    rotated_landmarks: Array [9, 2] after `rotate_points`.

  Returns:
    (min_x, min_y, w, h) as floats.
  """
  w = abs(rotated_landmarks[RIGHT_EAR_3, 0] - rotated_landmarks[LEFT_EAR_1, 0])
  h = w
  min_x = center[0] - w / 2
  if min_x < 0:
    w += min_x
    min_x = 0.0
  min_y = center[1] - h * 2 / 5
  if min_y < 0:
    h += min_y
    min_y = 0.0
  return float(min_x), float(min_y), float(w), float(h)


def crop_bounds(box):
  """Slice bounds (top, bottom, left, right) of `face_box`'s box.

  Each bound is truncated with `int` as in the reference's
  `straight[int(minY):int(minY+h), int(minX):int(minX+w)]`; apply them with
  Python slicing, which cuts the box at the right and bottom borders.
  """
  min_x, min_y, w, h = box
  return int(min_y), int(min_y + h), int(min_x), int(min_x + w)


def crop_face(image, landmarks):
  """Straightens and crops one cat face (`preprocessCatFace` in the reference).

  Args:
    image: A Pillow image in mode 'RGB'.
    landmarks: Array [9, 2] from `read_landmarks`.

  Returns:
    A uint8 array [h, w, 3]; h and w may differ and may be 0.
  """
  landmarks = np.asarray(landmarks, dtype=np.float64)
  center, angle = eye_center_and_angle(landmarks)
  straight = np.asarray(rotate_image(image, center, angle))
  # The reference rotates the landmarks as labelled, not as swapped; only the
  # ears are used below, so this does not matter.
  rotated = rotate_points(landmarks, center, angle)
  top, bottom, left, right = crop_bounds(face_box(center, rotated))
  return straight[top:bottom, left:right]


def _linear_taps(size_in, size_out):
  """Source indices and weights of OpenCV's INTER_LINEAR along one axis."""
  source = (np.arange(size_out) + 0.5) * (size_in / size_out) - 0.5
  first = np.floor(source).astype(np.int64)
  weight = source - first
  before = first < 0
  first[before] = 0
  weight[before] = 0.0
  after = first >= size_in - 1
  first[after] = size_in - 1
  weight[after] = 0.0
  second = np.minimum(first + 1, size_in - 1)
  return first, second, weight


def resize_bilinear(array, size):
  """Resizes [h, w, C] uint8 to [size, size, C] like cv2.resize(INTER_LINEAR).

  Output pixel i samples the input at (i + 0.5) * in / out - 0.5, clamped to
  the image, and blends the two neighbours on each axis linearly; there is no
  anti-aliasing filter when shrinking. OpenCV computes in fixed point, so its
  values may differ from these by one grey level.

  Args:
    array: uint8 array [h, w, C] with h, w >= 1.
    size: The output height and width.

  Returns:
    uint8 array [size, size, C].
  """
  height, width = array.shape[:2]
  values = array.astype(np.float64)
  top, bottom, wy = _linear_taps(height, size)
  wy = wy[:, None, None]
  values = values[top] * (1 - wy) + values[bottom] * wy
  left, right, wx = _linear_taps(width, size)
  wx = wx[None, :, None]
  values = values[:, left] * (1 - wx) + values[:, right] * wx
  return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def read_exclude_file(path):
  """Reads image names to leave out, e.g. the reference's 134 outliers.

  Names are separated by whitespace (one per line, or the arguments of the
  reference's `rm` lines pasted as they are); `#` starts a comment. `X`,
  `X.jpg` and `X.jpg.cat` all name the image `X.jpg`.

  Args:
    path: The text file.

  Returns:
    A set of image file names such as '00000004_007.jpg'.

  Raises:
    FileNotFoundError: `path` does not exist.
  """
  path = pathlib.Path(path)
  if not path.is_file():
    raise FileNotFoundError(f'Exclude file {path} does not exist.')
  names = set()
  for line in path.read_text().splitlines():
    for token in line.split('#', 1)[0].split():
      names.add(_image_name(token))
  return names


def _image_name(token):
  """Normalises an exclude-list entry to an image file name."""
  name = pathlib.PurePath(token).name
  if name.lower().endswith('.cat'):
    name = name[:-len('.cat')]
  if not name.lower().endswith('.jpg'):
    name += '.jpg'
  return name


def find_images(input_dir):
  """Returns the sorted `*.jpg` files (any case) under `input_dir`, recursively.

  Raises:
    FileNotFoundError: `input_dir` is not a folder.
    ValueError: It holds no `.jpg` image, or two images share a file name
      (they would write to the same output file).
  """
  input_dir = pathlib.Path(input_dir)
  if not input_dir.is_dir():
    raise FileNotFoundError(f'CAT dataset folder {input_dir} does not exist.')
  paths = sorted(p for p in input_dir.rglob('*')
                 if p.suffix.lower() == '.jpg' and p.is_file())
  if not paths:
    raise ValueError(
        f'CAT dataset folder {input_dir} holds no .jpg images (searched '
        'recursively); point --input at the unzipped CAT dataset.')
  seen = {}
  for path in paths:
    if path.name in seen:
      raise ValueError(
          f'Two images are named {path.name}: {seen[path.name]} and {path}; '
          'outputs are named after the image, so names must be unique.')
    seen[path.name] = path
  return paths


def check_sizes(sizes):
  """Returns `sizes` as a sorted tuple of distinct positive ints, or raises ValueError."""
  sizes = tuple(sizes)
  if not sizes:
    raise ValueError('Give at least one output size, e.g. 64,128,256.')
  for size in sizes:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
      raise ValueError(f'Output sizes must be positive integers, got {size!r}.')
  if len(set(sizes)) != len(sizes):
    raise ValueError(f'Output sizes repeat: {sizes}.')
  return tuple(sorted(int(size) for size in sizes))


@dataclasses.dataclass
class Summary:
  """What `prepare_cats` did.

  Attributes:
    found: Images found under the input folder.
    written: Size -> number of images written to its folder.
    folders: Size -> output folder.
    skipped: Reason (one of `SKIP_REASONS`) -> skipped image paths (as str).
      An image skipped for some sizes only (too small for them) is not here;
      see `smaller_than`.
    smaller_than: Size -> images cropped but too small for that size.
    unused_excludes: Exclude-list names that matched no image.
    notes: Reminders, e.g. about `FIXED_ANNOTATION_IMAGE`.
  """
  found: int = 0
  written: dict = dataclasses.field(default_factory=dict)
  folders: dict = dataclasses.field(default_factory=dict)
  skipped: dict = dataclasses.field(
      default_factory=lambda: collections.defaultdict(list))
  smaller_than: dict = dataclasses.field(default_factory=dict)
  unused_excludes: list = dataclasses.field(default_factory=list)
  notes: list = dataclasses.field(default_factory=list)

  def skip(self, reason, path):
    self.skipped[reason].append(str(path))

  def report(self):
    """Returns a multi-line, human-readable summary."""
    lines = [f'Found {self.found} images.']
    for size in sorted(self.written):
      lines.append(f'  {self.written[size]:6d} written to {self.folders[size]}'
                   f' ({self.smaller_than.get(size, 0)} crops smaller than '
                   f'{size}x{size})')
    total = sum(len(paths) for paths in self.skipped.values())
    lines.append(f'Skipped {total} images entirely:')
    for reason in SKIP_REASONS:
      paths = self.skipped.get(reason, [])
      if paths:
        shown = ', '.join(pathlib.PurePath(p).name for p in paths[:_MAX_LISTED])
        more = f', ... and {len(paths) - _MAX_LISTED} more' if len(
            paths) > _MAX_LISTED else ''
        lines.append(f'  {len(paths):6d} {reason}: {shown}{more}')
    if self.unused_excludes:
      lines.append(f'{len(self.unused_excludes)} exclude-list names matched no '
                   f'image, e.g. {", ".join(self.unused_excludes[:3])}.')
    lines.extend(f'Note: {note}' for note in self.notes)
    return '\n'.join(lines)


def _load_annotations(paths, skip_bad_files, summary):
  """Parses every `.cat` file first, so bad ones fail before any writing."""
  landmarks, bad = {}, []
  for path in paths:
    cat_path = path.with_name(path.name + '.cat')
    if not cat_path.is_file():
      summary.skip(SKIP_NO_ANNOTATION, path)
      continue
    try:
      landmarks[path] = read_landmarks(cat_path)
    except AnnotationError as error:
      bad.append(str(error))
      summary.skip(SKIP_BAD_ANNOTATION, path)
  if bad and not skip_bad_files:
    listed = '\n'.join(f'  {line}' for line in bad[:_MAX_LISTED])
    more = (f'\n  ... and {len(bad) - _MAX_LISTED} more'
            if len(bad) > _MAX_LISTED else '')
    raise AnnotationError(
        f'{len(bad)} malformed .cat annotation file(s) (pass skip_bad_files, '
        f'--skip_bad_files, to skip their images):\n{listed}{more}')
  return landmarks


def _read_rgb(path):
  """Decodes an image to RGB with its EXIF orientation applied (cv2.imread)."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  from PIL import ImageOps  # pylint: disable=g-import-not-at-top
  with Image.open(path) as image:
    image.load()
    image = ImageOps.exif_transpose(image)
    return image.convert('RGB')


def _save(array, path, image_format):
  from PIL import Image  # pylint: disable=g-import-not-at-top
  image = Image.fromarray(array, 'RGB')
  if image_format == 'jpeg':
    image.save(path, format='JPEG', quality=JPEG_QUALITY)
  else:
    image.save(path, format='PNG')


def prepare_cats(input_dir, output_dir, sizes=DEFAULT_SIZES, exclude=(),
                 image_format='jpeg', skip_bad_files=False,
                 stream=sys.stderr, progress_every=500):
  """Writes the reference's `cats_bigger_than_SxS` folders from the CAT dataset.

  See the module docstring for the steps and where they follow
  `preprocess_cat_dataset.py`. Existing output files are overwritten.

  Args:
    input_dir: Folder with the CAT images `X.jpg` and annotations `X.jpg.cat`
      (searched recursively).
    output_dir: Folder in which `cats_bigger_than_SxS/` are created.
    sizes: Output sizes S; a crop goes to every folder with S <= min(h, w).
    exclude: Image names to leave out (see `read_exclude_file`).
    image_format: 'jpeg' (`X.jpg`, quality 95, as the reference) or 'png'
      (`X.png`, lossless).
    skip_bad_files: Skip and report images whose `.cat` file is malformed or
      that cannot be decoded, instead of raising.
    stream: Where progress goes (None: nowhere).
    progress_every: Report progress after this many images.

  Returns:
    A `Summary`; `Summary.report()` formats it.

  Raises:
    FileNotFoundError: `input_dir` does not exist.
    ValueError: No images, duplicate image names, bad `sizes` or
      `image_format`.
    AnnotationError: A malformed `.cat` file (unless `skip_bad_files`).
    OSError: An unreadable image (unless `skip_bad_files`), or the output
      cannot be written.
  """
  sizes = check_sizes(sizes)
  if image_format not in IMAGE_FORMATS:
    raise ValueError(f'image_format must be one of {IMAGE_FORMATS}, got '
                     f'{image_format!r}.')
  paths = find_images(input_dir)
  summary = Summary(found=len(paths))
  exclude = {_image_name(name) for name in exclude}
  summary.unused_excludes = sorted(exclude - {p.name for p in paths})
  kept = []
  for path in paths:
    if path.name in exclude:
      summary.skip(SKIP_EXCLUDED, path)
    elif path.name in DELETED_ANNOTATION_IMAGES:
      summary.skip(SKIP_DELETED, path)
    else:
      kept.append(path)
  if any(p.name == FIXED_ANNOTATION_IMAGE for p in kept):
    summary.notes.append(
        f'the reference replaces {FIXED_ANNOTATION_IMAGE}.cat with a fixed copy '
        f'from {FIXED_ANNOTATION_URL}; make sure the input holds that copy.')
  landmarks = _load_annotations(kept, skip_bad_files, summary)

  output_dir = pathlib.Path(output_dir)
  suffix = '.jpg' if image_format == 'jpeg' else '.png'
  for size in sizes:
    folder = output_dir / output_folder_name(size)
    folder.mkdir(parents=True, exist_ok=True)
    summary.folders[size] = folder
    summary.written[size] = 0
    summary.smaller_than[size] = 0

  todo = [p for p in kept if p in landmarks]
  for done, path in enumerate(todo, start=1):
    try:
      image = _read_rgb(path)
    except Exception as error:  # pylint: disable=broad-except
      if not skip_bad_files:
        raise OSError(f'{path}: cannot read the image: {error} (pass '
                      'skip_bad_files, --skip_bad_files, to skip it).') from error
      summary.skip(SKIP_BAD_IMAGE, path)
      continue
    crop = crop_face(image, landmarks[path])
    side = min(crop.shape[:2])
    if side < sizes[0]:
      summary.skip(SKIP_TOO_SMALL, path)
    for size in sizes:
      if side >= size:
        target = summary.folders[size] / (path.name[:-len('.jpg')] + suffix)
        _save(resize_bilinear(crop, size), target, image_format)
        summary.written[size] += 1
      else:
        summary.smaller_than[size] += 1
    if stream is not None and (done % progress_every == 0 or done == len(todo)):
      stream.write(f'Processed {done}/{len(todo)} images.\n')
      stream.flush()
  return summary

"""Tests of the CAT preparation (RelativisticGAN's preprocess_cat_dataset.py) on synthetic files."""

import io
import math

import numpy as np
import pytest
from PIL import Image

from tf_gans.data import cats

BACKGROUND = 128  # Same as the rotation border, so only the dots are bright.


def _landmarks(left_eye, right_eye, mouth=None, left_ear_1_x=None, right_ear_3_x=None):
  """A [9, 2] landmark array; unspecified points are placed plausibly."""
  cx = (left_eye[0] + right_eye[0]) / 2
  cy = (left_eye[1] + right_eye[1]) / 2
  mouth = mouth if mouth is not None else (cx, cy + 20)
  ear_l = left_ear_1_x if left_ear_1_x is not None else cx - 40
  ear_r = right_ear_3_x if right_ear_3_x is not None else cx + 40
  return np.array([left_eye, right_eye, mouth, (ear_l, cy - 30), (ear_l + 5, cy - 50),
                   (ear_l + 10, cy - 30), (ear_r - 10, cy - 30), (ear_r - 5, cy - 50),
                   (ear_r, cy - 30)], dtype=np.float64)


def _cat_text(landmarks):
  return '9 ' + ' '.join(str(int(v)) for v in np.asarray(landmarks).ravel()) + ' \n'


def _write_cat(directory, name, size, landmarks, cat_text=None):
  """Writes `name` (a JPEG of `size` = (width, height)) and, unless cat_text == '', its .cat."""
  directory.mkdir(parents=True, exist_ok=True)
  path = directory / name
  Image.new('RGB', size, (90, 140, 200)).save(path, format='JPEG')
  if cat_text != '':
    text = _cat_text(landmarks) if cat_text is None else cat_text
    (directory / (name + '.cat')).write_text(text)
  return path


def _face(center, width):
  """Level eyes around `center` and ears `width` apart: a crop of side `width`."""
  cx, cy = center
  return _landmarks((cx - 10, cy), (cx + 10, cy), left_ear_1_x=cx - width / 2,
                    right_ear_3_x=cx + width / 2)


# --- Annotation files ---------------------------------------------------------------------------

def test_read_landmarks_order_and_whitespace(tmp_path):
  path = tmp_path / 'a.jpg.cat'
  path.write_text('9 1 2 3 4 5 6\r\n7 8 9 10 11 12 13 14 15 16 17 18   \n')
  points = cats.read_landmarks(path)
  assert points.shape == (9, 2)
  assert points[cats.LEFT_EYE].tolist() == [1, 2]
  assert points[cats.RIGHT_EYE].tolist() == [3, 4]
  assert points[cats.RIGHT_EAR_3].tolist() == [17, 18]


@pytest.mark.parametrize('text, match', [
    ('', 'empty'),
    ('9 1 2 x 4', 'integers only'),
    ('9 1.5 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18', 'integers only'),
    ('8 ' + ' '.join(['1'] * 18), 'must be 9, got 8'),
    ('9 ' + ' '.join(['1'] * 17), 'expected 18 coordinates.*got 17'),
    ('9 ' + ' '.join(['1'] * 19), 'got 19'),
])
def test_malformed_annotation_names_the_file(tmp_path, text, match):
  path = tmp_path / 'bad.jpg.cat'
  path.write_text(text)
  with pytest.raises(cats.AnnotationError, match=match) as info:
    cats.read_landmarks(path)
  assert str(path) in str(info.value)


# --- Eye swap and rotation ----------------------------------------------------------------------

def test_mislabelled_eyes_are_swapped():
  # "Left" eye right of and above the "right" one, mouth right of the "right" eye: swap.
  points = _landmarks((80, 40), (40, 50), mouth=(60, 80))
  center, angle = cats.eye_center_and_angle(points)
  assert center == (60, 45)
  assert angle == pytest.approx(math.degrees(math.atan2(-10, 40)))  # About -14, not 166.


def test_eyes_kept_when_the_reference_test_fails():
  # x(left) > x(right) but the left eye is lower: the reference keeps the labels, turning the
  # face by about 180 degrees; reproduced on purpose.
  points = _landmarks((80, 60), (40, 50), mouth=(60, 80))
  _, angle = cats.eye_center_and_angle(points)
  assert angle == pytest.approx(math.degrees(math.atan2(-10, -40)))
  # Correct labels are never swapped.
  _, angle = cats.eye_center_and_angle(_landmarks((40, 50), (80, 40), mouth=(60, 80)))
  assert angle == pytest.approx(math.degrees(math.atan2(-10, 40)))


def test_rotate_points_levels_eyes_and_follows_screen_convention():
  points = _landmarks((30, 30), (70, 50))
  center, angle = cats.eye_center_and_angle(points)
  rotated = cats.rotate_points(points, center, angle)
  assert rotated[cats.LEFT_EYE, 1] == pytest.approx(rotated[cats.RIGHT_EYE, 1])
  assert rotated[cats.RIGHT_EYE, 0] > rotated[cats.LEFT_EYE, 0]
  # +90 degrees is counter-clockwise on screen (y down): right of the centre goes up.
  np.testing.assert_allclose(cats.rotate_points([[15, 5]], (5, 5), 90), [[5, -5]], atol=1e-12)


def _dot_centroid(array, xy, radius=5):
  """Centroid (x, y) of the brightness above BACKGROUND in a window around xy."""
  x0, y0 = int(round(xy[0])), int(round(xy[1]))
  window = array[y0 - radius:y0 + radius + 1, x0 - radius:x0 + radius + 1, 0].astype(float)
  weight = np.clip(window - BACKGROUND, 0, None)
  ys, xs = np.mgrid[y0 - radius:y0 + radius + 1, x0 - radius:x0 + radius + 1]
  return (weight * xs).sum() / weight.sum(), (weight * ys).sum() / weight.sum()


@pytest.mark.parametrize('right_eye', [(70, 50), (70, 20), (50, 75)])
def test_image_and_landmarks_rotate_together(right_eye):
  points = _landmarks((30, 40), right_eye, mouth=(42, 62))
  array = np.full((100, 110, 3), BACKGROUND, np.uint8)
  for x, y in points[:3].astype(int):  # Eyes and mouth: 3x3 white dots.
    array[y - 1:y + 2, x - 1:x + 2] = 255
  center, angle = cats.eye_center_and_angle(points)
  rotated_image = np.asarray(cats.rotate_image(Image.fromarray(array), center, angle))
  rotated_points = cats.rotate_points(points, center, angle)
  for point in rotated_points[:3]:
    np.testing.assert_allclose(_dot_centroid(rotated_image, point), point, atol=0.25)
  np.testing.assert_allclose(rotated_points[0, 1], rotated_points[1, 1])


def _warp_affine_model(array, center, angle_degrees):
  """cv2.warpAffine(getRotationMatrix2D(center, angle, 1)) in floating point, border 128."""
  height, width = array.shape[:2]
  cos, sin = math.cos(math.radians(angle_degrees)), math.sin(math.radians(angle_degrees))
  ys, xs = np.mgrid[0:height, 0:width].astype(float)
  sx = center[0] + cos * (xs - center[0]) - sin * (ys - center[1])
  sy = center[1] + sin * (xs - center[0]) + cos * (ys - center[1])
  padded = np.full((height + 2, width + 2, array.shape[2]), 128.0)
  padded[1:-1, 1:-1] = array
  x0, y0 = np.floor(sx), np.floor(sy)
  fx, fy = (sx - x0)[..., None], (sy - y0)[..., None]

  def at(y, x):
    rows = np.clip(y + 1, 0, height + 1).astype(int)
    return padded[rows, np.clip(x + 1, 0, width + 1).astype(int)]

  return (at(y0, x0) * (1 - fx) * (1 - fy) + at(y0, x0 + 1) * fx * (1 - fy)
          + at(y0 + 1, x0) * (1 - fx) * fy + at(y0 + 1, x0 + 1) * fx * fy)


def test_rotate_image_matches_opencv_model_including_borders():
  array = np.random.default_rng(0).integers(0, 256, (30, 40, 3)).astype(np.uint8)
  for center, angle in [((18.5, 12.0), 23.0), ((3.0, 25.0), -140.0)]:
    got = np.asarray(cats.rotate_image(Image.fromarray(array), center, angle)).astype(float)
    np.testing.assert_allclose(got, _warp_affine_model(array, center, angle), atol=1.0)


# --- Crop box -----------------------------------------------------------------------------------

def _rotated_ears(left_x, right_x):
  points = np.zeros((9, 2))
  points[cats.LEFT_EAR_1, 0] = left_x
  points[cats.RIGHT_EAR_3, 0] = right_x
  return points


def test_face_box_centres_eyes_at_half_and_two_fifths():
  box = cats.face_box((50, 40), _rotated_ears(100, 20))  # |x(right ear 3) - x(left ear 1)|
  assert box == (10, 8, 80, 80)
  assert cats.crop_bounds(box) == (8, 88, 10, 90)
  # Fractions are truncated by int(), as the reference's slice bounds.
  assert cats.crop_bounds(cats.face_box((50.5, 40.5), _rotated_ears(10, 91))) == (8, 89, 10, 91)


def test_face_box_truncated_at_left_and_top():
  assert cats.face_box((30, 40), _rotated_ears(20, 100)) == (0, 8, 70, 80)  # w shrinks by 10.
  assert cats.face_box((50, 20), _rotated_ears(20, 100)) == (10, 0, 80, 68)  # h shrinks by 12.
  assert cats.face_box((30, 20), _rotated_ears(20, 100)) == (0, 0, 70, 68)


def test_crop_face_cut_at_right_and_bottom():
  height, width = 100, 120
  ys, xs = np.mgrid[0:height, 0:width]
  array = np.stack([xs, ys, np.zeros_like(xs)], axis=-1).astype(np.uint8)
  points = _landmarks((50, 50), (70, 50), left_ear_1_x=10, right_ear_3_x=110)  # Level: no turn.
  crop = cats.crop_face(Image.fromarray(array), points)
  # Box rows 10..110 and columns 10..110: 10 rows lie below the image and are cut off.
  assert crop.shape == (90, 100, 3)
  np.testing.assert_array_equal(crop, array[10:100, 10:110])


# --- Resizing -----------------------------------------------------------------------------------

def test_resize_bilinear_follows_opencv_inter_linear():
  row = np.array([[0, 40, 100, 200]], np.uint8)[..., None].repeat(4, axis=0)
  # 4 -> 2: half-pixel centres give the mean of pairs.
  assert cats.resize_bilinear(row, 2)[0, :, 0].tolist() == [20, 150]
  # 4 -> 1 samples at 1.5 (no anti-aliasing, unlike Pillow): mean of the middle two pixels.
  assert cats.resize_bilinear(row, 1)[0, 0, 0] == 70
  array = np.random.default_rng(1).integers(0, 256, (7, 5, 3)).astype(np.uint8)
  assert cats.resize_bilinear(array, 5).shape == (5, 5, 3)
  square = array[:5]
  np.testing.assert_array_equal(cats.resize_bilinear(square, 5), square)


# --- Whole runs ---------------------------------------------------------------------------------

def _dataset(root):
  """A tiny CAT-like folder; returns the expected per-size outcomes."""
  _write_cat(root, 'big.jpg', (220, 200), _face((100, 80), 140))   # 140: 64 and 128.
  _write_cat(root, 'mid.jpg', (160, 140), _face((80, 60), 100))    # 100: 64 only.
  _write_cat(root / 'CAT_01', 'edge.jpg', (100, 100), _face((50, 50), 64))  # Exactly 64.
  _write_cat(root, 'small.jpg', (100, 100), _face((50, 50), 63))   # Too small for 64.
  _write_cat(root, 'nocat.jpg', (100, 100), None, cat_text='')
  _write_cat(root, 'outlier.jpg', (220, 200), _face((100, 80), 140))
  _write_cat(root, '00000003_019.jpg', (220, 200), _face((100, 80), 140))
  (root / 'readme.txt').write_text('not an image')


def test_prepare_cats_folders_thresholds_and_summary(tmp_path):
  _dataset(tmp_path / 'in')
  stream = io.StringIO()
  summary = cats.prepare_cats(tmp_path / 'in', tmp_path / 'out', sizes=(128, 64),
                              exclude=['outlier.jpg.cat', 'missing'], stream=stream)
  out64 = tmp_path / 'out' / 'cats_bigger_than_64x64'
  out128 = tmp_path / 'out' / 'cats_bigger_than_128x128'
  assert sorted(p.name for p in out64.iterdir()) == ['big.jpg', 'edge.jpg', 'mid.jpg']
  assert sorted(p.name for p in out128.iterdir()) == ['big.jpg']
  with Image.open(out128 / 'big.jpg') as image:
    assert (image.format, image.mode, image.size) == ('JPEG', 'RGB', (128, 128))
  assert summary.found == 7
  assert summary.written == {64: 3, 128: 1}
  assert summary.smaller_than == {64: 1, 128: 3}
  assert {reason: [p.rsplit('/', 1)[-1] for p in paths]
          for reason, paths in summary.skipped.items()} == {
              cats.SKIP_EXCLUDED: ['outlier.jpg'],
              cats.SKIP_DELETED: ['00000003_019.jpg'],
              cats.SKIP_NO_ANNOTATION: ['nocat.jpg'],
              cats.SKIP_TOO_SMALL: ['small.jpg']}
  assert summary.unused_excludes == ['missing.jpg']
  report = summary.report()
  assert '3 written to' in report and 'Skipped 4 images' in report
  assert 'no .cat annotation file: nocat.jpg' in report
  assert 'Processed 4/4 images.' in stream.getvalue()


def test_png_output_is_the_exact_crop(tmp_path):
  points = _face((100, 80), 140)
  path = _write_cat(tmp_path / 'in', 'a.jpg', (220, 200), points)
  summary = cats.prepare_cats(tmp_path / 'in', tmp_path / 'out', sizes=(64,), image_format='png',
                              stream=None)
  assert summary.written == {64: 1}
  with Image.open(path) as image:
    expected = cats.resize_bilinear(cats.crop_face(image.convert('RGB'), points), 64)
  with Image.open(tmp_path / 'out' / 'cats_bigger_than_64x64' / 'a.png') as image:
    np.testing.assert_array_equal(np.asarray(image), expected)


def test_fixed_annotation_reminder(tmp_path):
  _write_cat(tmp_path / 'in', cats.FIXED_ANNOTATION_IMAGE, (100, 100), _face((50, 50), 70))
  summary = cats.prepare_cats(tmp_path / 'in', tmp_path / 'out', sizes=(64,), stream=None)
  assert summary.written == {64: 1}
  assert 'fixed copy' in summary.report()


def test_read_exclude_file(tmp_path):
  path = tmp_path / 'outliers.txt'
  path.write_text('# the reference list\n00000004_007.jpg 00000007_002.jpg.cat\n\n'
                  'dir/00000045_028  # trailing comment\n')
  assert cats.read_exclude_file(path) == {'00000004_007.jpg', '00000007_002.jpg',
                                          '00000045_028.jpg'}
  with pytest.raises(FileNotFoundError, match='nope.txt does not exist'):
    cats.read_exclude_file(tmp_path / 'nope.txt')


# --- Errors -------------------------------------------------------------------------------------

def test_missing_and_empty_input(tmp_path):
  with pytest.raises(FileNotFoundError, match='nope does not exist'):
    cats.prepare_cats(tmp_path / 'nope', tmp_path / 'out')
  (tmp_path / 'empty').mkdir()
  (tmp_path / 'empty' / 'a.png').write_bytes(b'')
  with pytest.raises(ValueError, match='holds no .jpg images'):
    cats.prepare_cats(tmp_path / 'empty', tmp_path / 'out')


def test_duplicate_names_and_bad_options(tmp_path):
  _write_cat(tmp_path / 'in' / 'CAT_00', 'a.jpg', (100, 100), _face((50, 50), 70))
  _write_cat(tmp_path / 'in' / 'CAT_01', 'a.jpg', (100, 100), _face((50, 50), 70))
  with pytest.raises(ValueError, match='Two images are named a.jpg'):
    cats.prepare_cats(tmp_path / 'in', tmp_path / 'out')
  with pytest.raises(ValueError, match='positive integers'):
    cats.prepare_cats(tmp_path / 'in', tmp_path / 'out', sizes=(64, 0))
  with pytest.raises(ValueError, match='repeat'):
    cats.prepare_cats(tmp_path / 'in', tmp_path / 'out', sizes=(64, 64))
  with pytest.raises(ValueError, match='image_format'):
    cats.prepare_cats(tmp_path / 'in', tmp_path / 'out', image_format='gif')


def test_malformed_annotation_fails_before_writing_or_is_skipped(tmp_path):
  _write_cat(tmp_path / 'in', 'good.jpg', (100, 100), _face((50, 50), 70))
  _write_cat(tmp_path / 'in', 'bad.jpg', (100, 100), None, cat_text='9 1 2 3')
  with pytest.raises(cats.AnnotationError, match='(?s)1 malformed.*bad.jpg.cat: expected 18'):
    cats.prepare_cats(tmp_path / 'in', tmp_path / 'out', sizes=(64,), stream=None)
  assert not (tmp_path / 'out').exists()
  summary = cats.prepare_cats(tmp_path / 'in', tmp_path / 'out', sizes=(64,),
                              skip_bad_files=True, stream=None)
  assert summary.written == {64: 1}
  assert [p.rsplit('/', 1)[-1] for p in summary.skipped[cats.SKIP_BAD_ANNOTATION]] == ['bad.jpg']


def test_unreadable_image_fails_or_is_skipped(tmp_path):
  _write_cat(tmp_path / 'in', 'good.jpg', (100, 100), _face((50, 50), 70))
  (tmp_path / 'in' / 'broken.jpg').write_bytes(b'not a jpeg')
  (tmp_path / 'in' / 'broken.jpg.cat').write_text(_cat_text(_face((50, 50), 70)))
  with pytest.raises(OSError, match='broken.jpg: cannot read the image'):
    cats.prepare_cats(tmp_path / 'in', tmp_path / 'out', sizes=(64,), stream=None)
  summary = cats.prepare_cats(tmp_path / 'in', tmp_path / 'out', sizes=(64,),
                              skip_bad_files=True, stream=None)
  assert summary.written == {64: 1}
  assert len(summary.skipped[cats.SKIP_BAD_IMAGE]) == 1

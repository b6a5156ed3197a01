"""Sliced Wasserstein distance, PGGAN protocol (paper section 5; original
`metrics/sliced_wasserstein.py`; tf_gans.metrics.swd)."""


import numpy as np
import pytest
import scipy.ndimage
import tensorflow as tf

from tf_gans.metrics import swd

_KERNEL = np.float32(np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1])) / 256.0


# --- an independent, slow NCHW reference written like the original numpy code ---

def _ref_pyr_down(x):
  return scipy.ndimage.convolve(x, _KERNEL[None, None], mode='mirror')[:, :, ::2, ::2]


def _ref_pyr_up(x):
  n, c, h, w = x.shape
  up = np.zeros((n, c, 2 * h, 2 * w), x.dtype)
  up[:, :, ::2, ::2] = x
  return scipy.ndimage.convolve(up, _KERNEL[None, None] * 4.0, mode='mirror')


def _ref_pyramid(images_nchw, levels):
  pyramid = [np.float32(images_nchw)]
  for _ in range(1, levels):
    pyramid.append(_ref_pyr_down(pyramid[-1]))
    pyramid[-2] -= _ref_pyr_up(pyramid[-1])
  return pyramid


def _ref_descriptors(level, centres, per_image=128, size=7):
  """ogrid flat indexing into NCHW in our (channel, dy, dx) order (`_original_order_descriptors`:
  the original's own order, each channel's block transposed)."""
  n_img, c, h, w = level.shape
  r = size // 2
  m = len(centres)
  nhood, chan, y, x = np.ogrid[0:m, 0:c, -r:r + 1, -r:r + 1]
  img = nhood // per_image
  y = y + centres[:, 0].reshape(m, 1, 1, 1)
  x = x + centres[:, 1].reshape(m, 1, 1, 1)
  return level.flat[((img * c + chan) * h + y) * w + x]        # [m, c, size, size]


def _ref_normalise(desc):
  desc = desc.astype(np.float64)
  desc -= desc.mean(axis=(0, 2, 3), keepdims=True)
  desc /= desc.std(axis=(0, 2, 3), keepdims=True)
  return desc.reshape(len(desc), -1).astype(np.float32)


def _ref_swd(real_nhwc, fake_nhwc, seed):
  """The whole protocol on full arrays, with the module's documented random streams."""
  levels = len(swd.resolutions(real_nhwc.shape[1]))
  pyr_real = _ref_pyramid(real_nhwc.transpose(0, 3, 1, 2), levels)
  pyr_fake = _ref_pyramid(fake_nhwc.transpose(0, 3, 1, 2), levels)
  out = {}
  for l, (lr, lf) in enumerate(zip(pyr_real, pyr_fake)):
    h, w = lr.shape[2:]
    sets = []
    for level in (lr, lf):
      rng = np.random.default_rng([seed, 0, l])
      centres = rng.integers(3, [h - 3, w - 3], size=(len(level) * 128, 2))
      sets.append(_ref_normalise(_ref_descriptors(level, centres)))
    rng = np.random.default_rng([seed, 1, l])
    dists = []
    for _ in range(4):
      dirs = rng.standard_normal((sets[0].shape[1], 128))
      dirs /= np.sqrt(np.sum(np.square(dirs), axis=0, keepdims=True))
      dirs = dirs.astype(np.float32)
      pa = np.sort(sets[0] @ dirs, axis=0)
      pb = np.sort(sets[1] @ dirs, axis=0)
      dists.append(np.mean(np.abs(pa.astype(np.float64) - pb)))
    out[f'SWDx1e3_{h}'] = 1e3 * np.mean(dists)
  out['SWDx1e3_avg'] = np.mean(list(out.values()))
  return out


def _smooth_images(seed, n=16, size=32, channels=3, noise=0.0):
  """Random smooth colour fields (low-res noise, bilinear-ish upsampling) + optional pixel noise."""
  rng = np.random.default_rng(seed)
  low = rng.uniform(40, 215, size=(n, size // 8, size // 8, channels))
  img = scipy.ndimage.zoom(low, (1, 8, 8, 1), order=1, mode='nearest')
  img = img + noise * rng.standard_normal(img.shape)
  return np.clip(np.rint(img), 0, 255).astype(np.uint8)


# --- tests ---

def test_resolutions_and_names_follow_the_original():
  assert swd.resolutions(1024) == [1024, 512, 256, 128, 64, 32, 16]
  assert swd.resolutions(16) == [16]
  assert swd.metric_names(64) == ['SWDx1e3_64', 'SWDx1e3_32', 'SWDx1e3_16', 'SWDx1e3_avg']
  assert swd.default_minibatch_size(1024) == 8
  assert swd.default_minibatch_size(16) == 256


@pytest.mark.parametrize('shape', [(3, 64, 64, 3), (2, 32, 64, 1)])
def test_pyramid_matches_scipy_mirror_convolution(shape):
  x = np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)
  levels = len(swd.resolutions(shape[1]))
  ref = _ref_pyramid(x.transpose(0, 3, 1, 2), levels)
  got = swd.laplacian_pyramid(x, levels)
  assert len(got) == levels
  for r, g in zip(ref, got):
    g = g.numpy().transpose(0, 3, 1, 2)
    assert g.dtype == np.float32 and g.shape == r.shape
    # Both sum in float64 and round to float32: observed bit-identical here.
    np.testing.assert_allclose(g, r, rtol=0, atol=1e-4)
    assert np.mean(g != r) < 1e-3


def test_pyramid_reconstructs_the_image():
  x = np.random.default_rng(1).integers(0, 256, size=(2, 64, 64, 3), dtype=np.uint8)
  pyr = swd.laplacian_pyramid(x, 3)
  g = pyr[-1]
  for lap in reversed(pyr[:-1]):
    g = lap + swd.pyr_up(g)
  np.testing.assert_allclose(g.numpy(), x.astype(np.float32), atol=1e-3)


def test_patch_centres_cover_the_documented_range():
  rng = np.random.default_rng(0)
  c = swd.patch_centres(rng, 200, 16, 32)
  assert c.shape == (200 * 128, 2)
  assert c[:, 0].min() == 3 and c[:, 0].max() == 12        # [3, H-4]
  assert c[:, 1].min() == 3 and c[:, 1].max() == 28        # [3, W-4]


def test_descriptor_layout_is_channel_major():
  level = np.arange(2 * 16 * 16 * 3, dtype=np.float32).reshape(2, 16, 16, 3)
  centres = np.array([[3, 3], [8, 12]] * 2)
  desc = swd.extract_descriptors(level, centres, nhoods_per_image=2)
  ref = _ref_descriptors(level.transpose(0, 3, 1, 2).copy(), centres, per_image=2)
  np.testing.assert_array_equal(desc, ref.reshape(4, -1))


def test_identical_sets_give_exactly_zero():
  x = _smooth_images(0, noise=10)
  result = swd.sliced_wasserstein(x, x, seed=3)
  assert list(result) == ['SWDx1e3_32', 'SWDx1e3_16', 'SWDx1e3_avg']
  assert all(v == 0.0 for v in result.values())


def test_distance_grows_with_structural_difference():
  real = _smooth_images(0, noise=10)
  floor = swd.sliced_wasserstein(real, real, seed=0, fake_seed=1)     # same set, other patches
  blurred = scipy.ndimage.gaussian_filter(real.astype(np.float64), (0, 1.5, 1.5, 0))
  blurred = swd.sliced_wasserstein(real, np.clip(np.rint(blurred), 0, 255).astype(np.uint8))
  assert 0 < floor['SWDx1e3_avg'] < blurred['SWDx1e3_avg']
  # Blurring removes the fine detail: the finest level sees it most.
  assert blurred['SWDx1e3_32'] > 2 * floor['SWDx1e3_32']
  assert blurred['SWDx1e3_32'] > 2 * blurred['SWDx1e3_16']


def test_per_channel_normalisation_hides_affine_intensity_changes():
  """Each set is normalised per channel (`finalize_descriptors`): x -> a x + b is invisible."""
  x = _smooth_images(0, noise=10) // 2
  for fake in (2 * x, x + 50):
    result = swd.sliced_wasserstein(x, fake)
    assert all(abs(v) < 1e-3 for v in result.values()), result


def test_matches_slow_numpy_protocol_with_the_same_draws():
  real = _smooth_images(0, n=10, noise=8)
  fake = _smooth_images(1, n=10, noise=20)
  got = swd.sliced_wasserstein(real, fake, seed=7, minibatch_size=4)
  ref = _ref_swd(real, fake, seed=7)
  assert list(got) == list(ref)
  for key in ref:
    np.testing.assert_allclose(got[key], ref[key], rtol=1e-4)


def test_result_does_not_depend_on_minibatch_size():
  real = _smooth_images(2, n=9, noise=5)
  fake = _smooth_images(3, n=9, noise=15)
  a = swd.sliced_wasserstein(real, fake, minibatch_size=2)
  b = swd.sliced_wasserstein(real, fake, minibatch_size=9)
  for key in a:
    np.testing.assert_allclose(a[key], b[key], rtol=1e-6)


def test_streaming_accumulator_equals_one_call():
  real = _smooth_images(2, n=8, noise=5)
  fake = _smooth_images(3, n=8, noise=15)
  accs = []
  for images in (real, fake):
    acc = swd.DescriptorAccumulator(seed=0)
    for start in range(0, 8, 3):
      acc.update(images[start:start + 3])
    accs.append(acc.finalize())
  assert accs[0].num_images == 8 and accs[0].levels[0].shape == (8 * 128, 147)
  level = accs[0].levels[0].reshape(-1, 3, 49)
  np.testing.assert_allclose(level.mean(axis=(0, 2)), 0, atol=1e-5)
  np.testing.assert_allclose(level.std(axis=(0, 2)), 1, atol=1e-5)
  streamed = swd.distance_from_descriptors(accs[0], accs[1], seed=0)
  direct = swd.sliced_wasserstein(real, fake, seed=0)
  for key in direct:
    np.testing.assert_allclose(streamed[key], direct[key], rtol=1e-6)


def test_seed_changes_the_estimate_reproducibly():
  real = _smooth_images(2, n=8, noise=5)
  fake = _smooth_images(3, n=8, noise=15)
  a = swd.sliced_wasserstein(real, fake, seed=0)
  assert a == swd.sliced_wasserstein(real, fake, seed=0)
  assert a != swd.sliced_wasserstein(real, fake, seed=1)


def test_clear_errors():
  x = _smooth_images(0, n=4)
  with pytest.raises(ValueError, match='equally many'):
    swd.sliced_wasserstein(x, x[:3])
  with pytest.raises(ValueError, match='at least 16x16'):
    swd.sliced_wasserstein(x[:, :8, :8], x[:, :8, :8])
  with pytest.raises(ValueError, match='uint8'):
    swd.sliced_wasserstein(x.astype(np.float32), x)
  with pytest.raises(ValueError, match='NHWC'):
    swd.sliced_wasserstein(x[..., 0], x[..., 0])
  with pytest.raises(ValueError, match='divisible'):
    swd.sliced_wasserstein(x[:, :, :31], x[:, :, :31])
  odd = np.zeros((2, 66, 66, 3), np.uint8)        # 66 -> 33 -> 16: 33 does not halve
  with pytest.raises(ValueError, match='divisible by 4'):
    swd.sliced_wasserstein(odd, odd)
  with pytest.raises(ValueError, match='differ in shape'):
    swd.sliced_wasserstein(x, x[..., :1])
  with pytest.raises(ValueError, match='seed'):
    swd.sliced_wasserstein(x, x, seed=-1)
  acc = swd.DescriptorAccumulator()
  with pytest.raises(ValueError, match='no images'):
    acc.finalize()
  acc.update(x)
  with pytest.raises(ValueError, match='one size'):
    acc.update(x[:, :16, :16])


# --- TF-GAN 2.1.0 (tests/tfgan_oracle.py) as an oracle. Its sliced_wasserstein_distance as a
# whole is not comparable with the PGGAN protocol: it normalises each patch by that patch's own
# mean and std (ours, as the original, per channel over the whole set), draws 64 patches per
# image from the global np.random state inside a py_func, uses 1 x 147 random directions (ours
# 4 x 128), and returns unscaled (real-vs-real, real-vs-fake) pairs. Its parts are comparable:
# the Laplacian pyramid and the patch extraction exactly, the sort-and-compare estimator exactly
# on the same directions and in expectation on its own.


def test_laplacian_pyramid_agrees_with_tfgan(tfgan):
  """Same binomial filter, REFLECT (= scipy 'mirror') border, [::2, ::2], zero-insert x2 with
  gain 4, Gaussian residual last; ours sums in float64, TF-GAN's conv2d in float32."""
  images = np.random.default_rng(11).integers(0, 256, size=(3, 64, 64, 3), dtype=np.uint8)
  ours = swd.laplacian_pyramid(images, 3)
  theirs = tfgan.eval.sliced_wasserstein.laplacian_pyramid(tf.constant(images), 3)
  assert len(ours) == len(theirs) == 3
  for level, (a, b) in enumerate(zip(ours, theirs)):
    assert a.shape == b.shape == (3, 64 >> level, 64 >> level, 3)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0, atol=2e-4)   # on the 0..255 scale


def test_patch_extraction_agrees_with_tfgan(tfgan):
  """TF-GAN draws the centres (all y, then all x) with np.random.randint(3, H - 3) and
  gathers (y, x, c) patches; on those centres ours gives the same values, in our
  (c, y, x) order."""
  level = np.random.default_rng(12).standard_normal((2, 32, 32, 3)).astype(np.float32)
  state = np.random.get_state()
  try:
    np.random.seed(5)
    theirs = tfgan.eval.sliced_wasserstein._batch_to_patches(  # pylint: disable=protected-access
        tf.constant(level), 16, 7).numpy()
    np.random.seed(5)
    ys = np.random.randint(3, 32 - 3, size=32)
    xs = np.random.randint(3, 32 - 3, size=32)
  finally:
    np.random.set_state(state)
  ours = swd.extract_descriptors(level, np.stack([ys, xs], axis=1), nhoods_per_image=16)
  np.testing.assert_array_equal(ours, theirs.transpose(0, 3, 1, 2).reshape(32, -1))


def test_core_agrees_with_tfgan_on_the_same_directions(tfgan, monkeypatch):
  """TF-GAN's _sliced_wasserstein fed our directions (its tf.random.normal replaced by the
  Gaussian draws projected_distance makes) is our projected_distance to float32 rounding."""
  rng = np.random.default_rng(6)
  a = rng.standard_normal((512, 49)).astype(np.float32)
  b = (1.3 * rng.standard_normal((512, 49)) + 0.2).astype(np.float32)
  draws = np.random.default_rng(7)
  monkeypatch.setattr(tf.random, 'normal',
                      lambda shape, **_: tf.constant(draws.standard_normal(
                          [int(d) for d in shape]).astype(np.float32)))
  theirs = float(tfgan.eval.sliced_wasserstein._sliced_wasserstein(  # pylint: disable=protected-access
      tf.constant(a), tf.constant(b), 3, 16))
  monkeypatch.undo()
  ours = swd.projected_distance(a, b, np.random.default_rng(7), dir_repeats=3, dirs_per_repeat=16)
  np.testing.assert_allclose(ours, theirs, rtol=1e-5)


def test_core_agrees_with_tfgan_in_expectation(tfgan):
  """TF-GAN's _sliced_wasserstein is the same estimator with its own random directions."""
  core = tfgan.eval.sliced_wasserstein._sliced_wasserstein  # pylint: disable=protected-access
  rng = np.random.default_rng(0)
  a = rng.standard_normal((2048, 49)).astype(np.float32)
  b = (1.3 * rng.standard_normal((2048, 49)) + 0.2).astype(np.float32)
  ours = swd.projected_distance(a, b, np.random.default_rng(1), dir_repeats=32)
  tf.random.set_seed(0)
  theirs = float(core(tf.constant(a), tf.constant(b), 32, 128))
  np.testing.assert_allclose(ours, theirs, rtol=0.05)


def test_tf_and_numpy_sort_paths_agree():
  """The GPU path (tf.sort) and the CPU path (np.sort) give the same mean |difference|."""
  rng = np.random.default_rng(4)
  pa = tf.constant(rng.standard_normal((500, 16)).astype(np.float32))
  pb = tf.constant((2 * rng.standard_normal((500, 16)) + 1).astype(np.float32))
  on_gpu = swd._mean_sorted_difference(pa, pb, on_gpu=True)  # pylint: disable=protected-access
  on_cpu = swd._mean_sorted_difference(pa, pb, on_gpu=False)  # pylint: disable=protected-access
  np.testing.assert_allclose(on_gpu, on_cpu, rtol=1e-12)


def test_list_api_is_the_metric_columns_in_order():
  rng = np.random.RandomState(5)
  real = rng.randint(0, 256, size=(6, 32, 32, 3)).astype(np.uint8)
  fake = np.clip(real.astype(np.int32) + rng.randint(-40, 40, size=real.shape), 0, 255).astype(np.uint8)
  as_dict = swd.sliced_wasserstein(real, fake, seed=2)
  as_list = swd.sliced_wasserstein_distance(real, fake, seed=2)
  assert swd.metric_names(32) == ['SWDx1e3_32', 'SWDx1e3_16', 'SWDx1e3_avg']
  assert as_list == [as_dict['SWDx1e3_32'], as_dict['SWDx1e3_16'], as_dict['SWDx1e3_avg']]
  assert as_list[2] == pytest.approx((as_list[0] + as_list[1]) / 2)


def test_patch_streams_draw_fresh_positions_and_stream_0_is_the_default():
  rng = np.random.default_rng(2)
  images = rng.integers(0, 256, size=(3, 32, 32, 3), dtype=np.uint8)
  default = swd.descriptors(images, seed=5)
  zero = swd.descriptors(images, seed=5, patch_stream=0)
  other = swd.descriptors(images, seed=5, patch_stream=2)
  for a, b, c in zip(default.levels, zero.levels, other.levels):
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
  np.testing.assert_array_equal(swd.patch_rng(5, 1).integers(1 << 30, size=4),
                                np.random.default_rng([5, 0, 1]).integers(1 << 30, size=4))
  np.testing.assert_array_equal(swd.patch_rng(5, 1, 2).integers(1 << 30, size=4),
                                np.random.default_rng([5, 0, 1, 2]).integers(1 << 30, size=4))
  with pytest.raises(ValueError, match='patch_stream'):
    swd.DescriptorAccumulator(patch_stream=-1)


# --- greyscale tiling and the original's descriptor order (issue 22) ---

def test_greyscale_is_tiled_to_rgb_as_the_original():
  """util_scripts.evaluate_metrics tiles greyscale to RGB (`np.tile(images, [1, 3, 1, 1])`)
  before SWD, which asserts 3 channels: a greyscale set and its RGB copy give the same
  147-d descriptors and the same distance, through the plain `swd` metric too."""
  from tf_gans.metrics import protocols  # pylint: disable=import-outside-toplevel
  real = _smooth_images(20, n=4, channels=1, noise=6)
  fake = _smooth_images(21, n=4, channels=1, noise=20)
  rgb = lambda x: np.tile(x, [1, 1, 1, 3])
  grey_desc, rgb_desc = swd.descriptors(real, seed=4), swd.descriptors(rgb(real), seed=4)
  for level, (a, b) in enumerate(zip(grey_desc.levels, rgb_desc.levels)):
    assert a.shape == (4 * 128, 147)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(swd.level_descriptors(real, level, seed=4), b)
  want = swd.sliced_wasserstein(rgb(real), rgb(fake), seed=4)
  assert want['SWDx1e3_avg'] > 0
  assert swd.sliced_wasserstein(real, fake, seed=4) == want
  assert swd.reference_sliced_wasserstein(real, fake, seed=4) == pytest.approx(want, rel=1e-6)

  class Run:  # what the plain metric reads of an Evaluation
    opt = type('Options', (), {'seed': 4})()
    reals = staticmethod(lambda: real)
    fakes = staticmethod(lambda: fake)

  assert protocols.METRICS.get('swd')(Run()) == {**want, 'num_images': 4}


def _original_order_descriptors(level_nchw, centres, per_image):
  """The original get_descriptors_for_minibatch's indexing on fixed centres (y, x): its ogrid
  names the patch axes (nhood, chan, x, y), x offset by the width centre, y by the height
  centre, and `minibatch.flat[idx]` keeps that shape, so reshaped it is (chan, dx, dy)."""
  n_img, c, h, w = level_nchw.shape
  m = len(centres)
  nhood, chan, x, y = np.ogrid[0:m, 0:c, -3:4, -3:4]
  img = nhood // per_image
  x = x + centres[:, 1].reshape(m, 1, 1, 1)
  y = y + centres[:, 0].reshape(m, 1, 1, 1)
  idx = ((img * c + chan) * h + y) * w + x
  return level_nchw.flat[idx].reshape(m, -1)


def test_descriptors_are_the_originals_order_permuted_and_swd_agrees_on_permuted_directions(
    monkeypatch):
  """Ours (channel, dy, dx) are the original's (channel, dx, dy) under one fixed permutation P
  (each channel's 7x7 block transposed); projecting on P-permuted directions gives its SWD."""
  rng = np.random.default_rng(8)
  levels = [rng.standard_normal((2, 3, 9, 13)).astype(np.float32) for _ in range(2)]  # NCHW
  centres = np.stack([rng.integers(3, 6, 12), rng.integers(3, 10, 12)], axis=1)       # (y, x)
  ours = [swd.extract_descriptors(l.transpose(0, 2, 3, 1), centres, nhoods_per_image=6) for l in levels]
  theirs = [_original_order_descriptors(l, centres, per_image=6) for l in levels]
  perm = np.arange(3 * 49).reshape(3, 7, 7).transpose(0, 2, 1).reshape(-1)
  for a, b in zip(ours, theirs):
    assert a.shape == b.shape == (12, 147)
    assert not np.array_equal(a, b)                  # the orders do differ ...
    np.testing.assert_array_equal(a[:, perm], b)     # ... by the per-channel transpose
  np.testing.assert_array_equal(perm[perm], np.arange(147))      # P is an involution

  # SWD: the original's order on directions d equals ours on directions d permuted by P.
  a, b = (np.repeat(d, 40, axis=0) + rng.standard_normal((480, 147)).astype(np.float32)
          for d in ours)
  original = swd.projected_distance(a[:, perm], b[:, perm], np.random.default_rng(3))
  plain = swd.projected_distance(a, b, np.random.default_rng(3))
  draw = swd.unit_directions
  monkeypatch.setattr(swd, 'unit_directions', lambda *args: draw(*args)[perm])
  permuted = swd.projected_distance(a, b, np.random.default_rng(3))
  assert permuted == pytest.approx(original, rel=1e-6)
  assert plain != pytest.approx(original, rel=1e-4)  # same law, other numbers

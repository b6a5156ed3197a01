"""The level-by-level, chunked SWD (tf_gans.metrics.swd.sliced_wasserstein) equals the previous
all-at-once computation (swd.reference_sliced_wasserstein; PGGAN `metrics/sliced_wasserstein.py`
computes every level of both sets before the distances)."""

import numpy as np
import pytest
import tensorflow as tf

from tf_gans.metrics import swd

_BINOMIAL = (1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16)


def _images(seed, n, size, channels=3, noise=25):
  """Smooth random fields plus pixel noise, uint8 NHWC."""
  rng = np.random.default_rng(seed)
  low = rng.uniform(30, 225, size=(n, size // 8, size // 8, channels))
  img = np.repeat(np.repeat(low, 8, axis=1), 8, axis=2)
  img = img + noise * rng.standard_normal(img.shape)
  return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def _assert_equal_per_level(got, ref, rtol=1e-6):
  assert list(got) == list(ref)
  for key in ref:
    np.testing.assert_allclose(got[key], ref[key], rtol=rtol, err_msg=key)


# --- a float64-only pyramid, as written before the float32 steps ---

def _blur64(x, gain):
  h, w = tf.shape(x)[1], tf.shape(x)[2]
  xp = tf.pad(x, [[0, 0], [2, 2], [0, 0], [0, 0]], mode='REFLECT')
  x = tf.add_n([wk * xp[:, k:k + h] for k, wk in enumerate(_BINOMIAL)])
  xp = tf.pad(x, [[0, 0], [0, 0], [2, 2], [0, 0]], mode='REFLECT')
  return tf.add_n([(wk * gain) * xp[:, :, k:k + w] for k, wk in enumerate(_BINOMIAL)])


def _pyramid64(images, num_levels):
  pyramid = [tf.cast(images, tf.float32)]
  for _ in range(1, num_levels):
    g = tf.cast(pyramid[-1], tf.float64)
    pyramid.append(tf.cast(_blur64(g, 1.0)[:, ::2, ::2], tf.float32))
    up = tf.cast(pyramid[-1], tf.float64)
    s = tf.shape(up)
    up = tf.reshape(tf.stack([up, tf.zeros_like(up)], axis=3), [s[0], s[1], 2 * s[2], s[3]])
    up = tf.reshape(tf.stack([up, tf.zeros_like(up)], axis=2), [s[0], 2 * s[1], 2 * s[2], s[3]])
    pyramid[-2] = pyramid[-2] - tf.cast(_blur64(up, 4.0), tf.float32)
  return pyramid


def _extreme_images(size):
  """Noise, all-255, all-0 and 0/255 checkerboards: the largest sums the exactness bound allows."""
  rng = np.random.default_rng(7)
  checker = (np.indices((size, size)).sum(0) % 2 * 255).astype(np.uint8)
  stripes = (np.arange(size) // 2 % 2 * 255).astype(np.uint8)
  return np.stack([rng.integers(0, 256, (size, size, 3), dtype=np.uint8),
                   np.full((size, size, 3), 255, np.uint8), np.zeros((size, size, 3), np.uint8),
                   np.repeat(checker[:, :, None], 3, axis=2),
                   np.repeat(np.broadcast_to(stripes, (size, size))[:, :, None], 3, axis=2)])


@pytest.mark.parametrize('size,levels', [(128, 4), (256, 5)])
def test_uint8_pyramid_is_bit_identical_to_the_float64_one(size, levels):
  """The float32 steps (pyr_down of G_0 and G_1, pyr_up for L_0) round nothing for uint8 images."""
  x = _extreme_images(size)
  ref = _pyramid64(x, levels)
  pyramid = swd.laplacian_pyramid(x, levels)
  for l in range(levels):
    np.testing.assert_array_equal(pyramid[l].numpy(), ref[l].numpy(), err_msg=f'level {l}')
    np.testing.assert_array_equal(swd.laplacian_level(x, l, levels).numpy(), ref[l].numpy(),
                                  err_msg=f'laplacian_level {l}')


def test_float_input_pyramid_stays_float64():
  x = np.random.default_rng(1).standard_normal((2, 32, 32, 3)).astype(np.float32) * 100
  for got, ref in zip(swd.laplacian_pyramid(x, 2), _pyramid64(x, 2)):
    np.testing.assert_array_equal(got.numpy(), ref.numpy())
  with pytest.raises(ValueError, match='level'):
    swd.laplacian_level(x, 2, 2)


def test_level_descriptors_equal_the_accumulator_levels():
  x = _images(0, 7, 64)
  acc = swd.descriptors(x, seed=4, minibatch_size=3, patch_stream=1)
  for l in range(len(acc.levels)):
    got = swd.level_descriptors(x, l, seed=4, minibatch_size=3, patch_stream=1)
    np.testing.assert_array_equal(got, acc.levels[l])


def test_streamed_equals_the_previous_all_at_once_computation():
  real, fake = _images(1, 12, 64), _images(2, 12, 64, noise=40)
  got = swd.sliced_wasserstein(real, fake, seed=5)
  ref = swd.reference_sliced_wasserstein(real, fake, seed=5)
  assert all(v > 0 for v in ref.values())
  _assert_equal_per_level(got, ref)
  # The pass-by-pass path (presets' swd-16k) goes through the same chunked projection.
  passes = swd.distance_from_descriptors(swd.descriptors(real, 5), swd.descriptors(fake, 5), 5)
  _assert_equal_per_level(passes, ref)


def test_tiny_chunks_and_minibatches_still_equal():
  """Chunk boundaries everywhere: 3 directions a chunk (128 = 42 x 3 + 2), 5-image minibatches."""
  real, fake = _images(3, 11, 32), _images(4, 11, 32, noise=5)
  ref = swd.reference_sliced_wasserstein(real, fake, seed=2, fake_seed=9)
  for chunk, mb in ((3, 5), (1, 11), (127, 2), (1000, None)):
    got = swd.sliced_wasserstein(real, fake, seed=2, fake_seed=9, dirs_per_chunk=chunk,
                                 minibatch_size=mb)
    _assert_equal_per_level(got, ref)


def test_projected_distance_chunking_and_identical_sets():
  rng = np.random.default_rng(0)
  a = rng.standard_normal((300, 20)).astype(np.float32)
  b = (1.5 * rng.standard_normal((300, 20)) + 0.3).astype(np.float32)
  whole = swd.projected_distance(a, b, np.random.default_rng(1), dir_repeats=3,
                                 dirs_per_repeat=10)
  for chunk in (1, 3, 4, 10, 64):
    np.testing.assert_allclose(
        swd.projected_distance(a, b, np.random.default_rng(1), dir_repeats=3,
                               dirs_per_repeat=10, dirs_per_chunk=chunk), whole, rtol=1e-7)
  # The previous column sort of tf.matmul projections, on the same directions.
  rng = np.random.default_rng(1)
  column_sort = swd._mean_sorted_difference  # pylint: disable=protected-access
  previous = np.mean([column_sort(tf.matmul(a, d), tf.matmul(b, d), on_gpu=False)
                      for d in (tf.constant(swd.unit_directions(rng, 20, 10)) for _ in range(3))])
  np.testing.assert_allclose(whole, previous, rtol=1e-6)
  assert swd.projected_distance(a, a, np.random.default_rng(1), dirs_per_chunk=7) == 0.0
  with pytest.raises(ValueError, match='dirs_per_chunk'):
    swd.projected_distance(a, b, np.random.default_rng(1), dirs_per_chunk=0)


def test_tf_chunk_path_equals_numpy_chunk_path():
  """The GPU branch (tf.matmul, tf.sort) on the CPU against the numpy branch."""
  rng = np.random.default_rng(3)
  a = rng.standard_normal((400, 30)).astype(np.float32)
  b = (rng.standard_normal((400, 30)) ** 2).astype(np.float32)
  dirs_t = np.ascontiguousarray(swd.unit_directions(rng, 30, 8).T)
  buffers = np.empty((8, 400), np.float32), np.empty((8, 400), np.float32)
  # pylint: disable=protected-access
  on_cpu = swd._sorted_difference_sum_np(a, b, dirs_t, *buffers)
  on_tf = swd._sorted_difference_sum_tf(tf.constant(a), tf.constant(b), dirs_t)
  np.testing.assert_allclose(on_tf, on_cpu, rtol=1e-6)


def test_side_by_side_benchmark_runs_each_implementation_in_its_own_process():
  from tf_gans.bench import metrics as bench_metrics  # pylint: disable=import-outside-toplevel
  report = bench_metrics.swd_compare(('streamed', 'previous'), num=4, resolution=16, rounds=1,
                                     log=lambda *a, **k: None)
  for name in ('streamed', 'previous'):
    (run,) = report['runs'][name]
    assert run['seconds'] > 0 and run['peak_rss_mb'] >= run['rss_before_swd_mb'] > 0
    assert set(run['result']) == {'SWDx1e3_16', 'SWDx1e3_avg'}
  assert report['max_relative_difference'] < 1e-6
  assert report['time_ratio_previous_over_streamed'] > 0
  with pytest.raises(ValueError, match='swd_compare'):
    bench_metrics.swd_compare(('fastest',), num=4, resolution=16)

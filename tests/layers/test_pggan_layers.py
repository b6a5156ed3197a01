"""PGGAN ops (NHWC layers) against NumPy versions of the reference's NCHW formulas.

Reference: the primitive ops of the original PGGAN `networks.py` (`get_weight`,
`dense`, `conv2d`, `apply_bias`, `leaky_relu`, `upscale2d`, `downscale2d`,
`upscale2d_conv2d`, `conv2d_downscale2d`, `pixel_norm`,
`minibatch_stddev_layer`). Every NumPy function
here works on NCHW arrays, as the official code does; the layers get the
transposed NHWC input and their output is transposed back.
"""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_gans.layers import pggan

RNG = np.random.default_rng(0)


def nhwc(x):
  return np.transpose(x, [0, 2, 3, 1])


def nchw(x):
  return np.transpose(np.asarray(x), [0, 3, 1, 2])


def randn(*shape):
  return RNG.normal(size=shape).astype(np.float32)


# NumPy reference ops, NCHW, float64.


def np_conv(x, w, stride=1):
  """Cross-correlation with TF 'SAME' padding; w is [k, k, Cin, Cout]."""
  k = w.shape[0]
  _, _, height, width = x.shape
  out_h, out_w = -(-height // stride), -(-width // stride)
  pad_h = max((out_h - 1) * stride + k - height, 0)
  pad_w = max((out_w - 1) * stride + k - width, 0)
  x = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad_h // 2, pad_h - pad_h // 2),
                                    (pad_w // 2, pad_w - pad_w // 2)))
  out = 0.0
  for i in range(k):
    for j in range(k):
      patch = x[:, :, i:i + stride * (out_h - 1) + 1:stride, j:j + stride * (out_w - 1) + 1:stride]
      out = out + np.einsum('nchw,co->nohw', patch, w[i, j].astype(np.float64))
  return out


def np_conv_transpose_s2(x, w):
  """TF conv2d_transpose, stride 2, SAME, 4x4 kernel w [4, 4, Cout, Cin], by scattering.

  Input pixel (a, b) adds x[a, b] * w[i, j] to output (2a + i - 1, 2b + j - 1).
  """
  n, _, height, width = x.shape
  k = w.shape[0]
  full = np.zeros((n, w.shape[2], 2 * (height - 1) + k, 2 * (width - 1) + k))
  for i in range(k):
    for j in range(k):
      full[:, :, i:i + 2 * height:2, j:j + 2 * width:2] += np.einsum(
          'nchw,oc->nohw', x.astype(np.float64), w[i, j].astype(np.float64))
  return full[:, :, 1:1 + 2 * height, 1:1 + 2 * width]


def np_upscale(x, f):
  return x.repeat(f, axis=2).repeat(f, axis=3)


def np_downscale(x, f):
  n, c, height, width = x.shape
  return x.astype(np.float64).reshape(n, c, height // f, f, width // f, f).mean(axis=(3, 5))


def np_fused_kernel(w):
  w = np.pad(w.astype(np.float64), ((1, 1), (1, 1), (0, 0), (0, 0)))
  return w[1:, 1:] + w[:-1, 1:] + w[1:, :-1] + w[:-1, :-1]


def np_mbstd(x, group_size):
  """Loops over the strided groups: sample n is in group n % M, M = N / G."""
  n, _, height, width = x.shape
  groups = n // min(group_size, n)
  feature = np.zeros((n, 1, height, width))
  for m in range(groups):
    members = [i for i in range(n) if i % groups == m]
    y = x[members].astype(np.float64)
    std = np.sqrt(((y - y.mean(axis=0)) ** 2).mean(axis=0) + 1e-8)
    feature[members] = std.mean()
  return np.concatenate([x, feature], axis=1)


def np_pixel_norm(x, eps=1e-8):
  x = x.astype(np.float64)
  return x / np.sqrt((x ** 2).mean(axis=1, keepdims=True) + eps)


def _set_random(variable):
  variable.assign(randn(*variable.shape))
  return variable.numpy()


# Weight layers.


def test_wscale_values_per_layer_kind():
  dense = pggan.WScaleDense(8192, gain=math.sqrt(2) / 4)
  dense.build((None, 512))
  assert dense.wscale == np.float32(1 / 64) and dense.weight.shape == (512, 8192)
  conv = pggan.WScaleConv2D(5, 3)
  conv.build((None, 8, 8, 16))
  assert conv.wscale == np.float32(np.sqrt(2) / np.sqrt(144))
  torgb = pggan.WScaleConv2D(3, 1, gain=1.0)
  torgb.build((None, 8, 8, 16))
  assert torgb.wscale == np.float32(0.25) and torgb.weight.shape == (1, 1, 16, 3)
  up = pggan.UpscaleConv2D(5)
  up.build((None, 4, 4, 16))
  assert up.weight.shape == (3, 3, 5, 16)                     # [k, k, out, in].
  assert up.wscale == np.float32(np.sqrt(2) / np.sqrt(144))   # fan_in k*k*Cin, not k*k*out.
  down = pggan.ConvDownscale2D(5)
  down.build((None, 8, 8, 16))
  assert down.weight.shape == (3, 3, 16, 5)
  assert down.wscale == np.float32(np.sqrt(2) / np.sqrt(144))
  flat = pggan.WScaleDense(7)
  flat.build((None, 4, 4, 32))
  assert flat.weight.shape == (512, 7) and flat.wscale == np.float32(np.sqrt(2) / np.sqrt(512))


def test_initialisation_with_and_without_wscale():
  keras.utils.set_random_seed(3)
  scaled = pggan.WScaleConv2D(64, 3)
  scaled.build((None, 8, 8, 64))
  assert abs(scaled.weight.numpy().std() - 1.0) < 0.02        # N(0, 1).
  plain = pggan.WScaleConv2D(64, 3, use_wscale=False)
  plain.build((None, 8, 8, 64))
  assert plain.wscale is None
  assert abs(plain.weight.numpy().std() / (np.sqrt(2) / 24) - 1.0) < 0.02   # N(0, std).
  x = randn(2, 8, 8, 64)
  np.testing.assert_allclose(plain(x), nhwc(np_conv(nchw(x), plain.weight.numpy())),
                             rtol=1e-4, atol=1e-4)


def test_dense_flattens_in_nchw_order():
  layer = pggan.WScaleDense(6)
  x = randn(3, 2, 4, 4)                                        # NCHW, C*H*W = 32.
  layer.build((None, 4, 4, 2))
  w = _set_random(layer.weight)
  expected = x.reshape(3, -1).astype(np.float64) @ (w * layer.wscale)
  np.testing.assert_allclose(layer(nhwc(x)), expected, rtol=1e-5, atol=1e-5)
  x2 = randn(3, 5)
  layer2 = pggan.WScaleDense(4, gain=1.0)
  w2 = (layer2.build((None, 5)), _set_random(layer2.weight))[1]
  np.testing.assert_allclose(layer2(x2), x2 @ (w2 * np.float32(1 / np.sqrt(5))),
                             rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('kernel', [1, 3])
def test_conv_is_same_cross_correlation(kernel):
  layer = pggan.WScaleConv2D(5, kernel)
  x = randn(2, 3, 8, 8)
  layer.build((None, 8, 8, 3))
  w = _set_random(layer.weight) * layer.wscale
  np.testing.assert_allclose(layer(nhwc(x)), nhwc(np_conv(x, w)), rtol=1e-5, atol=1e-5)


def test_fused_upscale_conv():
  layer = pggan.UpscaleConv2D(5)
  x = randn(2, 4, 6, 6)
  layer.build((None, 6, 6, 4))
  w = _set_random(layer.weight) * layer.wscale                  # [3, 3, 5, 4].
  y = nchw(layer(nhwc(x)))
  assert y.shape == (2, 5, 12, 12)
  # As conv2d_transpose of the padded and summed 4x4 kernel (no 0.25) ...
  np.testing.assert_allclose(y, np_conv_transpose_s2(x, np_fused_kernel(w)), rtol=1e-5, atol=1e-5)
  # ... and as a conv of the upscaled input with the flipped, transposed kernel.
  w_conv = np.transpose(w[::-1, ::-1], [0, 1, 3, 2])
  np.testing.assert_allclose(y, np_conv(np_upscale(x, 2), w_conv), rtol=1e-5, atol=1e-5)


def test_fused_conv_downscale():
  layer = pggan.ConvDownscale2D(5)
  x = randn(2, 4, 8, 8)
  layer.build((None, 8, 8, 4))
  w = _set_random(layer.weight) * layer.wscale                  # [3, 3, 4, 5].
  y = nchw(layer(nhwc(x)))
  assert y.shape == (2, 5, 4, 4)
  np.testing.assert_allclose(y, np_downscale(np_conv(x, w), 2), rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(y, np_conv(x, np_fused_kernel(w) * 0.25, stride=2),
                             rtol=1e-5, atol=1e-5)


def test_bias_is_per_channel():
  layer = pggan.Bias()
  x = randn(2, 3, 4, 4)
  layer.build((None, 4, 4, 3))
  assert not layer.bias.numpy().any()                           # Zero init.
  b = _set_random(layer.bias)
  np.testing.assert_allclose(nchw(layer(nhwc(x))), x + b.reshape(1, -1, 1, 1), rtol=1e-6)
  flat = pggan.Bias()
  x2 = randn(2, 3)
  flat.build((None, 3))
  b2 = _set_random(flat.bias)
  np.testing.assert_allclose(flat(x2), x2 + b2, rtol=1e-6)


# Layers without weights.


def test_pixel_norm_over_channels_and_features():
  x = randn(2, 5, 3, 3)
  np.testing.assert_allclose(nchw(pggan.PixelNorm()(nhwc(x))), np_pixel_norm(x), rtol=1e-5)
  x2 = randn(4, 7)
  np.testing.assert_allclose(pggan.PixelNorm(1e-4)(x2), np_pixel_norm(x2, 1e-4), rtol=1e-5)


@pytest.mark.parametrize('n, group', [(8, 4), (3, 4), (8, 2), (4, 4)])
def test_minibatch_stddev(n, group):
  x = randn(n, 3, 4, 4) * np.arange(1, n + 1, dtype=np.float32).reshape(-1, 1, 1, 1)
  y = nchw(pggan.MinibatchStddev(group)(nhwc(x)))
  assert y.shape == (n, 4, 4, 4)
  np.testing.assert_allclose(y, np_mbstd(x, group), rtol=1e-5, atol=1e-6)


def test_minibatch_stddev_groups_are_strided():
  # N=8, G=4, M=2: samples 0, 2, 4, 6 form a group of zeros, 1, 3, 5, 7 differ.
  x = np.zeros((8, 2, 2, 1), np.float32)
  x[1::2] = randn(4, 2, 2, 1)
  y = pggan.MinibatchStddev(4)(x).numpy()[..., -1]
  np.testing.assert_allclose(y[0::2], 1e-4, rtol=1e-5)          # sqrt(0 + 1e-8).
  assert (y[1::2] > 1e-2).all()


def test_minibatch_stddev_float32_statistics_and_uneven_batch():
  x = randn(8, 4, 4, 3).astype(np.float16) * 100
  y = pggan.minibatch_stddev(tf.constant(x), 4)
  assert y.dtype == tf.float16
  expected = np_mbstd(nchw(x.astype(np.float32)), 4)[:, -1]
  np.testing.assert_allclose(nchw(y)[:, -1].astype(np.float32), expected, rtol=1e-3)
  with pytest.raises((tf.errors.InvalidArgumentError, ValueError)):
    pggan.minibatch_stddev(tf.constant(randn(6, 4, 4, 3)), 4)


@pytest.mark.parametrize('factor', [1, 2, 4])
def test_upscale_downscale(factor):
  x = randn(2, 3, 8, 8)
  np.testing.assert_array_equal(nchw(pggan.Upscale2D(factor)(nhwc(x))), np_upscale(x, factor))
  np.testing.assert_allclose(nchw(pggan.Downscale2D(factor)(nhwc(x))), np_downscale(x, factor),
                             rtol=1e-6, atol=1e-6)
  with pytest.raises(ValueError, match='factor'):
    pggan.Upscale2D(0)


def test_lerp_and_leaky_relu():
  a, b = randn(5), randn(5)
  np.testing.assert_allclose(pggan.lerp(a, b, 0.25), a + (b - a) * 0.25, rtol=1e-6)
  np.testing.assert_allclose(pggan.lerp(a, b, 1.5), a + (b - a) * 1.5, rtol=1e-6)
  np.testing.assert_allclose(pggan.lerp_clip(a, b, tf.constant(1.5)), b, rtol=1e-6)
  np.testing.assert_allclose(pggan.lerp_clip(a, b, tf.constant(-2.0)), a, rtol=1e-6)
  np.testing.assert_allclose(pggan.leaky_relu(tf.constant(a)), np.maximum(0.2 * a, a), rtol=1e-6)


@pytest.mark.parametrize('dtype', [tf.float32, tf.bfloat16])
def test_leaky_relu_is_the_reference_maximum_to_the_bit_with_first_and_second_gradients(dtype):
  # The reference's `max(x * alpha, x)`; ours runs it as the one LeakyRelu op. Values,
  # gradients and the gradient's gradient (the penalty's double backprop) must be the
  # same numbers: magnitudes over the float range, signed zeros and denormals included.
  x = np.concatenate([randn(4000) * np.float32(10.0) ** RNG.integers(-40, 30, 4000),
                      np.float32([0.0, -0.0, 1e-45, -1e-45, 3e38, -3e38])])
  x, g = tf.cast(x, dtype), tf.cast(randn(x.size), dtype)

  def reference(x):
    return tf.maximum(x * tf.constant(0.2, dtype=x.dtype), x)

  def run(fn):
    with tf.GradientTape() as outer:
      outer.watch(x)
      with tf.GradientTape() as inner:
        inner.watch(x)
        y = fn(x)
      dx = inner.gradient(y, x, output_gradients=g)
      s = tf.reduce_sum(tf.cast(dx * dx * x, tf.float32))
    return [tf.cast(t, tf.float32).numpy() for t in (y, dx, outer.gradient(s, x))]

  for got, want in zip(run(pggan.leaky_relu), run(reference)):
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))



# The penalty's path: inside tf.function, the gradient of (dL/dx . v) w.r.t. the upstream gradient.

_ALPHA = np.float32(0.2)
_INF = np.float32(np.inf)
# x: +0, -0, negative, positive, tiny; upstream gradients g: -0, +0, +-inf, finite; v: any sign, -0.
_X = np.float32([0.0, -0.0, -1.5, 2.0, 0.0, -0.0, -3.0, 4.0, 0.0, -0.0, -2.5, 1.0, 1e-30, -1e-30,
                 0.0, 7.0])
_G = np.float32([-0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, _INF, _INF, _INF, _INF, -_INF, 2.0,
                 -_INF, -_INF])
_V = np.float32([1.5, -2.0, 3.0, -0.5, 0.25, -1.0, 2.0, 4.0, -3.0, 0.5, 1.0, -2.0, 0.75, -0.0,
                 -0.0, 5.0])


def _reference_maximum_gradients(x, g, v):
  """The original networks.py `leaky_relu` = tf.maximum(x * alpha, x), differentiated by hand.

  TensorFlow's Maximum gradient (math_grad._MaximumMinimumGrad, selector greater_equal)
  routes g to the first input where first >= second and to the second elsewhere, each
  branch's other side an exact zero; ties (x = +-0: alpha*x >= x) go to the first input,
  x * alpha. So dL/dx = where(alpha*x >= x, g, 0) * alpha + where(alpha*x >= x, 0, g), and
  d/dg sum(dL/dx * v) is the same map applied to v.
  """
  first = _ALPHA * x >= x
  route = lambda t: np.where(first, t, np.float32(0)) * _ALPHA + np.where(first, np.float32(0), t)
  return route(g), route(v)


def _second_order(fn):
  """(dL/dx, d/dg sum(dL/dx * v)) of fn at (_X, _G, _V), in a tf.function."""

  @tf.function
  def run(x, g, v):
    with tf.GradientTape() as outer:
      outer.watch(g)
      with tf.GradientTape() as inner:
        inner.watch(x)
        y = fn(x)
      dx = inner.gradient(y, x, output_gradients=g)
      s = tf.reduce_sum(dx * v)
    return dx, outer.gradient(s, g, unconnected_gradients=tf.UnconnectedGradients.ZERO)

  return [t.numpy() for t in run(tf.constant(_X), tf.constant(_G), tf.constant(_V))]


def _check_second_order(fn):
  """Values as the formula (a zero of either sign equal, inf and nan in place)."""
  for got, want in zip(_second_order(fn), _reference_maximum_gradients(_X, _G, _V)):
    np.testing.assert_array_equal(got, want)
    # Signs may differ only on zeros, where the reference adds the +0 of the other branch.
    other = np.signbit(got) != np.signbit(want)
    assert np.all(got[other] == 0) and not np.any(np.signbit(want[other]))


def test_leaky_relu_gradient_wrt_the_upstream_gradient_is_the_reference_maximums():
  # The formula is the reference op's gradient in this TensorFlow (signs included) ...
  for got, want in zip(_second_order(lambda x: tf.maximum(x * tf.constant(_ALPHA), x)),
                       _reference_maximum_gradients(_X, _G, _V)):
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
  # ... and ours agrees with it; a -0 upstream gradient gives -0 here, +0 there (equal numbers).
  _check_second_order(pggan.leaky_relu)
  dx, dg = _second_order(pggan.leaky_relu)
  assert np.array_equal(np.signbit(dx[:4]), [True] * 4) and np.signbit(dg[13])


def _slope_at_ties_one(x):
  """Wrong: x = 0 takes slope 1 (relu-style tie), in first and second order."""
  return tf.where(x >= 0, x, x * _ALPHA)


@tf.custom_gradient
def _second_order_cut(x):
  """Wrong: right values and first gradient, but the gradient is not differentiable in g."""
  return tf.nn.leaky_relu(x, _ALPHA), lambda g: tf.stop_gradient(tf.raw_ops.LeakyReluGrad(
      gradients=g, features=x, alpha=float(_ALPHA)))


@tf.custom_gradient
def _masked_products(x):
  """Wrong: g * [x > 0] + g * alpha * [x <= 0], which turns an infinite g into nan."""
  return tf.nn.leaky_relu(x, _ALPHA), lambda g: (g * tf.cast(x > 0, x.dtype)
                                                 + g * _ALPHA * tf.cast(x <= 0, x.dtype))


@pytest.mark.parametrize('wrong', [_slope_at_ties_one, _second_order_cut, _masked_products])
def test_the_second_order_check_fails_for_a_wrong_leaky_relu(wrong):
  with pytest.raises(AssertionError):
    _check_second_order(wrong)


# Keras integration.


def test_mixed_precision_scales_in_float32_then_casts():
  layer = pggan.WScaleConv2D(4, 3, dtype='mixed_bfloat16')
  layer.build((None, 4, 4, 2))
  w = _set_random(layer.weight)
  assert layer.weight.dtype == 'float32'
  x = randn(1, 4, 4, 2)
  y = layer(x)
  assert y.dtype == tf.bfloat16
  w_runtime = tf.cast(w * layer.wscale, tf.bfloat16)           # float32 product, then cast.
  expected = tf.nn.conv2d(tf.cast(x, tf.bfloat16), w_runtime, 1, 'SAME')
  np.testing.assert_array_equal(tf.cast(y, tf.float32), tf.cast(expected, tf.float32))
  bias = pggan.Bias(dtype='mixed_float16')
  assert bias(np.ones((2, 3), np.float32)).dtype == tf.float16


@pytest.mark.parametrize('layer', [
    pggan.WScaleDense(3, gain=1.0, use_wscale=False), pggan.WScaleConv2D(4, 3, gain=2.0),
    pggan.UpscaleConv2D(4, 5), pggan.ConvDownscale2D(4), pggan.Bias(), pggan.PixelNorm(1e-4),
    pggan.MinibatchStddev(16), pggan.Upscale2D(4), pggan.Downscale2D(2)])
def test_get_config_round_trip(layer):
  clone = type(layer).from_config(layer.get_config())
  assert clone.get_config() == layer.get_config()
  restored = keras.layers.deserialize(keras.layers.serialize(layer))
  assert type(restored) is type(layer)


def test_layers_work_in_a_functional_model():
  x = keras.Input((4, 4, 3))
  h = pggan.UpscaleConv2D(5)(x)
  h = pggan.Bias()(h)
  h = pggan.PixelNorm()(h)
  h = pggan.ConvDownscale2D(6)(h)
  h = pggan.MinibatchStddev()(h)
  y = pggan.WScaleDense(2)(h)
  model = keras.Model(x, y)
  assert model.output_shape == (None, 2)
  assert model(randn(4, 4, 4, 3)).shape == (4, 2)


def test_invalid_arguments():
  with pytest.raises(ValueError, match='kernel_size'):
    pggan.WScaleConv2D(4, 2)
  with pytest.raises(ValueError, match='group_size'):
    pggan.MinibatchStddev(0)

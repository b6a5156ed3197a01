"""The primitive ops of PGGAN (Karras et al., ICLR 2018) as NHWC Keras layers.

Reference: the ops of the official TF1 code, github.com/tkarras/
progressive_growing_of_gans `networks.py` (`lerp`, `lerp_clip`, `get_weight`,
`dense`, `conv2d`, `apply_bias`, `leaky_relu`, `upscale2d`, `downscale2d`,
`upscale2d_conv2d`, `conv2d_downscale2d`, `pixel_norm`,
`minibatch_stddev_layer`; all NCHW there), and the paper's section 3
(minibatch standard deviation), section 4.1 (equalized learning rate) and
section 4.2 (pixelwise feature vector normalization). "The reference" below
is that `networks.py`.

The official code runs NCHW; these layers run NHWC, so the channel axis is the
last one. Every variable keeps the reference's shape and layout, so official
arrays copy over 1:1:
  * `WScaleDense.weight` [in, fmaps]: the input is flattened in C-major (NCHW)
    order, see `WScaleDense`.
  * `WScaleConv2D.weight` [k, k, Cin, fmaps] (HWIO, both layouts use it).
  * `UpscaleConv2D.weight` [k, k, fmaps, Cin] (transposed-conv layout).
  * `ConvDownscale2D.weight` [k, k, Cin, fmaps].
  * `Bias.bias` [channels].

Equalised learning rate ("wscale", paper section 4.1): the variable holds the
unscaled weight, initialised N(0, 1), and every call uses
`weight * float32(gain / sqrt(fan_in))`; the scale multiplies the weight (in
float32, before the cast to the compute dtype), not the activations. With
`use_wscale=False` the variable is initialised N(0, gain / sqrt(fan_in)) and
used as is.

Mixed precision: inputs are cast to the layer's compute dtype (Keras does it);
variables are float32 and created with `autocast=False`, so each layer scales
its weight in float32 and then casts it to the compute dtype, as the reference
casts `w` to `x.dtype`. The maths uses `tf` ops directly (conv2d,
conv2d_transpose, avg_pool, rsqrt, reduce_mean) so that each layer runs the same
kernel as the reference op. `MinibatchStddev` computes its statistics in
float32 whatever the compute dtype.
"""

import math

import keras
import numpy as np
import tensorflow as tf

LEAK = 0.2
PIXELNORM_EPSILON = 1e-8
MBSTD_EPSILON = 1e-8
HE_GAIN = math.sqrt(2.0)


# Functions (the `networks.py` ops): shared by the layers below and the models.


def lerp(a, b, t):
  """`a + (b - a) * t` (reference `lerp`)."""
  return a + (b - a) * t


def lerp_clip(a, b, t):
  """`lerp` with `t` clipped to [0, 1] (reference `lerp_clip`)."""
  return a + (b - a) * tf.clip_by_value(t, 0.0, 1.0)


def leaky_relu(x, alpha=LEAK):
  """The reference `leaky_relu`, `max(alpha * x, x)`, as TensorFlow's one LeakyRelu op.

  The same numbers in float arithmetic, forward and backward: for x > 0 both
  give x, else x * alpha (alpha in x's dtype; x = -0.0 included), and the
  gradient is g where x > 0, else g * alpha (the reference's tf.maximum routes
  g to its first input where alpha * x >= x, i.e. x <= 0, then through the
  multiply by alpha, plus an exact 0 from its second input; that +0 makes a
  -0 gradient +0 there and leaves it -0 here: equal numbers, and nothing
  downstream reads the sign of a zero). The gradient of that gradient w.r.t.
  g (the penalty's double backprop) is LeakyReluGrad again, v where x > 0,
  else v * alpha, as the reference's (`tests/layers/test_pggan_layers.py`
  checks both inside tf.function, ties, -0 and inf included). One
  kernel instead of Mul + Maximum forward, and LeakyReluGrad instead of
  GreaterEqual + two SelectV2 + Mul + AddN backward: grappler turns the
  Maximum gradient's zeros into a broadcast scalar, and that SelectV2 was a
  third of the 1024x1024 train step's op time (`benchmark --pggan_profile`).
  Measured (fmap_base 2048 / fmap_max 64, batch 4, interleaved with the
  official_ports graph): the train step 1.50x faster at 1024x1024, 1.27x at
  256x256, 1.42x at 512x512.
  """
  return tf.nn.leaky_relu(x, alpha=alpha)


def pixel_norm(x, epsilon=PIXELNORM_EPSILON):
  """x / sqrt(mean over channels of x^2 + eps), channels last (paper 4.2)."""
  eps = tf.constant(epsilon, dtype=x.dtype)
  return x * tf.math.rsqrt(
      tf.reduce_mean(tf.square(x), axis=-1, keepdims=True) + eps)


def upscale2d(x, factor=2):
  """Nearest-neighbour upscaling of NHWC x by an integer factor."""
  _check_factor(factor)
  if factor == 1:
    return x
  _, height, width, channels = x.shape
  x = tf.reshape(x, [-1, height, 1, width, 1, channels])
  x = tf.tile(x, [1, 1, factor, 1, factor, 1])
  return tf.reshape(x, [-1, height * factor, width * factor, channels])


def downscale2d(x, factor=2):
  """Box-filter downscaling of NHWC x: avg_pool f x f, stride f, VALID."""
  _check_factor(factor)
  if factor == 1:
    return x
  return tf.nn.avg_pool2d(x, ksize=factor, strides=factor, padding='VALID')


def minibatch_stddev(x, group_size=4):
  """Appends the minibatch standard deviation as the last channel (paper 3).

  Reference `minibatch_stddev_layer`, translated from NCHW to NHWC: the group
  size is G = min(group_size, N) at run time and N must be a multiple of G;
  x [N, H, W, C] is viewed as [G, M, H, W, C] with M = N / G, so sample n is in
  group n % M (strided groups). Per group, in float32: the biased variance over
  the G members, sqrt(var + 1e-8), then the mean over H, W, C. The scalar is
  cast back to x's dtype and broadcast to [N, H, W, 1] (sample n gets group
  n % M's value).
  """
  group = tf.minimum(group_size, tf.shape(x)[0])
  _, height, width, channels = x.shape
  y = tf.reshape(x, [group, -1, height, width, channels])
  y = tf.cast(y, tf.float32)
  y -= tf.reduce_mean(y, axis=0, keepdims=True)
  y = tf.reduce_mean(tf.square(y), axis=0)
  y = tf.sqrt(y + MBSTD_EPSILON)
  y = tf.reduce_mean(y, axis=[1, 2, 3], keepdims=True)   # [M, 1, 1, 1].
  y = tf.cast(y, x.dtype)
  y = tf.tile(y, [group, height, width, 1])
  return tf.concat([x, y], axis=-1)


def wscale(gain, fan_in):
  """The runtime weight scale, float32(gain / sqrt(fan_in)) computed in float64."""
  return np.float32(float(gain) / np.sqrt(float(fan_in)))


def _check_factor(factor):
  if not isinstance(factor, (int, np.integer)) or factor < 1:
    raise ValueError(f'factor must be an integer >= 1, got {factor!r}.')


def _check_kernel(kernel_size):
  if (not isinstance(kernel_size, (int, np.integer)) or kernel_size < 1
      or kernel_size % 2 != 1):
    raise ValueError(
        f'kernel_size must be an odd integer >= 1, got {kernel_size!r}.')


def _fused_kernel(w):
  """Pads [k, k, a, b] by 1 spatially and sums the four shifted [k+1, k+1] slices."""
  w = tf.pad(w, [[1, 1], [1, 1], [0, 0], [0, 0]])
  return w[1:, 1:] + w[:-1, 1:] + w[1:, :-1] + w[:-1, :-1]


# Layers with weights.


class _WScaleLayer(keras.layers.Layer):
  """Shared by the weight layers: the `weight` variable and its runtime scale.

  Subclasses set `self._fan_in` and call `_add_weight(shape)` in `build`.
  """

  def __init__(self, fmaps, gain=HE_GAIN, use_wscale=True, **kwargs):
    super().__init__(**kwargs)
    if fmaps < 1:
      raise ValueError(f'fmaps must be >= 1, got {fmaps}.')
    self.fmaps = int(fmaps)
    self.gain = float(gain)
    self.use_wscale = bool(use_wscale)
    self.wscale = None

  def _add_weight(self, shape, fan_in):
    std = wscale(self.gain, fan_in)
    if self.use_wscale:
      self.wscale = std
      init = keras.initializers.RandomNormal(0.0, 1.0)
    else:
      self.wscale = None
      init = keras.initializers.RandomNormal(0.0, float(self.gain / np.sqrt(fan_in)))
    # Not auto-cast: the weight is scaled in float32, then cast.
    self.weight = self.add_weight(name='weight', shape=shape, initializer=init,
                                  dtype='float32', autocast=False)

  def runtime_weight(self):
    """The weight as used by `call`: scaled (in float32), then cast."""
    w = tf.convert_to_tensor(self.weight)
    if self.use_wscale:
      w = w * tf.constant(self.wscale, dtype=tf.float32)
    return w

  def get_config(self):
    return {**super().get_config(), 'fmaps': self.fmaps, 'gain': self.gain,
            'use_wscale': self.use_wscale}


@keras.saving.register_keras_serializable(package='tf_gans')
class WScaleDense(_WScaleLayer):
  """Fully connected, no bias (reference `dense`): y = flatten(x) @ (W * wscale).

  `weight` is [in, fmaps], fan_in = in. Inputs of rank > 2 are flattened in
  the reference's C-major order: the reference flattens NCHW tensors, so NHWC
  inputs are transposed to NCHW first and row c*H*W + h*W + w of `weight` is
  the same feature as in the reference `dense`. An official weight thus
  loads unchanged.
  """

  def build(self, input_shape):
    fan_in = math.prod(input_shape[1:])
    self._add_weight((fan_in, self.fmaps), fan_in)

  def call(self, inputs):
    x = inputs
    if len(x.shape) > 2:
      x = tf.transpose(x, [0, 3, 1, 2])
      x = tf.reshape(x, [-1, math.prod(x.shape[1:])])
    return tf.matmul(x, tf.cast(self.runtime_weight(), x.dtype))

  def compute_output_shape(self, input_shape):
    return (input_shape[0], self.fmaps)


@keras.saving.register_keras_serializable(package='tf_gans')
class WScaleConv2D(_WScaleLayer):
  """Conv, stride 1, SAME, no bias (reference `conv2d`); `weight` [k, k, Cin, fmaps].

  fan_in = k * k * Cin; k must be odd.
  """

  def __init__(self, fmaps, kernel_size, gain=HE_GAIN, use_wscale=True, **kwargs):
    super().__init__(fmaps, gain=gain, use_wscale=use_wscale, **kwargs)
    _check_kernel(kernel_size)
    self.kernel_size = int(kernel_size)

  def build(self, input_shape):
    k, cin = self.kernel_size, input_shape[-1]
    self._add_weight((k, k, cin, self.fmaps), k * k * cin)

  def call(self, inputs):
    w = tf.cast(self.runtime_weight(), inputs.dtype)
    return tf.nn.conv2d(inputs, w, strides=1, padding='SAME')

  def compute_output_shape(self, input_shape):
    return (*input_shape[:-1], self.fmaps)

  def get_config(self):
    return {**super().get_config(), 'kernel_size': self.kernel_size}


@keras.saving.register_keras_serializable(package='tf_gans')
class UpscaleConv2D(WScaleConv2D):
  """Fused nearest 2x upscale + conv (reference `upscale2d_conv2d`).

  `weight` is [k, k, fmaps, Cin] (transposed-conv layout, out before in) with
  fan_in = k * k * Cin. The scaled kernel is zero-padded by 1 on each side and
  the four shifted (k+1) x (k+1) slices are summed (no 0.25); the result runs as
  `conv2d_transpose`, stride 2, SAME, to [N, 2H, 2W, fmaps]. TF's NHWC
  conv2d_transpose takes its filter as [h, w, out, in], the reference layout,
  so the kernel is used unchanged. It equals conv2d(upscale2d(x), W') with
  W'[i, j, c, o] = W[k-1-i, k-1-j, o, c].
  """

  def __init__(self, fmaps, kernel_size=3, gain=HE_GAIN, use_wscale=True, **kwargs):
    super().__init__(fmaps, kernel_size, gain=gain, use_wscale=use_wscale, **kwargs)

  def build(self, input_shape):
    k, cin = self.kernel_size, input_shape[-1]
    self._add_weight((k, k, self.fmaps, cin), k * k * cin)

  def call(self, inputs):
    w = tf.cast(_fused_kernel(self.runtime_weight()), inputs.dtype)
    _, height, width, _ = inputs.shape
    out_shape = [tf.shape(inputs)[0], height * 2, width * 2, self.fmaps]
    return tf.nn.conv2d_transpose(inputs, w, out_shape, strides=2, padding='SAME')

  def compute_output_shape(self, input_shape):
    n, height, width, _ = input_shape
    return (n, _times(height, 2), _times(width, 2), self.fmaps)


@keras.saving.register_keras_serializable(package='tf_gans')
class ConvDownscale2D(WScaleConv2D):
  """Fused conv + 2x box downscale (reference `conv2d_downscale2d`).

  `weight` is [k, k, Cin, fmaps], fan_in = k * k * Cin. The scaled kernel is
  padded by 1, the four shifted slices are summed and multiplied by 0.25, and
  conv2d runs with stride 2, SAME. It equals downscale2d(conv2d(x, W)), i.e.
  the pooling comes before any bias or activation.
  """

  def __init__(self, fmaps, kernel_size=3, gain=HE_GAIN, use_wscale=True, **kwargs):
    super().__init__(fmaps, kernel_size, gain=gain, use_wscale=use_wscale, **kwargs)

  def call(self, inputs):
    w = _fused_kernel(self.runtime_weight()) * 0.25
    w = tf.cast(w, inputs.dtype)
    return tf.nn.conv2d(inputs, w, strides=2, padding='SAME')

  def compute_output_shape(self, input_shape):
    n, height, width, _ = input_shape
    return (n, _half(height), _half(width), self.fmaps)


@keras.saving.register_keras_serializable(package='tf_gans')
class Bias(keras.layers.Layer):
  """Adds a per-channel `bias` [channels] (last axis), zero init (`apply_bias`)."""

  def build(self, input_shape):
    self.bias = self.add_weight(name='bias', shape=(input_shape[-1],),
                                initializer='zeros', dtype='float32', autocast=False)

  def call(self, inputs):
    return inputs + tf.cast(self.bias, inputs.dtype)

  def compute_output_shape(self, input_shape):
    return input_shape


# Layers without weights.


@keras.saving.register_keras_serializable(package='tf_gans')
class PixelNorm(keras.layers.Layer):
  """Pixelwise feature vector normalisation (paper section 4.2), channels last."""

  def __init__(self, epsilon=PIXELNORM_EPSILON, **kwargs):
    super().__init__(**kwargs)
    self.epsilon = float(epsilon)

  def call(self, inputs):
    return pixel_norm(inputs, self.epsilon)

  def compute_output_shape(self, input_shape):
    return input_shape

  def get_config(self):
    return {**super().get_config(), 'epsilon': self.epsilon}


@keras.saving.register_keras_serializable(package='tf_gans')
class MinibatchStddev(keras.layers.Layer):
  """`minibatch_stddev` as a layer (paper section 3): C -> C + 1 channels."""

  def __init__(self, group_size=4, **kwargs):
    super().__init__(**kwargs)
    if group_size < 1:
      raise ValueError(f'group_size must be >= 1, got {group_size}.')
    self.group_size = int(group_size)

  def call(self, inputs):
    return minibatch_stddev(inputs, self.group_size)

  def compute_output_shape(self, input_shape):
    return (*input_shape[:-1], input_shape[-1] + 1)

  def get_config(self):
    return {**super().get_config(), 'group_size': self.group_size}


@keras.saving.register_keras_serializable(package='tf_gans')
class Upscale2D(keras.layers.Layer):
  """`upscale2d` as a layer: nearest neighbour, integer factor (1: identity)."""

  def __init__(self, factor=2, **kwargs):
    super().__init__(**kwargs)
    _check_factor(factor)
    self.factor = int(factor)

  def call(self, inputs):
    return upscale2d(inputs, self.factor)

  def compute_output_shape(self, input_shape):
    n, height, width, channels = input_shape
    return (n, _times(height, self.factor), _times(width, self.factor), channels)

  def get_config(self):
    return {**super().get_config(), 'factor': self.factor}


@keras.saving.register_keras_serializable(package='tf_gans')
class Downscale2D(keras.layers.Layer):
  """`downscale2d` as a layer: box average, integer factor (1: identity)."""

  def __init__(self, factor=2, **kwargs):
    super().__init__(**kwargs)
    _check_factor(factor)
    self.factor = int(factor)

  def call(self, inputs):
    return downscale2d(inputs, self.factor)

  def compute_output_shape(self, input_shape):
    n, height, width, channels = input_shape
    f = self.factor
    return (n, None if height is None else height // f,
            None if width is None else width // f, channels)

  def get_config(self):
    return {**super().get_config(), 'factor': self.factor}


def _times(size, factor):
  return None if size is None else size * factor


def _half(size):
  return None if size is None else (size + 1) // 2

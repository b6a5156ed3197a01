"""Our tf.compat.v1 port of the official PGGAN `networks.py` (NCHW, graph mode).

Written after github.com/tkarras/progressive_growing_of_gans `networks.py`
("the reference"; no code copied): the
primitive ops, `G_paper` and `D_paper` with both the 'linear' template
structure and the 'recursive' runtime one, creating variables with
`tf.compat.v1.get_variable` under the reference's scope names. Call the
build functions inside a graph and a `variable_scope` (see
`official_ports.pggan_tf1.network.Network`).

This is the test oracle for `tf_gans.models.pggan`: it keeps the reference's
NCHW layout and op choices (`conv2d_transpose` for the fused upscale, avg_pool
for downscale, reshape + tile for upscale), independent of our Keras layers.
TensorFlow's CPU kernels for conv2d / conv2d_transpose / avg_pool are NHWC
only (oneDNN rewrites some NCHW convs, but not inside `tf.cond` branches), so
on a machine without a GPU each of those three ops runs between two
transposes (`_spatial_op`); every tensor between ops stays NCHW, so the
layout-sensitive parts (flattens, reshapes, bias, mbstd, concat) are the
reference's.
"""

import numpy as np
import tensorflow as tf

tf1 = tf.compat.v1


# Primitive ops (the reference's `lerp` ... `minibatch_stddev_layer`).

_NATIVE_NCHW = bool(tf.config.list_physical_devices('GPU'))


def _spatial_op(fn, x, strides, **kwargs):
  """Runs an NCHW conv / pool op `fn`, through NHWC where the CPU needs it."""
  if _NATIVE_NCHW:
    return fn(x, strides=[1, 1, strides, strides], data_format='NCHW', **kwargs)
  y = fn(tf.transpose(x, [0, 2, 3, 1]), strides=[1, strides, strides, 1],
         data_format='NHWC', **kwargs)
  return tf.transpose(y, [0, 3, 1, 2])

def lerp(a, b, t):
  return a + (b - a) * t


def lerp_clip(a, b, t):
  return a + (b - a) * tf.clip_by_value(t, 0.0, 1.0)


def cset(cur_lambda, new_cond, new_lambda):
  return lambda: tf.cond(new_cond, new_lambda, cur_lambda)


def get_weight(shape, gain=np.sqrt(2), use_wscale=False, fan_in=None):
  if fan_in is None:
    fan_in = np.prod(shape[:-1])
  std = gain / np.sqrt(fan_in)  # float64, as the reference
  if use_wscale:
    wscale = tf.constant(np.float32(std), name='wscale')
    return tf1.get_variable('weight', shape=shape,
                            initializer=tf1.initializers.random_normal()) * wscale
  return tf1.get_variable('weight', shape=shape,
                          initializer=tf1.initializers.random_normal(0, std))


def dense(x, fmaps, gain=np.sqrt(2), use_wscale=False):
  if len(x.shape) > 2:
    x = tf.reshape(x, [-1, int(np.prod([d for d in x.shape[1:]]))])
  w = get_weight([int(x.shape[1]), fmaps], gain=gain, use_wscale=use_wscale)
  return tf.matmul(x, tf.cast(w, x.dtype))


def conv2d(x, fmaps, kernel, gain=np.sqrt(2), use_wscale=False):
  assert kernel >= 1 and kernel % 2 == 1
  w = get_weight([kernel, kernel, int(x.shape[1]), fmaps], gain=gain, use_wscale=use_wscale)
  return _spatial_op(tf.nn.conv2d, x, 1, filters=tf.cast(w, x.dtype), padding='SAME')


def apply_bias(x):
  b = tf1.get_variable('bias', shape=[int(x.shape[1])], initializer=tf1.initializers.zeros())
  b = tf.cast(b, x.dtype)
  if len(x.shape) == 2:
    return x + b
  return x + tf.reshape(b, [1, -1, 1, 1])


def leaky_relu(x, alpha=0.2):
  with tf1.name_scope('LeakyRelu'):
    return tf.maximum(x * tf.constant(alpha, dtype=x.dtype), x)


def upscale2d(x, factor=2):
  if factor == 1:
    return x
  with tf1.variable_scope('Upscale2D'):
    s = x.shape
    x = tf.reshape(x, [-1, s[1], s[2], 1, s[3], 1])
    x = tf.tile(x, [1, 1, 1, factor, 1, factor])
    return tf.reshape(x, [-1, s[1], s[2] * factor, s[3] * factor])


def upscale2d_conv2d(x, fmaps, kernel, gain=np.sqrt(2), use_wscale=False):
  assert kernel >= 1 and kernel % 2 == 1
  cin = int(x.shape[1])
  w = get_weight([kernel, kernel, fmaps, cin], gain=gain, use_wscale=use_wscale,
                 fan_in=kernel * kernel * cin)
  w = tf.pad(w, [[1, 1], [1, 1], [0, 0], [0, 0]], mode='CONSTANT')
  w = tf.add_n([w[1:, 1:], w[:-1, 1:], w[1:, :-1], w[:-1, :-1]])
  w = tf.cast(w, x.dtype)
  n, h, w_ = tf.shape(x)[0], x.shape[2] * 2, x.shape[3] * 2
  output_shape = [n, fmaps, h, w_] if _NATIVE_NCHW else [n, h, w_, fmaps]
  return _spatial_op(tf.nn.conv2d_transpose, x, 2, filters=w, output_shape=output_shape,
                     padding='SAME')


def downscale2d(x, factor=2):
  if factor == 1:
    return x
  with tf1.variable_scope('Downscale2D'):
    return _spatial_op(tf.nn.avg_pool2d, x, factor,
                       ksize=ksize if _NATIVE_NCHW else [1, factor, factor, 1], padding='VALID')


def conv2d_downscale2d(x, fmaps, kernel, gain=np.sqrt(2), use_wscale=False):
  assert kernel >= 1 and kernel % 2 == 1
  w = get_weight([kernel, kernel, int(x.shape[1]), fmaps], gain=gain, use_wscale=use_wscale)
  w = tf.pad(w, [[1, 1], [1, 1], [0, 0], [0, 0]], mode='CONSTANT')
  w = tf.add_n([w[1:, 1:], w[:-1, 1:], w[1:, :-1], w[:-1, :-1]]) * 0.25
  w = tf.cast(w, x.dtype)
  return _spatial_op(tf.nn.conv2d, x, 2, filters=w, padding='SAME')


def pixel_norm(x, epsilon=1e-8):
  with tf1.variable_scope('PixelNorm'):
    return x * tf.math.rsqrt(tf.reduce_mean(tf.square(x), axis=1, keepdims=True) + epsilon)


def minibatch_stddev_layer(x, group_size=4):
  with tf1.variable_scope('MinibatchStddev'):
    group_size = tf.minimum(group_size, tf.shape(x)[0])
    s = x.shape
    y = tf.reshape(x, [group_size, -1, s[1], s[2], s[3]])   # [G, M, C, H, W]
    y = tf.cast(y, tf.float32)
    y -= tf.reduce_mean(y, axis=0, keepdims=True)
    y = tf.reduce_mean(tf.square(y), axis=0)                 # biased variance over the group
    y = tf.sqrt(y + 1e-8)
    y = tf.reduce_mean(y, axis=[1, 2, 3], keepdims=True)     # [M, 1, 1, 1]
    y = tf.cast(y, x.dtype)
    y = tf.tile(y, [group_size, 1, s[2], s[3]])              # [N, 1, H, W], sample n <- n % M
    return tf.concat([x, y], axis=1)


def _lod_variable():
  return tf1.get_variable('lod', initializer=np.float32(0.0), trainable=False)


# Networks (the reference's `G_paper`, `D_paper`). pylint: disable=invalid-name

def G_paper(latents_in, labels_in, num_channels=1, resolution=32, label_size=0,
            fmap_base=8192, fmap_decay=1.0, fmap_max=512, latent_size=None,
            normalize_latents=True, use_wscale=True, use_pixelnorm=True,
            pixelnorm_epsilon=1e-8, use_leakyrelu=True, dtype='float32',
            fused_scale=True, structure=None, is_template_graph=False, **_kwargs):
  resolution_log2 = int(np.log2(resolution))
  assert resolution == 2 ** resolution_log2 and resolution >= 4

  def nf(stage):
    return min(int(fmap_base / (2.0 ** (stage * fmap_decay))), fmap_max)

  def pn(x):
    return pixel_norm(x, epsilon=pixelnorm_epsilon) if use_pixelnorm else x

  if latent_size is None:
    latent_size = nf(0)
  if structure is None:
    structure = 'linear' if is_template_graph else 'recursive'
  act = leaky_relu if use_leakyrelu else tf.nn.relu

  latents_in.set_shape([None, latent_size])
  labels_in.set_shape([None, label_size])
  combo_in = tf.cast(tf.concat([latents_in, labels_in], axis=1), dtype)
  lod_in = tf.cast(_lod_variable(), dtype)

  def block(x, res):
    with tf1.variable_scope(f'{2 ** res}x{2 ** res}'):
      if res == 2:
        if normalize_latents:
          x = pixel_norm(x, epsilon=pixelnorm_epsilon)
        with tf1.variable_scope('Dense'):
          x = dense(x, fmaps=nf(res - 1) * 16, gain=np.sqrt(2) / 4, use_wscale=use_wscale)
          x = tf.reshape(x, [-1, nf(res - 1), 4, 4])
          x = pn(act(apply_bias(x)))
        with tf1.variable_scope('Conv'):
          x = pn(act(apply_bias(conv2d(x, nf(res - 1), 3, use_wscale=use_wscale))))
      else:
        if fused_scale:
          with tf1.variable_scope('Conv0_up'):
            x = pn(act(apply_bias(upscale2d_conv2d(x, nf(res - 1), 3, use_wscale=use_wscale))))
        else:
          x = upscale2d(x)
          with tf1.variable_scope('Conv0'):
            x = pn(act(apply_bias(conv2d(x, nf(res - 1), 3, use_wscale=use_wscale))))
        with tf1.variable_scope('Conv1'):
          x = pn(act(apply_bias(conv2d(x, nf(res - 1), 3, use_wscale=use_wscale))))
      return x

  def torgb(x, res):
    lod = resolution_log2 - res
    with tf1.variable_scope(f'ToRGB_lod{lod}'):
      return apply_bias(conv2d(x, num_channels, 1, gain=1, use_wscale=use_wscale))

  if structure == 'linear':
    x = block(combo_in, 2)
    images_out = torgb(x, 2)
    for res in range(3, resolution_log2 + 1):
      lod = resolution_log2 - res
      x = block(x, res)
      img = torgb(x, res)
      images_out = upscale2d(images_out)
      with tf1.variable_scope(f'Grow_lod{lod}'):
        images_out = lerp_clip(img, images_out, lod_in - lod)
  elif structure == 'recursive':
    def grow(x, res, lod):
      y = block(x, res)
      img = lambda: upscale2d(torgb(y, res), 2 ** lod)
      if res > 2:
        img = cset(img, lod_in > lod, lambda: upscale2d(
            lerp(torgb(y, res), upscale2d(torgb(x, res - 1)), lod_in - lod), 2 ** lod))
      if lod > 0:
        img = cset(img, lod_in < lod, lambda: grow(y, res + 1, lod - 1))
      return img()
    images_out = grow(combo_in, 2, resolution_log2 - 2)
  else:
    raise ValueError(structure)
  return tf.identity(images_out, name='images_out')


def D_paper(images_in, num_channels=1, resolution=32, label_size=0, fmap_base=8192,
            fmap_decay=1.0, fmap_max=512, use_wscale=True, mbstd_group_size=4,
            dtype='float32', fused_scale=True, structure=None, is_template_graph=False,
            **_kwargs):
  resolution_log2 = int(np.log2(resolution))
  assert resolution == 2 ** resolution_log2 and resolution >= 4

  def nf(stage):
    return min(int(fmap_base / (2.0 ** (stage * fmap_decay))), fmap_max)

  if structure is None:
    structure = 'linear' if is_template_graph else 'recursive'
  act = leaky_relu

  images_in.set_shape([None, num_channels, resolution, resolution])
  images_in = tf.cast(images_in, dtype)
  lod_in = tf.cast(_lod_variable(), dtype)

  def fromrgb(x, res):
    with tf1.variable_scope(f'FromRGB_lod{resolution_log2 - res}'):
      return act(apply_bias(conv2d(x, nf(res - 1), 1, use_wscale=use_wscale)))

  def block(x, res):
    with tf1.variable_scope(f'{2 ** res}x{2 ** res}'):
      if res >= 3:
        with tf1.variable_scope('Conv0'):
          x = act(apply_bias(conv2d(x, nf(res - 1), 3, use_wscale=use_wscale)))
        if fused_scale:
          with tf1.variable_scope('Conv1_down'):
            x = act(apply_bias(conv2d_downscale2d(x, nf(res - 2), 3, use_wscale=use_wscale)))
        else:
          with tf1.variable_scope('Conv1'):
            x = act(apply_bias(conv2d(x, nf(res - 2), 3, use_wscale=use_wscale)))
          x = downscale2d(x)
      else:
        if mbstd_group_size > 1:
          x = minibatch_stddev_layer(x, mbstd_group_size)
        with tf1.variable_scope('Conv'):
          x = act(apply_bias(conv2d(x, nf(res - 1), 3, use_wscale=use_wscale)))
        with tf1.variable_scope('Dense0'):
          x = act(apply_bias(dense(x, nf(res - 2), use_wscale=use_wscale)))
        with tf1.variable_scope('Dense1'):
          x = apply_bias(dense(x, 1 + label_size, gain=1, use_wscale=use_wscale))
      return x

  if structure == 'linear':
    img = images_in
    x = fromrgb(img, resolution_log2)
    for res in range(resolution_log2, 2, -1):
      lod = resolution_log2 - res
      x = block(x, res)
      img = downscale2d(img)
      y = fromrgb(img, res - 1)
      with tf1.variable_scope(f'Grow_lod{lod}'):
        x = lerp_clip(x, y, lod_in - lod)
    combo_out = block(x, 2)
  elif structure == 'recursive':
    def grow(res, lod):
      x = lambda: fromrgb(downscale2d(images_in, 2 ** lod), res)
      if lod > 0:
        x = cset(x, lod_in < lod, lambda: grow(res + 1, lod - 1))
      x = block(x(), res)
      y = lambda: x
      if res > 2:
        y = cset(y, lod_in > lod, lambda: lerp(
            x, fromrgb(downscale2d(images_in, 2 ** (lod + 1)), res - 1), lod_in - lod))
      return y()
    combo_out = grow(2, resolution_log2 - 2)
  else:
    raise ValueError(structure)
  scores_out = tf.identity(combo_out[:, :1], name='scores_out')
  labels_out = tf.identity(combo_out[:, 1:], name='labels_out')
  return scores_out, labels_out


BUILD_FUNCS = {'G_paper': G_paper, 'D_paper': D_paper}

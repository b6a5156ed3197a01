"""PGGAN's G_paper and D_paper (Karras et al., ICLR 2018) as NHWC Keras models.

Reference: the official github.com/tkarras/progressive_growing_of_gans
`networks.py`, functions `G_paper` and `D_paper` ("the reference" below) with
their 'recursive' / 'linear' structures; variable names, shapes and creation
order are those of the 'linear' template graph that `tfutil.py` `Network`
builds (and pickles). Paper section 2 and appendix A.1 describe the networks;
the ops are `tf_gans.layers.pggan`.

Both models take the reference's constructor arguments and defaults and keep
them in `model.static_kwargs`. `nf(stage) = min(int(fmap_base / 2**(stage *
fmap_decay)), fmap_max)`, R = log2(resolution), and a layer scope's `lod` is
R - res (res = log2 of the block's size).

Level of detail: each model owns `lod`, a non-trainable float32 scalar
variable (init 0). The forward pass reads it at run time and branches with
`tf.cond` exactly like the reference's default 'recursive' structure (only the
needed blocks run; at integer lod the output is the selected ToRGB, upsampled,
with no blending), so `model.lod.assign(x)` changes the output of a traced
`tf.function` without retracing. `structure='linear'` runs the reference's
template form instead (every block, `lerp_clip` blends); the two agree to
float rounding.

Layout: the inputs and outputs are NHWC (G: latents [N, latent_size] or
[latents, labels [N, label_size]] -> images [N, res, res, C], always full
size, linear (no tanh); D: images [N, res, res, C] -> (scores [N, 1], labels
[N, label_size])). All variables keep the reference's shapes and layouts; the
two dense layers that meet a 4x4 feature map (G `4x4/Dense`, D `4x4/Dense0`)
use the reference's C-major (NCHW) order for the 8192 axis (`WScaleDense`,
and G reshapes its Dense output to [N, C, 4, 4] before moving C last).

Variable names. Each reference layer scope is an op layer (holding `weight`)
plus a `Bias` layer (holding `bias`), both named after the scope's last part
and built under the rest, so a variable's Keras `path` is its reference name
(when the model is created outside any name scope). The two layers are the
model attributes `op_<scope>` and `bias_<scope>` ('/' -> '_', e.g.
`op_8x8_Conv0_up`), which is also how `tf.train.Checkpoint` keys them;
`scope_layers(scope)` returns them. `reference_variables()` returns every
variable keyed by its reference name, in the reference (pickle) creation
order of the 'linear' template graph. Op layers (each scope also has a Bias):

  reference scope       op layer                            then
  lod                   `model.lod` (keras.Variable)        -
  G 4x4/Dense           WScaleDense(nf(1)*16, sqrt(2)/4)    reshape C-major to
                        (input: pixel_norm(latents++labels)) 4x4, bias [nf(1)], act, PN
  G 4x4/Conv            WScaleConv2D(nf(1), 3)              act, PN
  G {r}x{r}/Conv0_up    UpscaleConv2D(nf(res-1), 3)         act, PN (fused_scale)
  G {r}x{r}/Conv0       WScaleConv2D(nf(res-1), 3)          after upscale2d; act, PN
  G {r}x{r}/Conv1       WScaleConv2D(nf(res-1), 3)          act, PN
  G ToRGB_lod{l}        WScaleConv2D(C, 1, gain 1)          linear
  D FromRGB_lod{l}      WScaleConv2D(nf(res-1), 1)          lrelu
  D {r}x{r}/Conv0       WScaleConv2D(nf(res-1), 3)          lrelu
  D {r}x{r}/Conv1_down  ConvDownscale2D(nf(res-2), 3)       lrelu (fused_scale)
  D {r}x{r}/Conv1       WScaleConv2D(nf(res-2), 3)          lrelu, downscale2d
  D 4x4/Conv            WScaleConv2D(nf(1), 3)              after MinibatchStddev; lrelu
  D 4x4/Dense0          WScaleDense(nf(0)), C-major flatten lrelu
  D 4x4/Dense1          WScaleDense(1 + label_size, gain 1) linear

PN is PixelNorm when `use_pixelnorm`; act is leaky ReLU 0.2 (or ReLU when
`use_leakyrelu=False`). Gains are sqrt(2) unless given.

Order: G: lod, 4x4/Dense, 4x4/Conv, ToRGB_lod{R-2}, then for res 3..R
Conv0(_up), Conv1, ToRGB_lod{R-res}. D: lod, FromRGB_lod0, then for res R..3
Conv0, Conv1(_down), FromRGB_lod{R-res+1}, then 4x4/Conv, 4x4/Dense0,
4x4/Dense1. Weight before bias within a scope.

`dtype` is the reference's compute dtype: 'float32', or 'float16' /
'bfloat16' (Keras mixed policies: float32 variables, compute in `dtype`). The
reference's `**kwargs` are accepted and ignored, as there; unknown keys are
logged. These models are not registered in `tf_gans.models.MODELS`: that
interface expects D(images) -> logits and a fixed-size G, while D_paper returns
(scores, labels) and both nets are driven by `lod`.
"""

import collections
import contextlib
import logging
import math

import keras
import numpy as np
import tensorflow as tf

from tf_gans.layers import pggan as pgl
from tf_gans.models import GanNets, MODELS

G_DEFAULTS = dict(
    num_channels=1, resolution=32, label_size=0, fmap_base=8192,
    fmap_decay=1.0, fmap_max=512, latent_size=None, normalize_latents=True,
    use_wscale=True, use_pixelnorm=True, pixelnorm_epsilon=1e-8,
    use_leakyrelu=True, dtype='float32', fused_scale=True, structure=None,
    is_template_graph=False)
D_DEFAULTS = dict(
    num_channels=1, resolution=32, label_size=0, fmap_base=8192,
    fmap_decay=1.0, fmap_max=512, use_wscale=True, mbstd_group_size=4,
    dtype='float32', fused_scale=True, structure=None, is_template_graph=False)
G_DENSE_GAIN = math.sqrt(2.0) / 4   # "to match Theano": wscale 1/64 at fan_in 512.
TORGB_GAIN = 1.0
D_OUTPUT_GAIN = 1.0
_KERAS_KWARGS = ('name', 'trainable')


def nf(stage, fmap_base, fmap_decay, fmap_max):
  """Feature maps of a stage: min(int(fmap_base / 2**(stage * decay)), fmap_max)."""
  return min(int(fmap_base / (2.0 ** (stage * fmap_decay))), fmap_max)


def resolution_log2(resolution):
  """R = log2(resolution); raises ValueError unless a power of 2 >= 4."""
  if (isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer))
      or resolution < 4 or resolution & (resolution - 1)):
    raise ValueError(
        f'resolution must be a power of 2 >= 4, got {resolution!r}.')
  return int(resolution).bit_length() - 1


def dtype_policy(dtype):
  """The Keras policy for the reference's compute `dtype`."""
  name = tf.as_dtype(dtype).name
  if name == 'float32':
    return keras.DTypePolicy('float32')
  if name in ('float16', 'bfloat16'):
    return keras.DTypePolicy(f'mixed_{name}')
  raise ValueError(f"dtype must be 'float32', 'float16' or 'bfloat16', got {dtype!r}.")


def resolve_structure(structure, is_template_graph):
  """None -> 'linear' for a template graph, else 'recursive' (as the reference)."""
  if structure is None:
    structure = 'linear' if is_template_graph else 'recursive'
  if structure not in ('linear', 'recursive'):
    raise ValueError(
        f"structure must be None, 'linear' or 'recursive', got {structure!r}.")
  return structure


def _cset(current, cond, new):
  """Reference `cset`: a thunk running tf.cond(cond, new, current)."""
  return lambda: tf.cond(cond, new, current)


def _name_scope(prefix):
  return keras.name_scope(prefix) if prefix else contextlib.nullcontext()


class _PgganNet(keras.Model):
  """What G and D share: static kwargs, `lod`, and scoped op + bias layers."""

  def __init__(self, defaults, kwargs):
    keras_kwargs = {k: kwargs.pop(k) for k in _KERAS_KWARGS if k in kwargs}
    ignored = sorted(set(kwargs) - set(defaults))
    if ignored:
      logging.info('%s ignores keyword arguments %s, as the reference does.',
                   type(self).__name__, ', '.join(ignored))
    static_kwargs = {k: kwargs.get(k, v) for k, v in defaults.items()}
    policy = dtype_policy(static_kwargs['dtype'])
    super().__init__(dtype=policy, **keras_kwargs)
    self._policy = policy
    self._static_kwargs = static_kwargs
    self.resolution_log2 = resolution_log2(self._static_kwargs['resolution'])
    self.structure = resolve_structure(self._static_kwargs['structure'],
                                       self._static_kwargs['is_template_graph'])
    self.lod = keras.Variable(np.float32(0.0), name='lod', dtype='float32',
                              trainable=False, autocast=False)
    self._scope_names = []

  @property
  def static_kwargs(self):
    """The reference constructor arguments (defaults filled in), a new dict."""
    return dict(self._static_kwargs)

  def nf(self, stage):
    s = self._static_kwargs
    return nf(stage, s['fmap_base'], s['fmap_decay'], s['fmap_max'])

  def _add_scope(self, scope, layer_cls, input_shape, *args, bias_shape=None, **kwargs):
    """Creates and builds scope's op layer and Bias, in the reference order.

    Both are plain attributes (`op_<scope>`, `bias_<scope>`, '/' -> '_'):
    `tf.train.Checkpoint` follows attributes, not layers held in containers.
    """
    prefix, _, leaf = scope.rpartition('/')
    layer = layer_cls(*args, name=leaf, dtype=self._policy, **kwargs)
    bias = pgl.Bias(name=leaf, dtype=self._policy)
    with _name_scope(prefix):
      layer.build(input_shape)
      bias.build(bias_shape or layer.compute_output_shape(input_shape))
    key = scope.replace('/', '_')
    setattr(self, f'op_{key}', layer)
    setattr(self, f'bias_{key}', bias)
    self._scope_names.append(scope)

  def scope_layers(self, scope):
    """(op layer, Bias layer) of a reference scope, e.g. '8x8/Conv1'."""
    key = scope.replace('/', '_')
    return getattr(self, f'op_{key}'), getattr(self, f'bias_{key}')

  def _apply(self, scope, x):
    layer, bias = self.scope_layers(scope)
    return bias(layer(x))

  def _lod_in(self):
    return tf.cast(self.lod, self.compute_dtype)

  def lod_top(self, resolution):
    """The level (R - log2 resolution) a call at `resolution` works at.

    Working resolution (our addition, for progressive training): the
    reference's G upsamples its output to full size and its D pools full-size
    inputs back down by 2**floor(lod), and D only ever sees pooled inputs. For
    lod_in in [lod_top, lod_top + 1) both are exact no-ops around the same
    function, so `G(z, resolution=r)` equals the full-size output box-pooled to
    r (and `D(x_r, resolution=r)` equals D of x_r nearest-upsampled), without
    paying for full-size tensors. Only the 'recursive' structure supports it;
    lod_in below `lod_top` acts as lod_top (finer levels are not built), and
    lod_in >= lod_top + 1 is not supported (the progressive schedule never
    asks for either: resolution = 2**(R - floor(lod))). None (no resolution
    given) is the plain recursive form at full size.
    """
    if resolution is None:
      return None
    if self.structure != 'recursive':
      raise ValueError(f"resolution={resolution} needs structure='recursive'.")
    r_log2 = resolution_log2(resolution)
    if r_log2 > self.resolution_log2:
      raise ValueError(f"resolution={resolution} exceeds the network's "
                       f"{self._static_kwargs['resolution']}.")
    return self.resolution_log2 - r_log2

  def reference_variables(self):
    """OrderedDict reference name -> variable, in the reference creation order.

    Shapes equal the reference's, so official arrays assign 1:1.
    """
    out = collections.OrderedDict(lod=self.lod)
    for scope in self._scope_names:
      layer, bias = self.scope_layers(scope)
      out[f'{scope}/weight'] = layer.weight
      out[f'{scope}/bias'] = bias.bias
    return out

  def get_config(self):
    return {'name': self.name, **self.static_kwargs}


@keras.saving.register_keras_serializable(package='tf_gans')
class GPaper(_PgganNet):
  """The PGGAN generator (reference `G_paper`); see the module docstring.

  Call: `G(latents)` or `G([latents, labels])` -> NHWC images [N, res, res, C]
  in the compute dtype. Labels are required when `label_size > 0`.
  """

  def __init__(self, **kwargs):
    super().__init__(G_DEFAULTS, kwargs)
    s = self._static_kwargs
    self.latent_size = self.nf(0) if s['latent_size'] is None else s['latent_size']
    self._act = pgl.leaky_relu if s['use_leakyrelu'] else tf.nn.relu
    self._pixel_norm = pgl.PixelNorm(s['pixelnorm_epsilon'], name='PixelNorm',
                                     dtype=self._policy)
    self._build_layers()
    self.built = True

  def _build_layers(self):
    s, r_log2 = self._static_kwargs, self.resolution_log2
    wscale = {'use_wscale': s['use_wscale']}
    nf1 = self.nf(1)
    self._add_scope('4x4/Dense', pgl.WScaleDense,
                    (None, self.latent_size + s['label_size']), nf1 * 16,
                    gain=G_DENSE_GAIN, bias_shape=(None, 4, 4, nf1), **wscale)
    self._add_scope('4x4/Conv', pgl.WScaleConv2D, (None, 4, 4, nf1), nf1, 3, **wscale)
    self._add_torgb(2)
    for res in range(3, r_log2 + 1):
      size, cin, cout = 2 ** res, self.nf(res - 2), self.nf(res - 1)
      if s['fused_scale']:
        self._add_scope(f'{size}x{size}/Conv0_up', pgl.UpscaleConv2D,
                        (None, size // 2, size // 2, cin), cout, 3, **wscale)
      else:
        self._add_scope(f'{size}x{size}/Conv0', pgl.WScaleConv2D,
                        (None, size, size, cin), cout, 3, **wscale)
      self._add_scope(f'{size}x{size}/Conv1', pgl.WScaleConv2D,
                      (None, size, size, cout), cout, 3, **wscale)
      self._add_torgb(res)

  def _add_torgb(self, res):
    size = 2 ** res
    self._add_scope(f'ToRGB_lod{self.resolution_log2 - res}', pgl.WScaleConv2D,
                    (None, size, size, self.nf(res - 1)),
                    self._static_kwargs['num_channels'], 1, gain=TORGB_GAIN,
                    use_wscale=self._static_kwargs['use_wscale'])

  def _pn(self, x):
    return self._pixel_norm(x) if self._static_kwargs['use_pixelnorm'] else x

  def block(self, x, res):
    """Reference `block(x, res)`: the 4x4 block takes latents ++ labels."""
    if res == 2:
      if self._static_kwargs['normalize_latents']:
        x = self._pixel_norm(x)
      layer, bias = self.scope_layers('4x4/Dense')
      x = layer(x)
      x = tf.transpose(tf.reshape(x, [-1, self.nf(1), 4, 4]), [0, 2, 3, 1])
      x = self._pn(self._act(bias(x)))
      return self._pn(self._act(self._apply('4x4/Conv', x)))
    size = 2 ** res
    if self._static_kwargs['fused_scale']:
      x = self._apply(f'{size}x{size}/Conv0_up', x)
    else:
      x = self._apply(f'{size}x{size}/Conv0', pgl.upscale2d(x))
    x = self._pn(self._act(x))
    return self._pn(self._act(self._apply(f'{size}x{size}/Conv1', x)))

  def torgb(self, x, res):
    """Reference `torgb(x, res)`: linear 1x1 conv to num_channels."""
    return self._apply(f'ToRGB_lod{self.resolution_log2 - res}', x)

  def call(self, inputs, resolution=None):
    """Images at full size, or at `resolution` (see `_PgganNet.lod_top`)."""
    latents, labels = self._split_inputs(inputs)
    combo = tf.cast(tf.concat([latents, labels], axis=1), self.compute_dtype)
    lod_in = self._lod_in()
    lod_top = self.lod_top(resolution)
    if self.structure == 'linear':
      return self._linear(combo, lod_in)
    if lod_top is not None:
      return self._phase(combo, lod_in, lod_top)
    return self._grow(combo, 2, self.resolution_log2 - 2, lod_in)

  def _split_inputs(self, inputs):
    s = self._static_kwargs
    if isinstance(inputs, (list, tuple)):
      if len(inputs) != 2:
        raise ValueError(f'G takes latents or [latents, labels], got {len(inputs)} inputs.')
      latents, labels = inputs
    else:
      if s['label_size']:
        raise ValueError(f"G has label_size={s['label_size']}: call it on [latents, labels].")
      latents = inputs
      labels = tf.zeros([tf.shape(latents)[0], 0], dtype=latents.dtype)
    if latents.shape[-1] != self.latent_size or labels.shape[-1] != s['label_size']:
      raise ValueError(
          f"G expects latents [N, {self.latent_size}] and labels [N, {s['label_size']}], "
          f'got {latents.shape} and {labels.shape}.')
    return latents, tf.cast(labels, latents.dtype)

  def _grow(self, x, res, lod, lod_in):
    """Reference 'recursive' structure; `lod` is this level's (R - res).

    lod_in < lod: recurse to the next block; lod_in > lod (res > 2): blend this
    level's RGB with the previous level's, upsampled; lod_in == lod: this
    level's RGB alone. The result is upsampled to full size.
    """
    y = self.block(x, res)

    def rgb():
      return pgl.upscale2d(self.torgb(y, res), 2 ** lod)

    def blend():
      rgb_low = pgl.upscale2d(self.torgb(x, res - 1))
      return pgl.upscale2d(pgl.lerp(self.torgb(y, res), rgb_low, lod_in - lod), 2 ** lod)

    def grow():
      return self._grow(y, res + 1, lod - 1, lod_in)

    img = rgb
    if res > 2:
      img = _cset(img, lod_in > lod, blend)
    if lod > 0:
      img = _cset(img, lod_in < lod, grow)
    return img()

  def _phase(self, combo, lod_in, lod_top):
    """The recursive output for lod_in in [lod_top, lod_top + 1), at its own size.

    Blocks 4x4 .. the working resolution run in sequence; the top level's RGB
    is blended with the level below's (upsampled) by lod_in - lod_top, which
    is what the recursive form computes there (at lod_in == lod_top the blend
    weight is 0 and x + (y - x) * 0 == x exactly). No `tf.cond`: it traces
    fast, and TensorFlow's CPU second-order gradients through a cond (the
    gradient penalty) can fail (AlreadyExistsError on an AddN temporary).
    """
    top = self.resolution_log2 - lod_top
    x = self.block(combo, 2)
    for res in range(3, top + 1):
      x_prev, x = x, self.block(x, res)
    if top == 2:
      return self.torgb(x, 2)
    rgb_low = pgl.upscale2d(self.torgb(x_prev, top - 1))
    return pgl.lerp(self.torgb(x, top), rgb_low, lod_in - lod_top)

  def _linear(self, combo, lod_in):
    """Reference 'linear' structure: every block, `lerp_clip` blends."""
    x = self.block(combo, 2)
    images = self.torgb(x, 2)
    for res in range(3, self.resolution_log2 + 1):
      lod = self.resolution_log2 - res
      x = self.block(x, res)
      images = pgl.lerp_clip(self.torgb(x, res), pgl.upscale2d(images), lod_in - lod)
    return images


@keras.saving.register_keras_serializable(package='tf_gans')
class DPaper(_PgganNet):
  """The PGGAN discriminator (reference `D_paper`); see the module docstring.

  Call: `D(images)` with NHWC images [N, res, res, C] -> (scores [N, 1],
  labels [N, label_size]) in the compute dtype. With mbstd, N must be at most
  `mbstd_group_size` or a multiple of it.
  """

  def __init__(self, **kwargs):
    super().__init__(D_DEFAULTS, kwargs)
    s = self._static_kwargs
    self._mbstd = (pgl.MinibatchStddev(s['mbstd_group_size'], name='MinibatchStddev',
                                       dtype=self._policy)
                   if s['mbstd_group_size'] > 1 else None)
    self._build_layers()
    self.built = True

  def _build_layers(self):
    s, r_log2 = self._static_kwargs, self.resolution_log2
    wscale = {'use_wscale': s['use_wscale']}
    self._add_fromrgb(r_log2)
    for res in range(r_log2, 2, -1):
      size, cmid, cout = 2 ** res, self.nf(res - 1), self.nf(res - 2)
      self._add_scope(f'{size}x{size}/Conv0', pgl.WScaleConv2D,
                      (None, size, size, cmid), cmid, 3, **wscale)
      conv1 = ('Conv1_down', pgl.ConvDownscale2D) if s['fused_scale'] else (
          'Conv1', pgl.WScaleConv2D)
      self._add_scope(f'{size}x{size}/{conv1[0]}', conv1[1],
                      (None, size, size, cmid), cout, 3, **wscale)
      self._add_fromrgb(res - 1)
    nf0, nf1 = self.nf(0), self.nf(1)
    cin = nf1 + (1 if self._mbstd is not None else 0)
    self._add_scope('4x4/Conv', pgl.WScaleConv2D, (None, 4, 4, cin), nf1, 3, **wscale)
    self._add_scope('4x4/Dense0', pgl.WScaleDense, (None, 4, 4, nf1), nf0, **wscale)
    self._add_scope('4x4/Dense1', pgl.WScaleDense, (None, nf0), 1 + s['label_size'],
                    gain=D_OUTPUT_GAIN, **wscale)

  def _add_fromrgb(self, res):
    size = 2 ** res
    self._add_scope(f'FromRGB_lod{self.resolution_log2 - res}', pgl.WScaleConv2D,
                    (None, size, size, self._static_kwargs['num_channels']),
                    self.nf(res - 1), 1, use_wscale=self._static_kwargs['use_wscale'])

  def fromrgb(self, x, res):
    """Reference `fromrgb(x, res)`: 1x1 conv to nf(res-1), bias, lrelu."""
    return pgl.leaky_relu(self._apply(f'FromRGB_lod{self.resolution_log2 - res}', x))

  def block(self, x, res):
    """Reference `block(x, res)`; the 4x4 block returns [N, 1 + label_size]."""
    act = pgl.leaky_relu
    if res >= 3:
      size = 2 ** res
      x = act(self._apply(f'{size}x{size}/Conv0', x))
      if self._static_kwargs['fused_scale']:
        return act(self._apply(f'{size}x{size}/Conv1_down', x))
      return pgl.downscale2d(act(self._apply(f'{size}x{size}/Conv1', x)))
    if self._mbstd is not None:
      x = self._mbstd(x)
    x = act(self._apply('4x4/Conv', x))
    x = act(self._apply('4x4/Dense0', x))
    return self._apply('4x4/Dense1', x)

  def call(self, inputs, resolution=None):
    """(scores, labels) of full-size images, or of images at `resolution`."""
    s = self._static_kwargs
    images = tf.cast(inputs, self.compute_dtype)
    lod_top = self.lod_top(resolution)
    size = s['resolution'] >> (lod_top or 0)
    expected = (size, size, s['num_channels'])
    if tuple(images.shape[1:]) != expected:
      raise ValueError(f'D expects NHWC images [N, {", ".join(map(str, expected))}], '
                       f'got {images.shape}.')
    lod_in = self._lod_in()
    if self.structure == 'linear':
      combo = self._linear(images, lod_in)
    elif lod_top is not None:
      combo = self._phase(images, lod_in, lod_top)
    else:
      combo = self._grow(images, 2, self.resolution_log2 - 2, lod_in)
    return combo[:, :1], combo[:, 1:]

  def _phase(self, images, lod_in, lod_top):
    """The recursive D for lod_in in [lod_top, lod_top + 1), on images at that size.

    FromRGB and the block of the working resolution, blended with FromRGB of
    the 2x-pooled images by lod_in - lod_top (as the recursive form does; an
    exact no-op at weight 0), then the coarser blocks in sequence. No
    `tf.cond` (see `GPaper._phase`).
    """
    top = self.resolution_log2 - lod_top
    x = self.block(self.fromrgb(images, top), top)
    if top > 2:
      x = pgl.lerp(x, self.fromrgb(pgl.downscale2d(images), top - 1), lod_in - lod_top)
      for res in range(top - 1, 1, -1):
        x = self.block(x, res)
    return x

  def _grow(self, images, res, lod, lod_in):
    """Reference 'recursive' structure; `lod` is this level's (R - res).

    The block's input is the images pooled 2**lod times through FromRGB, or,
    when lod_in < lod, the output of the finer levels. When lod_in > lod
    (res > 2) the block's output is blended with FromRGB of the images pooled
    2**(lod+1) times.
    """
    def from_images():
      return self.fromrgb(pgl.downscale2d(images, 2 ** lod), res)

    def from_finer():
      return self._grow(images, res + 1, lod - 1, lod_in)

    get_x = from_images
    if lod > 0:
      get_x = _cset(get_x, lod_in < lod, from_finer)
    x = self.block(get_x(), res)

    def blend():
      x_low = self.fromrgb(pgl.downscale2d(images, 2 ** (lod + 1)), res - 1)
      return pgl.lerp(x, x_low, lod_in - lod)

    if res > 2:
      return _cset(lambda: x, lod_in > lod, blend)()
    return x

  def _linear(self, images, lod_in):
    """Reference 'linear' structure: repeated 2x2 pooling, `lerp_clip` blends."""
    r_log2 = self.resolution_log2
    x = self.fromrgb(images, r_log2)
    for res in range(r_log2, 2, -1):
      lod = r_log2 - res
      x = self.block(x, res)
      images = pgl.downscale2d(images)
      x = pgl.lerp_clip(x, self.fromrgb(images, res - 1), lod_in - lod)
    return self.block(x, 2)


# The reference's function names.
# pylint: disable=invalid-name


def G_paper(num_channels=1, resolution=32, label_size=0, fmap_base=8192,
            fmap_decay=1.0, fmap_max=512, latent_size=None, normalize_latents=True,
            use_wscale=True, use_pixelnorm=True, pixelnorm_epsilon=1e-8,
            use_leakyrelu=True, dtype='float32', fused_scale=True, structure=None,
            is_template_graph=False, **kwargs):
  """Builds the generator with the reference `G_paper` arguments (a `GPaper`).

  `kwargs` may hold Keras' `name` / `trainable`; other keys are ignored, as
  the reference ignores them.
  """
  return GPaper(
      num_channels=num_channels, resolution=resolution, label_size=label_size,
      fmap_base=fmap_base, fmap_decay=fmap_decay, fmap_max=fmap_max,
      latent_size=latent_size, normalize_latents=normalize_latents,
      use_wscale=use_wscale, use_pixelnorm=use_pixelnorm,
      pixelnorm_epsilon=pixelnorm_epsilon, use_leakyrelu=use_leakyrelu, dtype=dtype,
      fused_scale=fused_scale, structure=structure,
      is_template_graph=is_template_graph, **{'name': 'G', **kwargs})


def D_paper(num_channels=1, resolution=32, label_size=0, fmap_base=8192,
            fmap_decay=1.0, fmap_max=512, use_wscale=True, mbstd_group_size=4,
            dtype='float32', fused_scale=True, structure=None, is_template_graph=False,
            **kwargs):
  """Builds the discriminator with the reference `D_paper` arguments (a `DPaper`).

  `kwargs` may hold Keras' `name` / `trainable`; other keys are ignored.
  """
  return DPaper(
      num_channels=num_channels, resolution=resolution, label_size=label_size,
      fmap_base=fmap_base, fmap_decay=fmap_decay, fmap_max=fmap_max,
      use_wscale=use_wscale, mbstd_group_size=mbstd_group_size, dtype=dtype,
      fused_scale=fused_scale, structure=structure,
      is_template_graph=is_template_graph, **{'name': 'D', **kwargs})


@MODELS.register('pggan')
def build_pggan(image_shape, pixel_mean=None, **options):  # pylint: disable=unused-argument
  """G_paper / D_paper for square images of `image_shape` (the 'pggan' model).

  `options` are G_paper / D_paper arguments (fmap_base, fmap_max, label_size,
  ...). Progressive training (`--model=pggan`) builds its nets from its own
  config (`tf_gans.progressive.config.ProgressiveConfig.network_kwargs`); this
  builder is the registry's handle on the same nets, e.g. for a notebook.
  """
  h, w, c = image_shape
  if h != w or h < 4 or h & (h - 1):
    raise ValueError(f'pggan needs square power-of-two images >= 4x4, got {h}x{w}.')
  common = dict(num_channels=c, resolution=h, **options)
  g = G_paper(**{k: v for k, v in common.items() if k != 'mbstd_group_size'})
  d = D_paper(**{k: v for k, v in common.items() if k not in ('latent_size', 'pixelnorm_epsilon')})
  return GanNets(g, d, g.latent_size, 'normal', (-1.0, 1.0))


build_pggan.family = 'pggan'

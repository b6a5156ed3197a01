"""DCGAN sized by image size, as the RGAN code's arch 0 (the CAT experiments).

Reference: github.com/AlexiaJM/RelativisticGAN `code/GAN_losses_iter.py`
("the reference" below): `DCGAN_G` / `DCGAN_D` under `param.arch == 0`,
`weights_init`, and its training loop, which never calls `.eval()` (BatchNorm
always in batch-statistics mode); the sizes come from the CAT lines of
`code/unstable.sh` (`--G_h_size` = `--D_h_size` = 64 at 64x64 and 128x128, 32
at 256x256, where `GAN_losses_iter_PAC.py` runs). Registered as
'dcgan_64', 'dcgan_128' and 'dcgan_256'; each accepts only its own size.

Generator (no biases anywhere): z (128) seen as 1x1x128 -> ConvT k4 s1 'valid'
to 4x4 x G_h*mult (mult = image_size // 8), BN, ReLU; while mult > 1: ConvT k4
s2 'same' (PyTorch p1) to G_h*mult/2 channels, BN, ReLU, mult //= 2; then ConvT
k4 s2 'same' to C channels, tanh. E.g. 64x64, G_h = 64: 512@4 -> 256@8 ->
128@16 -> 64@32 -> C@64.

Discriminator (no biases anywhere): Conv k4 s2 'same' to D_h, LeakyReLU(0.2),
no BN; while the spatial size is > 4: Conv k4 s2 'same' doubling the channels,
BN (unless `spectral_norm` or not `batch_norm_d`), LeakyReLU(0.2); then Conv k4
s1 'valid' from 4x4 to 1x1x1, flattened to the logit [N, 1] (no sigmoid: the
losses take logits). With `spectral_norm` every D conv, first and last
included, is wrapped in `SpectralNorm` (torch's spectral_norm semantics; see
tf_gans/layers/normalization.py), and D has no BN.

Init (reference `weights_init`, `tf_gans.models.init`): every kernel ~ N(0,
0.02); BN gamma ~ N(1, 0.02), beta 0. BatchNorm is `BatchStatsNormalization`
(always batch statistics, eps 1e-5, torch momentum 0.1).

PacGAN (option `pac`, default 1 = off): the 256x256 CAT runs use
`code/GAN_losses_iter_PAC.py`, a copy of the reference where D sees two samples
stacked on the channel axis (its first conv takes `n_colors*2` inputs). Each
step draws 2B real images (`batch_size*2` indices) and G makes 2B fakes; D's
input is `torch.cat([images[0:B], images[B:2B]], 1)`: packed sample i is
image i followed by image B + i (the first half of the minibatch paired with
the second half, in order; not neighbours), and the losses then see B logits.
With `pac=k` D here starts with `PackSamples(k)`: [N, H, W, C] -> [N/k, H, W,
kC], packed sample i = images i, N/k + i, ..., (k-1)N/k + i concatenated on
channels in that order (k = 2: the reference's pairing), so a run's
`--batch_size` counts images (2B = 64 for the reference's `--batch_size 32`)
and D returns N/k logits. The PAC script's two other departures from
`GAN_losses_iter.py`, and how the trainer follows them:
- its G step draws z but packs the D step's `fake` tensor instead of G(z)
  (c6cbdc9 line 661, HEAD line 674), so G trains on the D step's samples;
  `GAN(g_reuses_d_z=True)` (the flag `--pac_g_reuses_d_z`, on in the CAT-256
  configs) does the same, else the G step draws fresh z;
- its gradient penalty (only the WGAN-GP 256 run) mixes the packed pairs with
  u of shape (B, 1, 1, 1) and takes the norm over 2C x H x W (c6cbdc9 lines
  634-643); the trainer's penalty does the same for any D that packs
  (`packing_of(D)` > 1: one u per packed sample, the norm over its images,
  `tf_gans.losses.penalty.gradient_penalty(pac=...)`).
"""

import keras

from tf_gans.layers.normalization import SpectralNorm
from tf_gans.models import GanNets, MODELS, check_options
from tf_gans.models.init import batch_norm, conv_kernel_init

Z_SIZE = 128
SIZES = (64, 128, 256)
DEFAULT_H_SIZE = {64: 64, 128: 64, 256: 32}   # G_h_size = D_h_size in the scripts.
START_SIZE = 4
LEAK = 0.2
OPTIONS = ('g_h_size', 'd_h_size', 'spectral_norm', 'batch_norm_d', 'pac')


@keras.saving.register_keras_serializable(package='tf_gans')
class PackSamples(keras.layers.Layer):
  """PacGAN packing, [N, H, W, C] -> [N/pac, H, W, pac*C] (`GAN_losses_iter_PAC.py`).

  Packed sample i holds images i, B + i, ..., (pac-1)B + i (B = N/pac) along
  the channels, in that order: for pac = 2 the reference's
  `torch.cat([x[0:B], x[B:2B]], 1)` (NCHW dim 1 = NHWC axis -1). N must be a
  multiple of pac.
  """

  def __init__(self, pac, **kwargs):
    super().__init__(**kwargs)
    self.pac = int(pac)

  def call(self, inputs):
    height, width, channels = inputs.shape[1:]
    groups = keras.ops.reshape(inputs, (self.pac, -1, height, width, channels))  # [pac, B, ...]
    groups = keras.ops.transpose(groups, (1, 2, 3, 0, 4))                      # [B, H, W, pac, C]
    return keras.ops.reshape(groups, (-1, height, width, self.pac * channels))

  def compute_output_shape(self, input_shape):
    n, height, width, channels = input_shape
    return (None if n is None else n // self.pac, height, width, self.pac * channels)

  def get_config(self):
    return {**super().get_config(), 'pac': self.pac}


def packing_of(discriminator):
  """k of a discriminator whose input layer packs k samples (`PackSamples`), else 1."""
  packs = [layer.pac for layer in getattr(discriminator, 'layers', ())
           if isinstance(layer, PackSamples)]
  if len(packs) > 1:
    raise ValueError(f'{discriminator.name} packs its input {len(packs)} times.')
  return packs[0] if packs else 1


def build_generator(image_size, channels, g_h_size):
  mult = image_size // 8
  z = keras.Input((Z_SIZE,), name='latents')
  h = keras.layers.Reshape((1, 1, Z_SIZE), name='reshape')(z)
  h = keras.layers.Conv2DTranspose(
      g_h_size * mult, 4, strides=1, padding='valid', use_bias=False,
      kernel_initializer=conv_kernel_init(), name='convt0')(h)
  h = batch_norm('bn0')(h)
  h = keras.layers.ReLU(name='relu0')(h)
  i = 0
  while mult > 1:
    i += 1
    mult //= 2
    h = keras.layers.Conv2DTranspose(
        g_h_size * mult, 4, strides=2, padding='same', use_bias=False,
        kernel_initializer=conv_kernel_init(), name=f'convt{i}')(h)
    h = batch_norm(f'bn{i}')(h)
    h = keras.layers.ReLU(name=f'relu{i}')(h)
  h = keras.layers.Conv2DTranspose(
      channels, 4, strides=2, padding='same', use_bias=False,
      kernel_initializer=conv_kernel_init(), name=f'convt{i + 1}')(h)
  images = keras.layers.Activation('tanh', name='tanh')(h)
  return keras.Model(z, images, name=f'G_dcgan_{image_size}')


def build_discriminator(image_size, channels, d_h_size, spectral_norm=False,
                        batch_norm_d=True, pac=1):
  use_bn = batch_norm_d and not spectral_norm

  def conv(filters, strides, padding, name):
    layer = keras.layers.Conv2D(
        filters, 4, strides=strides, padding=padding, use_bias=False,
        kernel_initializer=conv_kernel_init(), name=name)
    return SpectralNorm(layer, name=f'sn_{name}') if spectral_norm else layer

  x = keras.Input((image_size, image_size, channels), name='images')
  h = PackSamples(pac, name='pack')(x) if pac > 1 else x
  h = conv(d_h_size, 2, 'same', 'conv0')(h)
  h = keras.layers.LeakyReLU(LEAK, name='lrelu0')(h)
  size, mult, i = image_size // 2, 1, 0
  while size > START_SIZE:
    i += 1
    h = conv(2 * d_h_size * mult, 2, 'same', f'conv{i}')(h)
    if use_bn:
      h = batch_norm(f'bn{i}')(h)
    h = keras.layers.LeakyReLU(LEAK, name=f'lrelu{i}')(h)
    size //= 2
    mult *= 2
  h = conv(1, 1, 'valid', f'conv{i + 1}')(h)
  logits = keras.layers.Flatten(name='logits')(h)
  return keras.Model(x, logits, name=f'D_dcgan_{image_size}')


def _build(image_size, image_shape, pixel_mean=None, **options):
  """Both nets for `image_size` x `image_size` x C images; `pixel_mean` is ignored."""
  del pixel_mean  # Not used by this net.
  name = f'dcgan_{image_size}'
  check_options(name, options, OPTIONS)
  height, width, channels = tuple(image_shape)
  if (height, width) != (image_size, image_size) or channels < 1:
    raise ValueError(
        f'Model {name!r} supports only {image_size}x{image_size} images (any '
        f'channel count), got {tuple(image_shape)}; DCGAN sizes: '
        f'{", ".join(f"dcgan_{s} for {s}x{s}" for s in SIZES)}.')
  g_h_size = options.get('g_h_size', DEFAULT_H_SIZE[image_size])
  d_h_size = options.get('d_h_size', DEFAULT_H_SIZE[image_size])
  pac = options.get('pac', 1)
  for key, value in (('g_h_size', g_h_size), ('d_h_size', d_h_size), ('pac', pac)):
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
      raise ValueError(f'{name}: {key} must be a positive int, got {value!r}.')
  return GanNets(
      generator=build_generator(image_size, channels, g_h_size),
      discriminator=build_discriminator(
          image_size, channels, d_h_size,
          spectral_norm=options.get('spectral_norm', False),
          batch_norm_d=options.get('batch_norm_d', True), pac=pac),
      latent_dim=Z_SIZE, latent_distribution='normal', value_range=(-1.0, 1.0))


def _builder(image_size):
  def build(image_shape, pixel_mean=None, **options):
    return _build(image_size, image_shape, pixel_mean=pixel_mean, **options)
  build.__name__ = f'build_dcgan_{image_size}'
  build.__doc__ = (f'DCGAN nets for {image_size}x{image_size}xC images; options: '
                   f'g_h_size, d_h_size (default {DEFAULT_H_SIZE[image_size]}), '
                   'spectral_norm (False), batch_norm_d (True), pac (1: off; 2: D sees '
                   'pairs stacked on the channel axis, GAN_losses_iter_PAC.py).')
  return build


for _size in SIZES:
  MODELS.register(f'dcgan_{_size}', _builder(_size))

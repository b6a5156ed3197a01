"""The standard CNN for 32x32 of the spectral-normalization paper, as in RGAN.

Reference: github.com/AlexiaJM/RelativisticGAN `code/GAN_losses_iter.py`
("the reference" below): `DCGAN_G` / `DCGAN_D` under `param.arch == 1`,
`weights_init`, and its training loop, which never calls `.eval()` (BatchNorm
always in batch-statistics mode). Registered as 'standard_cnn_32'.

Generator: z (128) -> Linear 8192 (bias; nothing after it) -> reshape 4x4x512
-> 3 x [ConvT k4 s2 'same' (bias), BN, ReLU] to 256@8, 128@16, 64@32 ->
Conv k3 s1 'same' (bias) to C@32 -> tanh.

Discriminator: 7 convs with biases, k3 s1 / k4 s2 alternating, 'same' padding
(PyTorch p1), 64, 64, 128, 128, 256, 256, 512 channels, each followed by
LeakyReLU(0.1); with `batch_norm_d` (and no spectral norm) BN sits between
convs 1-6 and their LeakyReLU. Then flatten and Linear 8192 -> 1, the logit
(no sigmoid: the losses take logits). With `spectral_norm` all 7 convs are
wrapped in `SpectralNorm` (not the final Linear) and D has no BN.

Flatten order: the reference flattens its NCHW tensor in (C, H, W) order; the
Keras net is NHWC and flattens in (H, W, C) order. The two nets compute the same
family of functions: D's Linear weights are the same up to a permutation of
their 8192 rows, which matters only when converting weights between them. The
same holds for G's Linear 128 -> 8192, whose output the reference views as
512x4x4 (C, H, W) and we reshape to 4x4x512 (H, W, C).

Init (reference `weights_init`, `tf_gans.models.init`): conv / transposed-conv
kernels ~ N(0, 0.02); conv biases keep PyTorch's default U(+-1/sqrt(in_channels
* k * k)); BN gamma ~ N(1, 0.02), beta 0; both Linear layers keep PyTorch's
default, W and b ~ U(+-1/sqrt(fan_in)) (+-0.0884 for G's, +-0.0110 for D's).
PyTorch >= 1.0 writes that default as kaiming_uniform_(a=sqrt(5)): gain =
sqrt(2 / (1 + a^2)) = sqrt(1/3), bound = sqrt(3) * gain / sqrt(fan_in) = 1 /
sqrt(fan_in), the same U(+-1/sqrt(fan_in)) as PyTorch 0.4's explicit `stdv =
1/sqrt(fan_in)`.

BatchNorm is `BatchStatsNormalization` (always batch statistics, eps 1e-5,
torch momentum 0.1).

Option `activation` ('relu', the default, or 'tanh'): the reference's
`--Tanh_GD True` (the "Tanh" block of `code/unstable.sh`) puts `nn.Tanh()` in
place of every hidden activation: G's 3 ReLUs (after each transposed conv and
its BN) and D's 7 LeakyReLU(0.1)s. G's output tanh, the BN layers and D's final
Linear are unchanged. The reference reads `Tanh_GD` only in its non-spectral D
branch (its spectral D always uses LeakyReLU), so 'tanh' needs
`spectral_norm=False` here and is refused with spectral norm rather than
silently half-applied.

Option `width` (float, default 1.0: the net above exactly): every channel count
is multiplied by it and rounded to an int >= 1, all together: G's Linear output
(4x4x512 -> 4x4xround(512 w)), its 3 transposed convs (256, 128, 64) and D's 7
convs (64 ... 512), so D's final Linear has 4 * 4 * round(512 w) inputs. G's
output conv keeps C channels and D's Linear one logit. The reference has no such
option (its `--G_h_size` / `--D_h_size` scale only its DCGAN arch 0); it is a
capacity knob for studies of the RGAN paper's losses at smaller / larger nets.
"""

import math

import keras

from tf_gans.layers.normalization import SpectralNorm
from tf_gans.models import GanNets, MODELS, check_options
from tf_gans.models.init import batch_norm, conv_kernel_init, torch_default_uniform

IMAGE_SIZE = 32
Z_SIZE = 128
G_START = (4, 4, 512)
G_CONVT_CHANNELS = (256, 128, 64)
D_CONVS = ((64, 3, 1), (64, 4, 2), (128, 3, 1), (128, 4, 2), (256, 3, 1),
           (256, 4, 2), (512, 3, 1))   # (channels, kernel, stride).
D_BN_CONVS = 6                          # convs 1-6 may have BN, never conv 7.
LEAK = 0.1
ACTIVATIONS = ('relu', 'tanh')   # relu: ReLU in G, LeakyReLU(0.1) in D; tanh: Tanh in both.
OPTIONS = {'spectral_norm': True, 'batch_norm_d': True, 'batch_norm_g': True,
           'activation': 'relu', 'width': 1.0}


def scaled(channels, width):
  """`channels` times `width`, rounded, at least 1."""
  return max(1, int(round(channels * width)))


def check_width(width):
  """Returns `width` as a float; refuses anything but a finite number > 0, naming --width."""
  if isinstance(width, bool) or not isinstance(width, (int, float)) or not math.isfinite(width) \
      or width <= 0:
    raise ValueError(f"Model 'standard_cnn_32': --width must be a number > 0 (1.0: the "
                     f"paper's net; 0.5: half the channels), got {width!r}.")
  return float(width)


def hidden_activation(activation, default, name):
  """The layer after a hidden conv: `default` for 'relu', Tanh for 'tanh' (`--Tanh_GD`)."""
  if activation == 'tanh':
    return keras.layers.Activation('tanh', name=f'tanh_{name}')
  return default(name)


def build_generator(channels, batch_norm_g=True, activation='relu', width=1.0):
  start = G_START[:2] + (scaled(G_START[2], width),)
  z = keras.Input((Z_SIZE,), name='latents')
  h = keras.layers.Dense(
      math.prod(start), kernel_initializer=torch_default_uniform(Z_SIZE),
      bias_initializer=torch_default_uniform(Z_SIZE), name='linear')(z)
  h = keras.layers.Reshape(start, name='reshape')(h)
  in_channels = start[-1]
  for i, out_channels in enumerate(G_CONVT_CHANNELS, start=1):
    out_channels = scaled(out_channels, width)
    h = keras.layers.Conv2DTranspose(
        out_channels, 4, strides=2, padding='same',
        kernel_initializer=conv_kernel_init(),
        bias_initializer=torch_default_uniform(in_channels * 4 * 4),
        name=f'convt{i}')(h)
    if batch_norm_g:
      h = batch_norm(f'bn{i}')(h)
    h = hidden_activation(activation, lambda n: keras.layers.ReLU(name=n), f'relu{i}')(h)
    in_channels = out_channels
  h = keras.layers.Conv2D(
      channels, 3, padding='same', kernel_initializer=conv_kernel_init(),
      bias_initializer=torch_default_uniform(in_channels * 3 * 3),
      name=f'conv{len(G_CONVT_CHANNELS) + 1}')(h)
  images = keras.layers.Activation('tanh', name='tanh')(h)
  return keras.Model(z, images, name='G_standard_cnn_32')


def build_discriminator(channels, spectral_norm=True, batch_norm_d=True, activation='relu',
                        width=1.0):
  use_bn = batch_norm_d and not spectral_norm
  if activation == 'tanh' and spectral_norm:
    raise ValueError("Model 'standard_cnn_32': activation='tanh' needs spectral_norm=False "
                     '(the reference reads --Tanh_GD only in its non-spectral D; its '
                     'unstable.sh Tanh runs have no spectral norm): pass --nospectral_norm.')
  x = keras.Input((IMAGE_SIZE, IMAGE_SIZE, channels), name='images')
  h, in_channels = x, channels
  for i, (out_channels, kernel, stride) in enumerate(D_CONVS, start=1):
    out_channels = scaled(out_channels, width)
    conv = keras.layers.Conv2D(
        out_channels, kernel, strides=stride, padding='same',
        kernel_initializer=conv_kernel_init(),
        bias_initializer=torch_default_uniform(in_channels * kernel * kernel),
        name=f'conv{i}')
    if spectral_norm:
      conv = SpectralNorm(conv, name=f'sn_conv{i}')
    h = conv(h)
    if use_bn and i <= D_BN_CONVS:
      h = batch_norm(f'bn{i}')(h)
    h = hidden_activation(activation, lambda n: keras.layers.LeakyReLU(LEAK, name=n),
                          f'lrelu{i}')(h)
    in_channels = out_channels
  h = keras.layers.Flatten(name='flatten')(h)
  fan_in = (IMAGE_SIZE // 8) ** 2 * in_channels
  logits = keras.layers.Dense(
      1, kernel_initializer=torch_default_uniform(fan_in),
      bias_initializer=torch_default_uniform(fan_in), name='linear')(h)
  return keras.Model(x, logits, name='D_standard_cnn_32')


@MODELS.register('standard_cnn_32')
def build(image_shape, pixel_mean=None, **options):
  """Both nets for 32x32xC images; `pixel_mean` is ignored.

  Options: spectral_norm (True: SN on D's 7 convs and no BN in D),
  batch_norm_d (True: BN after D's convs 1-6, only without SN),
  batch_norm_g (True: BN after G's 3 transposed convs),
  activation ('relu': ReLU in G, LeakyReLU(0.1) in D; 'tanh': Tanh for every
  one of them, the reference's --Tanh_GD; needs spectral_norm=False),
  width (1.0: the paper's channel counts; each is scaled by it, rounded, >= 1).
  """
  del pixel_mean  # Not used by this net.
  check_options('standard_cnn_32', options, OPTIONS)
  opts = {**OPTIONS, **options}
  if opts['activation'] not in ACTIVATIONS:
    raise ValueError(f"Model 'standard_cnn_32': activation must be one of "
                     f"{', '.join(ACTIVATIONS)}, got {opts['activation']!r}.")
  width = check_width(opts['width'])
  height, image_width, channels = tuple(image_shape)
  if (height, image_width) != (IMAGE_SIZE, IMAGE_SIZE) or channels < 1:
    raise ValueError(f"Model 'standard_cnn_32' supports only 32x32 images "
                     f'(any channel count), got {tuple(image_shape)}.')
  return GanNets(
      generator=build_generator(channels, opts['batch_norm_g'], opts['activation'], width),
      discriminator=build_discriminator(channels, opts['spectral_norm'],
                                        opts['batch_norm_d'], opts['activation'], width),
      latent_dim=Z_SIZE, latent_distribution='normal', value_range=(-1.0, 1.0))

"""The arch-1 standard CNN (32x32) against the RGAN reference
(`code/GAN_losses_iter.py`, `DCGAN_G` / `DCGAN_D` under `arch == 1`)."""

import keras
import numpy as np
import pytest

from tf_gans.layers.normalization import BatchStatsNormalization, SpectralNorm
from tf_gans.models import MODELS
from tf_gans.models import standard_cnn


def _build(image_shape=(32, 32, 3), seed=0, **options):
  keras.utils.set_random_seed(seed)
  return standard_cnn.build(image_shape, **options)


@pytest.fixture(scope='module')
def nets():
  return _build()


@pytest.fixture(scope='module')
def nets_bn():
  """No SN: BN in D; seeded differently from `nets`."""
  return _build(spectral_norm=False, seed=2)


@pytest.fixture(scope='module')
def nets_plain():
  return _build(spectral_norm=False, batch_norm_d=False, batch_norm_g=False)


def _unwrap(layer):
  return layer.layer if isinstance(layer, SpectralNorm) else layer


def _signature(model):
  """(kind, kernel shape, strides, padding, use_bias) per conv layer; less for others."""
  rows = []
  for layer in model.layers[1:]:
    inner = _unwrap(layer)
    kind = type(inner).__name__
    if isinstance(inner, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
      rows.append((kind, tuple(inner.kernel.shape), inner.strides, inner.padding, inner.use_bias))
    elif isinstance(inner, keras.layers.Dense):
      rows.append((kind, tuple(inner.kernel.shape), inner.use_bias))
    elif isinstance(inner, keras.layers.LeakyReLU):
      rows.append((kind, pytest.approx(inner.negative_slope)))
    else:
      rows.append((kind,))
  return rows


def _n(model, trainable=True):
  weights = model.trainable_weights if trainable else model.non_trainable_weights
  return sum(int(np.prod(w.shape)) for w in weights)


def test_registered_and_metadata(nets):
  assert 'standard_cnn_32' in MODELS
  assert (nets.latent_dim, nets.latent_distribution, nets.value_range) == (
      128, 'normal', (-1.0, 1.0))


def test_generator_layers_follow_the_reference_table(nets, nets_plain):
  g = nets.generator
  convt = lambda cin, cout: ('Conv2DTranspose', (4, 4, cout, cin), (2, 2), 'same', True)
  assert _signature(g) == [
      ('Dense', (128, 8192), True), ('Reshape',),   # nothing after the Linear
      convt(512, 256), ('BatchStatsNormalization',), ('ReLU',),
      convt(256, 128), ('BatchStatsNormalization',), ('ReLU',),
      convt(128, 64), ('BatchStatsNormalization',), ('ReLU',),
      ('Conv2D', (3, 3, 64, 3), (1, 1), 'same', True), ('Activation',)]
  assert _signature(nets_plain.generator) == [
      row for row in _signature(g) if row != ('BatchStatsNormalization',)]
  assert g.get_layer('tanh').activation is keras.activations.tanh
  assert g.get_layer('reshape').target_shape == (4, 4, 512)
  shapes = [tuple(l.output.shape[1:]) for l in g.layers if l.name.startswith('conv')]
  assert shapes == [(8, 8, 256), (16, 16, 128), (32, 32, 64), (32, 32, 3)]


def _d_convs(channels=3):
  table = [(channels, 64, 3, 1), (64, 64, 4, 2), (64, 128, 3, 1), (128, 128, 4, 2),
           (128, 256, 3, 1), (256, 256, 4, 2), (256, 512, 3, 1)]
  return [('Conv2D', (k, k, cin, cout), (s, s), 'same', True) for cin, cout, k, s in table]


def test_discriminator_layers_follow_the_reference_table(nets, nets_bn, nets_plain):
  convs = _d_convs()
  lrelu = ('LeakyReLU', pytest.approx(0.1))
  tail = [('Flatten',), ('Dense', (8192, 1), True)]
  with_sn = nets.discriminator
  assert _signature(with_sn) == [row for c in convs for row in (c, lrelu)] + tail
  assert sum(isinstance(l, SpectralNorm) for l in with_sn.layers) == 7
  assert not isinstance(with_sn.layers[-1], SpectralNorm)   # the final Linear has no SN
  with_bn = nets_bn.discriminator
  bn = ('BatchStatsNormalization',)
  expected = [row for c in convs[:6] for row in (c, bn, lrelu)] + [convs[6], lrelu] + tail
  assert _signature(with_bn) == expected
  assert not any(isinstance(l, SpectralNorm) for l in with_bn.layers)
  plain = nets_plain.discriminator
  assert _signature(plain) == [row for c in convs for row in (c, lrelu)] + tail
  # With SN, batch_norm_d is moot: D never has BN.
  moot = standard_cnn.build_discriminator(3, spectral_norm=True, batch_norm_d=True)
  assert _signature(moot) == _signature(with_sn)
  shapes = [tuple(l.output.shape[1:]) for l in with_sn.layers if l.name.startswith('sn_conv')]
  assert shapes == [(32, 32, 64), (16, 16, 64), (16, 16, 128), (8, 8, 128), (8, 8, 256),
                    (4, 4, 256), (4, 4, 512)]


def test_parameter_counts_by_hand(nets, nets_bn, nets_plain):
  g_linear = 128 * 8192 + 8192                                       # 1,056,768
  g_convs = (16 * 512 * 256 + 256) + (16 * 256 * 128 + 128) + (16 * 128 * 64 + 64) \
      + (9 * 64 * 3 + 3)                                             # 2,754,691
  assert g_linear + g_convs == 3_811_459
  assert _n(nets.generator) == 3_811_459 + 2 * (256 + 128 + 64) == 3_812_355
  assert _n(nets.generator, trainable=False) == 896                  # moving mean / var
  assert _n(nets_plain.generator) == 3_811_459
  # D: 7 convs + Linear 8192 -> 1.
  d_plain = 1_792 + 65_600 + 73_856 + 262_272 + 295_168 + 1_048_832 + 1_180_160 + 8_193
  assert d_plain == 2_935_873
  assert _n(nets.discriminator) == d_plain
  # SN buffers: u (out channels) + v (in * k * k) per conv, as torch's weight_u / weight_v.
  u_size = 64 + 64 + 128 + 128 + 256 + 256 + 512
  v_size = 27 + 1024 + 576 + 2048 + 1152 + 4096 + 2304
  assert _n(nets.discriminator, trainable=False) == u_size + v_size == 12_635
  d_bn = nets_bn.discriminator
  assert _n(d_bn) == d_plain + 2 * 896 == 2_937_665
  assert _n(d_bn, trainable=False) == 2 * 896
  d_none = nets_plain.discriminator
  assert (_n(d_none), _n(d_none, trainable=False)) == (d_plain, 0)


def test_output_shapes_for_rgb_and_grey(nets):
  for channels in (3, 1):
    if channels != 3:
      nets = _build((32, 32, channels))
    z = np.random.default_rng(0).normal(size=(4, 128)).astype(np.float32)
    images = nets.generator(z, training=True).numpy()
    assert images.shape == (4, 32, 32, channels)
    assert np.abs(images).max() <= 1.0
    assert nets.discriminator(images, training=True).shape == (4, 1)
    assert nets.discriminator.input_shape == (None, 32, 32, channels)


def test_generator_uses_batch_statistics_at_inference(nets):
  g = nets.generator
  z = np.random.default_rng(1).normal(size=(16, 128)).astype(np.float32)
  a = g(z, training=True).numpy()
  np.testing.assert_allclose(g(z, training=False).numpy(), a, atol=1e-5)
  # Batch statistics: a sample depends on the rest of its batch.
  assert not np.allclose(g(z[:8], training=False).numpy(), a[:8], atol=1e-5)


def test_initial_weight_statistics(nets_bn):
  g, d = nets_bn.generator, nets_bn.discriminator
  convs = [_unwrap(l) for l in g.layers + d.layers
           if isinstance(_unwrap(l), (keras.layers.Conv2D, keras.layers.Conv2DTranspose))]
  assert len(convs) == 4 + 7
  for conv in convs:
    kernel = conv.kernel.numpy()
    assert kernel.std() == pytest.approx(0.02, rel=0.05), conv.name
    assert abs(kernel.mean()) < 0.003
    # Conv biases keep PyTorch's default U(+-1/sqrt(in_channels * k * k)).
    k, cin = kernel.shape[0], (kernel.shape[3] if isinstance(conv, keras.layers.Conv2DTranspose)
                               else kernel.shape[2])
    bound = 1.0 / np.sqrt(cin * k * k)
    bias = conv.bias.numpy()
    assert np.abs(bias).max() <= bound
    if bias.size >= 64:
      assert np.abs(bias).max() > 0.9 * bound, conv.name
  gammas = np.concatenate([l.gamma.numpy() for l in g.layers + d.layers
                           if isinstance(l, BatchStatsNormalization)])
  assert gammas.size == 448 + 896
  assert gammas.mean() == pytest.approx(1.0, abs=0.003)
  assert gammas.std() == pytest.approx(0.02, rel=0.1)
  for layer in g.layers + d.layers:
    if isinstance(layer, BatchStatsNormalization):
      assert not layer.beta.numpy().any()
      assert layer.epsilon == 1e-5 and layer.momentum == pytest.approx(0.9)
  # The Linear layers are not re-initialised: PyTorch's U(+-1/sqrt(fan_in)).
  for layer, bound in ((g.get_layer('linear'), 1 / np.sqrt(128)),
                       (d.get_layer('linear'), 1 / np.sqrt(8192))):
    kernel = layer.kernel.numpy()
    assert np.abs(kernel).max() <= bound
    assert np.abs(kernel).max() > 0.99 * bound
    assert kernel.std() == pytest.approx(bound / np.sqrt(3), rel=0.05)   # uniform, not normal
  assert 1 / np.sqrt(128) == pytest.approx(0.0884, abs=1e-4)
  assert 1 / np.sqrt(8192) == pytest.approx(0.0110, abs=1e-4)
  assert np.abs(g.get_layer('linear').bias.numpy()).max() > 0.99 / np.sqrt(128)


def test_spectral_norm_on_the_discriminator_convs_updates_with_training_calls(nets):
  d = nets.discriminator
  x = np.random.default_rng(3).uniform(-1, 1, size=(1, 32, 32, 3)).astype(np.float32)
  sns = [d.get_layer(f'sn_conv{i}') for i in range(1, 8)]
  u0 = [sn.u.numpy().copy() for sn in sns]
  d(x, training=False)
  for sn, u in zip(sns, u0):
    np.testing.assert_array_equal(sn.u.numpy(), u)
  d(x, training=True)
  for sn, u in zip(sns, u0):
    assert not np.allclose(sn.u.numpy(), u), sn.name
  sn = sns[0]
  for _ in range(50):   # more power iterations, without the convolutions
    sn.normalized_kernel(training=True)
  kernel = keras.ops.convert_to_numpy(sn.normalized_kernel())
  assert np.linalg.svd(kernel.reshape(-1, 64), compute_uv=False)[0] == pytest.approx(1.0, abs=1e-3)


def test_bad_sizes_and_options_are_refused():
  with pytest.raises(ValueError, match='supports only 32x32'):
    standard_cnn.build((64, 64, 3))
  with pytest.raises(ValueError, match='supports only 32x32'):
    standard_cnn.build((28, 28, 1))
  with pytest.raises(ValueError, match=r"'standard_cnn_32' does not take option\(s\) g_h_size; "
                     'its options: activation, batch_norm_d, batch_norm_g, spectral_norm, width'):
    standard_cnn.build((32, 32, 3), g_h_size=64)
  with pytest.raises(ValueError, match="activation must be one of relu, tanh, got 'elu'"):
    standard_cnn.build((32, 32, 3), activation='elu', spectral_norm=False)
  # The reference's spectral D has no Tanh branch: refused, not half-applied.
  with pytest.raises(ValueError, match='activation=.tanh. needs spectral_norm=False'):
    standard_cnn.build((32, 32, 3), activation='tanh')


def test_tanh_activation_replaces_every_hidden_activation_as_tanh_gd():
  """`--Tanh_GD True` (unstable.sh "Tanh" block): `nn.Tanh()` in place of G's 3 ReLUs and D's
  7 LeakyReLU(0.1)s; BN, G's output tanh and D's Linear stay (GAN_losses_iter.py, arch 1)."""
  relu = _build(spectral_norm=False, seed=4)
  tanh = _build(spectral_norm=False, seed=4, activation='tanh')
  swap = lambda row: ('Activation',) if row[0] in ('ReLU', 'LeakyReLU') else row
  for a, b in ((relu.generator, tanh.generator), (relu.discriminator, tanh.discriminator)):
    assert _signature(b) == [swap(row) for row in _signature(a)]
  g_tanh = [l.name for l in tanh.generator.layers if isinstance(l, keras.layers.Activation)]
  d_tanh = [l.name for l in tanh.discriminator.layers if isinstance(l, keras.layers.Activation)]
  assert g_tanh == ['tanh_relu1', 'tanh_relu2', 'tanh_relu3', 'tanh']
  assert d_tanh == [f'tanh_lrelu{i}' for i in range(1, 8)]
  assert all(tanh.discriminator.get_layer(n).activation is keras.activations.tanh for n in d_tanh)
  # Same weights (same seed, same variables): the outputs differ only through the activations.
  assert _n(relu.generator) == _n(tanh.generator) and _n(relu.discriminator) == _n(tanh.discriminator)
  x = np.random.default_rng(0).uniform(-1, 1, (4, 32, 32, 3)).astype(np.float32)
  h = tanh.discriminator.get_layer('bn1')(tanh.discriminator.get_layer('conv1')(x))
  out = keras.Model(tanh.discriminator.input, tanh.discriminator.get_layer('tanh_lrelu1').output)
  np.testing.assert_allclose(out(x), np.tanh(np.asarray(h)), atol=1e-5)
  assert standard_cnn.build((32, 32, 3), activation='relu', spectral_norm=False)  # the default, by name


def _channel_signature(model):
  """Per conv / dense layer: its kernel shape (rows of `_signature` without the rest)."""
  return [row[1] for row in _signature(model) if row[0] in ('Conv2D', 'Conv2DTranspose', 'Dense')]


@pytest.mark.parametrize('options', [{}, {'spectral_norm': False}])
def test_width_one_is_the_paper_net_exactly(options):
  default = _build(seed=5, **options)
  one = _build(seed=5, width=1.0, **options)
  for a, b in ((default.generator, one.generator), (default.discriminator, one.discriminator)):
    assert _signature(b) == _signature(a)
    assert [tuple(w.shape) for w in b.weights] == [tuple(w.shape) for w in a.weights]
    assert _n(a) == _n(b)


def test_width_scales_every_conv_and_linear_channel_count():
  paper = _build(seed=6)
  quarter = _build(seed=6, width=0.25)
  scale = lambda c: c // 4
  # G: Linear 128 -> 4*4*128, convTs 128 -> 64 -> 32 -> 16, output conv 16 -> 3 (C kept).
  assert _channel_signature(quarter.generator) == [
      (128, 4 * 4 * scale(512)), (4, 4, scale(256), scale(512)), (4, 4, scale(128), scale(256)),
      (4, 4, scale(64), scale(128)), (3, 3, scale(64), 3)]
  assert quarter.generator.get_layer('reshape').target_shape == (4, 4, 128)
  # D: every conv's channels / 4; the Linear has 4*4*128 inputs and one logit.
  d_paper = _channel_signature(paper.discriminator)
  d_quarter = _channel_signature(quarter.discriminator)
  assert [k[-1] for k in d_quarter[:-1]] == [scale(k[-1]) for k in d_paper[:-1]] == [
      16, 16, 32, 32, 64, 64, 128]
  assert d_quarter[0][2] == 3 and d_quarter[-1] == (4 * 4 * 128, 1)
  # Otherwise the same net: kernels, strides, padding, layer kinds.
  strip = lambda rows: [(r[0],) + r[2:] if r[0].startswith('Conv') else r[:1] for r in rows]
  for a, b in ((paper.generator, quarter.generator), (paper.discriminator, quarter.discriminator)):
    assert strip(_signature(b)) == strip(_signature(a))
  out = quarter.discriminator(quarter.generator(np.zeros((2, 128), np.float32)))
  assert tuple(out.shape) == (2, 1)


def test_width_rounds_to_at_least_one_channel():
  tiny = _build(seed=7, width=0.001)
  assert [k[-1] for k in _channel_signature(tiny.discriminator)[:-1]] == [1] * 7
  assert standard_cnn.scaled(64, 0.3) == 19 and standard_cnn.scaled(512, 1.5) == 768


@pytest.mark.parametrize('width', [0, -0.5, float('nan'), 'wide'])
def test_bad_width_is_refused_naming_the_flag(width):
  with pytest.raises(ValueError, match=r'--width must be a number > 0'):
    standard_cnn.build((32, 32, 3), width=width)


def test_width_is_refused_by_models_without_it():
  from tf_gans import models  # pylint: disable=import-outside-toplevel
  with pytest.raises(ValueError, match=r"'mlp2014' does not take option\(s\) width"):
    models.build('mlp2014', (8, 8, 1), width=0.5)

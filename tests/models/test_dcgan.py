"""The arch-0 DCGAN nets (64 / 128 / 256) against the RGAN reference
(`code/GAN_losses_iter.py`, `DCGAN_G` / `DCGAN_D` under `arch == 0`)."""

import keras
import numpy as np
import pytest

from tf_gans.layers.normalization import BatchStatsNormalization, SpectralNorm
from tf_gans.models import MODELS
from tf_gans.models import dcgan


def _build(size, channels=3, seed=0, **options):
  keras.utils.set_random_seed(seed)
  return MODELS.get(f'dcgan_{size}')((size, size, channels), **options)


@pytest.fixture(scope='module')
def nets64():
  return _build(64)


def _unwrap(layer):
  return layer.layer if isinstance(layer, SpectralNorm) else layer


def _convs(model):
  return [_unwrap(l) for l in model.layers
          if isinstance(_unwrap(l), (keras.layers.Conv2D, keras.layers.Conv2DTranspose))]


def _progression(model):
  """(channels, spatial size) after each (transposed) conv."""
  return [(l.output.shape[-1], l.output.shape[1]) for l in model.layers
          if isinstance(_unwrap(l), (keras.layers.Conv2D, keras.layers.Conv2DTranspose))]


def _n(model):
  return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_registered_names_and_metadata(nets64):
  assert all(f'dcgan_{s}' in MODELS for s in (64, 128, 256))
  assert (nets64.latent_dim, nets64.latent_distribution, nets64.value_range) == (
      128, 'normal', (-1.0, 1.0))


def test_64_with_h64_matches_the_listed_sizes(nets64):
  g, d = nets64.generator, nets64.discriminator
  assert _progression(g) == [(512, 4), (256, 8), (128, 16), (64, 32), (3, 64)]
  assert _progression(d) == [(64, 32), (128, 16), (256, 8), (512, 4), (1, 1)]
  assert g.output_shape == (None, 64, 64, 3) and d.output_shape == (None, 1)
  # Kernels: all 4x4, no biases; G's first is s1 'valid' from 1x1, D's last s1 'valid' to 1x1.
  for model in (g, d):
    convs = _convs(model)
    assert all(c.kernel_size == (4, 4) and not c.use_bias for c in convs)
    assert [(c.strides, c.padding) for c in convs] == (
        [((1, 1), 'valid')] * (model is g) + [((2, 2), 'same')] * 4
        + [((1, 1), 'valid')] * (model is d))
  assert g.get_layer('reshape').output.shape[1:] == (1, 1, 128)


def test_layer_order_bn_and_activations(nets64):
  g, d = nets64.generator, nets64.discriminator
  kinds = lambda m: [type(l).__name__ for l in m.layers[1:]]
  bn = 'BatchStatsNormalization'
  assert kinds(g) == ['Reshape'] + ['Conv2DTranspose', bn, 'ReLU'] * 4 + [
      'Conv2DTranspose', 'Activation']
  assert g.get_layer('tanh').activation is keras.activations.tanh
  assert kinds(d) == ['Conv2D', 'LeakyReLU'] + ['Conv2D', bn, 'LeakyReLU'] * 3 + [
      'Conv2D', 'Flatten']   # no BN after the first conv
  assert all(l.negative_slope == pytest.approx(0.2) for l in d.layers
             if isinstance(l, keras.layers.LeakyReLU))


def test_parameter_counts_by_hand(nets64):
  g_convs = 16 * (128 * 512 + 512 * 256 + 256 * 128 + 128 * 64 + 64 * 3)
  assert _n(nets64.generator) == g_convs + 2 * (512 + 256 + 128 + 64) == 3_806_080
  d_convs = 16 * (3 * 64 + 64 * 128 + 128 * 256 + 256 * 512 + 512 * 1)
  # 2,765,568: also PyTorch's DCGAN tutorial discriminator's count.
  assert _n(nets64.discriminator) == d_convs + 2 * (128 + 256 + 512) == 2_765_568


def test_128_and_256_progressions():
  nets = _build(128)
  assert _progression(nets.generator) == [
      (1024, 4), (512, 8), (256, 16), (128, 32), (64, 64), (3, 128)]
  assert _progression(nets.discriminator) == [
      (64, 64), (128, 32), (256, 16), (512, 8), (1024, 4), (1, 1)]
  nets = _build(256)   # h = 32 by default at 256
  assert _progression(nets.generator) == [
      (1024, 4), (512, 8), (256, 16), (128, 32), (64, 64), (32, 128), (3, 256)]
  assert _progression(nets.discriminator) == [
      (32, 128), (64, 64), (128, 32), (256, 16), (512, 8), (1024, 4), (1, 1)]
  assert nets.generator.output_shape == (None, 256, 256, 3)
  assert nets.discriminator.output_shape == (None, 1)


def test_h_size_options_and_grey_images():
  nets = _build(64, channels=1, g_h_size=16, d_h_size=8)
  assert _progression(nets.generator) == [(128, 4), (64, 8), (32, 16), (16, 32), (1, 64)]
  assert _progression(nets.discriminator) == [(8, 32), (16, 16), (32, 8), (64, 4), (1, 1)]
  z = np.random.default_rng(0).normal(size=(3, 128)).astype(np.float32)
  images = nets.generator(z, training=True).numpy()
  assert images.shape == (3, 64, 64, 1) and np.abs(images).max() <= 1.0
  assert nets.discriminator(images, training=True).shape == (3, 1)
  # Batch statistics also at inference (the reference never calls .eval()).
  np.testing.assert_allclose(nets.generator(z, training=False).numpy(), images, atol=1e-5)


def test_spectral_norm_on_every_discriminator_conv_and_no_bn():
  d = _build(64, spectral_norm=True, g_h_size=8, d_h_size=8).discriminator
  wrapped = [l for l in d.layers if isinstance(l, SpectralNorm)]
  assert len(wrapped) == 5 == len(_convs(d))   # first and last included
  assert not any(isinstance(l, BatchStatsNormalization) for l in d.layers)
  assert _progression(d) == [(8, 32), (16, 16), (32, 8), (64, 4), (1, 1)]
  x = np.random.default_rng(1).uniform(-1, 1, size=(2, 64, 64, 3)).astype(np.float32)
  v0 = [l.v.numpy().copy() for l in wrapped]
  d(x, training=True)
  assert all(not np.allclose(l.v.numpy(), v) for l, v in zip(wrapped, v0))
  assert abs(float(wrapped[-1].u.numpy()[0])) == pytest.approx(1.0)   # 1 output: u = +-1
  no_bn = _build(64, batch_norm_d=False, g_h_size=8, d_h_size=8).discriminator
  assert not any(isinstance(l, (BatchStatsNormalization, SpectralNorm)) for l in no_bn.layers)


def test_initial_weight_statistics(nets64):
  g, d = nets64.generator, nets64.discriminator
  for conv in _convs(g) + _convs(d):
    kernel = conv.kernel.numpy()
    if kernel.size >= 3000:
      assert kernel.std() == pytest.approx(0.02, rel=0.05), conv.name
      assert abs(kernel.mean()) < 0.002
  bns = [l for l in g.layers + d.layers if isinstance(l, BatchStatsNormalization)]
  gammas = np.concatenate([l.gamma.numpy() for l in bns])
  assert gammas.size == 960 + 896
  assert gammas.mean() == pytest.approx(1.0, abs=0.003)
  assert gammas.std() == pytest.approx(0.02, rel=0.1)
  assert not np.concatenate([l.beta.numpy() for l in bns]).any()
  assert all(l.epsilon == 1e-5 and l.momentum == pytest.approx(0.9) for l in bns)


def test_bad_sizes_and_options_are_refused():
  with pytest.raises(ValueError, match=r"'dcgan_64' supports only 64x64 .*dcgan_128 for 128x128"):
    MODELS.get('dcgan_64')((32, 32, 3))
  with pytest.raises(ValueError, match="'dcgan_256' supports only 256x256"):
    MODELS.get('dcgan_256')((128, 128, 3))
  with pytest.raises(ValueError, match=r"'dcgan_128' does not take option\(s\) batch_norm_g; "
                     'its options: batch_norm_d, d_h_size, g_h_size, pac, spectral_norm'):
    MODELS.get('dcgan_128')((128, 128, 3), batch_norm_g=False)
  with pytest.raises(ValueError, match='g_h_size must be a positive int'):
    MODELS.get('dcgan_64')((64, 64, 3), g_h_size=0)
  with pytest.raises(ValueError, match='pac must be a positive int'):
    MODELS.get('dcgan_64')((64, 64, 3), pac=0)
  assert dcgan.DEFAULT_H_SIZE == {64: 64, 128: 64, 256: 32}


def test_pack_samples_pairs_the_first_half_with_the_second_as_the_pac_script():
  """GAN_losses_iter_PAC.py: D's input is torch.cat([x[0:B], x[B:2B]], 1) (NCHW dim 1 = the
  channels): packed sample i = image i's channels, then image B + i's. Hand-made 4 x 1x1x2."""
  x = np.array([[[[0, 1]]], [[[10, 11]]], [[[20, 21]]], [[[30, 31]]]], np.float32)  # [4, 1, 1, 2]
  packed = dcgan.PackSamples(2)(x).numpy()
  np.testing.assert_array_equal(packed, [[[[0, 1, 20, 21]]], [[[10, 11, 30, 31]]]])
  # pac = 3 on 6 images: i, 2 + i, 4 + i.
  x6 = np.arange(6, dtype=np.float32).reshape(6, 1, 1, 1)
  np.testing.assert_array_equal(dcgan.PackSamples(3)(x6).numpy().reshape(2, 3), [[0, 2, 4], [1, 3, 5]])
  # 2x2 images, 3 channels: the pairing holds at every pixel, channels in order.
  rng = np.random.default_rng(0)
  y = rng.normal(size=(6, 2, 2, 3)).astype(np.float32)
  got = dcgan.PackSamples(2)(y).numpy()
  assert got.shape == (3, 2, 2, 6)
  for i in range(3):
    np.testing.assert_array_equal(got[i], np.concatenate([y[i], y[3 + i]], axis=-1))
  with pytest.raises(Exception):
    dcgan.PackSamples(2)(y[:5])   # an odd minibatch cannot be paired


def test_pac2_discriminator_takes_pairs_and_returns_one_logit_per_pair():
  """256x256 CAT runs (unstable.sh, GAN_losses_iter_PAC.py): D's first conv has n_colors*2 inputs;
  the rest of D and all of G are unchanged; D of N images gives N/2 logits."""
  plain = _build(64, g_h_size=4, d_h_size=4, seed=3)
  pac = _build(64, g_h_size=4, d_h_size=4, seed=3, pac=2)
  assert _n(pac.generator) == _n(plain.generator)
  d_convs, p_convs = _convs(plain.discriminator), _convs(pac.discriminator)
  assert tuple(p_convs[0].kernel.shape) == (4, 4, 6, 4)
  assert [tuple(c.kernel.shape) for c in p_convs[1:]] == [tuple(c.kernel.shape) for c in d_convs[1:]]
  assert pac.discriminator.layers[1].name == 'pack'
  x = np.random.default_rng(2).uniform(-1, 1, size=(4, 64, 64, 3)).astype(np.float32)
  assert tuple(pac.discriminator(x).shape) == (2, 1)
  # D(x) is the same as D's layers after the packing applied to the hand-packed pairs.
  inner = keras.Model(pac.discriminator.layers[2].input, pac.discriminator.output)
  by_hand = np.concatenate([x[:2], x[2:]], axis=-1)
  np.testing.assert_allclose(pac.discriminator(x), inner(by_hand), rtol=1e-5, atol=1e-6)
  spectral = _build(256, g_h_size=2, d_h_size=2, spectral_norm=True, pac=2).discriminator
  assert tuple(_convs(spectral)[0].kernel.shape) == (4, 4, 6, 2)

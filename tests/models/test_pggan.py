"""G_paper / D_paper against the PGGAN reference (original `networks.py` `G_paper` /
`D_paper`, the variables of `tfutil.py` `Network`; paper appendix A, Table 2).

Names, shapes, order and parameter counts are checked at 1024x1024x3 (build
only). The forward passes run at 32x32 with small fmaps against a NumPy NCHW
forward pass written from the `networks.py` formulas, which reads the arrays from
`reference_variables()` as a converter would.
"""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_gans.models import pggan

RNG = np.random.default_rng(1)
SMALL = dict(num_channels=3, resolution=32, fmap_base=128, fmap_max=64)   # nf: 64 64 32 16 8.
R = 5
N = 4


def randn(*shape):
  return RNG.normal(size=shape).astype(np.float32)


def randomize(model, seed=0):
  """Random biases too, so that every variable matters (biases start at zero)."""
  rng = np.random.default_rng(seed)
  for name, variable in model.reference_variables().items():
    if name != 'lod':
      variable.assign(rng.normal(size=variable.shape).astype(np.float32))
  return model


def arrays(model):
  return {k: v.numpy() for k, v in model.reference_variables().items()}


# `tfutil.py` `Network.vars`: names, shapes, order, counts at 1024x1024x3.


def _g_table(fused):
  rows = [('lod', ()), ('4x4/Dense/weight', (512, 8192)), ('4x4/Dense/bias', (512,)),
          ('4x4/Conv/weight', (3, 3, 512, 512)), ('4x4/Conv/bias', (512,)),
          ('ToRGB_lod8/weight', (1, 1, 512, 3)), ('ToRGB_lod8/bias', (3,))]
  levels = [(8, 512, 512), (16, 512, 512), (32, 512, 512), (64, 512, 256), (128, 256, 128),
            (256, 128, 64), (512, 64, 32), (1024, 32, 16)]
  for lod, (size, cin, cout) in zip(range(7, -1, -1), levels):
    scope = f'{size}x{size}'
    if fused:
      rows.append((f'{scope}/Conv0_up/weight', (3, 3, cout, cin)))
      rows.append((f'{scope}/Conv0_up/bias', (cout,)))
    else:
      rows.append((f'{scope}/Conv0/weight', (3, 3, cin, cout)))
      rows.append((f'{scope}/Conv0/bias', (cout,)))
    rows += [(f'{scope}/Conv1/weight', (3, 3, cout, cout)), (f'{scope}/Conv1/bias', (cout,)),
             (f'ToRGB_lod{lod}/weight', (1, 1, cout, 3)), (f'ToRGB_lod{lod}/bias', (3,))]
  return rows


def _d_table(fused):
  rows = [('lod', ()), ('FromRGB_lod0/weight', (1, 1, 3, 16)), ('FromRGB_lod0/bias', (16,))]
  levels = [(1024, 16, 32), (512, 32, 64), (256, 64, 128), (128, 128, 256), (64, 256, 512),
            (32, 512, 512), (16, 512, 512), (8, 512, 512)]
  conv1 = 'Conv1_down' if fused else 'Conv1'
  for lod, (size, c, cout) in enumerate(levels, start=1):
    scope = f'{size}x{size}'
    rows += [(f'{scope}/Conv0/weight', (3, 3, c, c)), (f'{scope}/Conv0/bias', (c,)),
             (f'{scope}/{conv1}/weight', (3, 3, c, cout)), (f'{scope}/{conv1}/bias', (cout,)),
             (f'FromRGB_lod{lod}/weight', (1, 1, 3, cout)), (f'FromRGB_lod{lod}/bias', (cout,))]
  rows += [('4x4/Conv/weight', (3, 3, 513, 512)), ('4x4/Conv/bias', (512,)),
           ('4x4/Dense0/weight', (8192, 512)), ('4x4/Dense0/bias', (512,)),
           ('4x4/Dense1/weight', (512, 1)), ('4x4/Dense1/bias', (1,))]
  return rows


def _table(model):
  return [(k, tuple(v.shape)) for k, v in model.reference_variables().items()]


@pytest.mark.parametrize('fused', [True, False])
def test_full_size_variables_match_the_reference(fused):
  g = pggan.G_paper(num_channels=3, resolution=1024, fused_scale=fused)
  assert _table(g) == _g_table(fused)
  d = pggan.D_paper(num_channels=3, resolution=1024, fused_scale=fused)
  assert _table(d) == _d_table(fused)
  for model, count in ((g, 23_079_115), (d, 23_087_249)):
    variables = model.reference_variables()
    assert sum(math.prod(v.shape) for v in model.trainable_variables) == count
    assert [v.path for v in model.non_trainable_variables] == ['lod']
    assert not variables['lod'].trainable and variables['lod'].dtype == 'float32'
    assert all(v.path == name for name, v in variables.items())   # Keras paths = reference names.
    assert len(model.variables) == len(variables)


def test_wscale_of_the_g_dense_and_torgb():
  g = pggan.G_paper(**SMALL, latent_size=512)
  dense, _ = g.scope_layers('4x4/Dense')
  assert dense.wscale == np.float32(1 / 64)
  torgb, _ = g.scope_layers('ToRGB_lod0')
  assert torgb.wscale == np.float32(1 / math.sqrt(8))
  d = pggan.D_paper(**SMALL)
  assert d.scope_layers('4x4/Dense1')[0].wscale == np.float32(1 / 8)            # gain 1, 64 in.
  assert d.scope_layers('FromRGB_lod0')[0].wscale == np.float32(math.sqrt(2 / 3))


def test_options_change_the_variables():
  d = pggan.D_paper(**SMALL, mbstd_group_size=1, label_size=2)
  assert d.reference_variables()['4x4/Conv/weight'].shape == (3, 3, 64, 64)
  assert d.reference_variables()['4x4/Dense1/weight'].shape == (64, 3)
  g = pggan.G_paper(**SMALL, latent_size=10, label_size=2)
  assert g.reference_variables()['4x4/Dense/weight'].shape == (12, 64 * 16)
  assert pggan.G_paper(resolution=4).reference_variables()['ToRGB_lod0/weight'].shape == (
      1, 1, 512, 1)


@pytest.mark.parametrize('bad', [2, 48, 1000, 0, '32', 32.0])
def test_resolution_must_be_a_power_of_two(bad):
  for builder in (pggan.G_paper, pggan.D_paper):
    with pytest.raises(ValueError, match='resolution'):
      builder(resolution=bad)


def test_other_validation():
  with pytest.raises(ValueError, match='dtype'):
    pggan.G_paper(resolution=8, dtype='int32')
  with pytest.raises(ValueError, match='structure'):
    pggan.D_paper(resolution=8, structure='auto')
  g = pggan.G_paper(resolution=8, fmap_base=64, label_size=2)
  with pytest.raises(ValueError, match='label'):
    g(randn(2, 32))
  with pytest.raises(ValueError, match='latents'):
    g([randn(2, 31), randn(2, 2)])
  with pytest.raises(ValueError, match='NHWC'):
    pggan.D_paper(resolution=8, fmap_base=64)(randn(2, 1, 8, 8))


def test_static_kwargs_rebuild_and_config():
  g = pggan.G_paper(**SMALL, label_size=2, fused_scale=False, foo=1)   # foo: ignored.
  assert g.static_kwargs == {**pggan.G_DEFAULTS, **SMALL, 'label_size': 2, 'fused_scale': False}
  rebuilt = pggan.G_paper(**g.static_kwargs)
  assert _table(rebuilt) == _table(g)
  clone = pggan.GPaper.from_config(g.get_config())
  assert _table(clone) == _table(g) and clone.name == 'G'
  d = pggan.D_paper(**SMALL, mbstd_group_size=16)
  assert pggan.DPaper.from_config(d.get_config()).static_kwargs == d.static_kwargs
  assert d.static_kwargs['mbstd_group_size'] == 16


# NumPy forward passes of the reference networks (NCHW, float64).


def np_conv(x, w):
  k = w.shape[0]
  p = k // 2
  x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
  height, width = x.shape[2] - 2 * p, x.shape[3] - 2 * p
  return sum(np.einsum('nchw,co->nohw', x[:, :, i:i + height, j:j + width], w[i, j])
             for i in range(k) for j in range(k))


def np_up(x, f=2):
  return x.repeat(f, axis=2).repeat(f, axis=3)


def np_down(x, f=2):
  n, c, height, width = x.shape
  return x.reshape(n, c, height // f, f, width // f, f).mean(axis=(3, 5))


def np_lrelu(x):
  return np.maximum(0.2 * x, x)


def np_pn(x):
  return x / np.sqrt((x ** 2).mean(axis=1, keepdims=True) + 1e-8)


def np_mbstd(x, group_size):
  n = x.shape[0]
  groups = n // min(group_size, n)
  y = x.reshape(-1, groups, *x.shape[1:])
  std = np.sqrt(y.var(axis=0) + 1e-8).mean(axis=(1, 2, 3))      # [M], group m = n % M.
  feature = np.broadcast_to(std[np.arange(n) % groups].reshape(-1, 1, 1, 1),
                            (n, 1, *x.shape[2:]))
  return np.concatenate([x, feature], axis=1)


def np_weight(v, name, gain=math.sqrt(2)):
  """The runtime weight: float32(w * float32(gain / sqrt(fan_in))), fan_in = prod(shape[:-1])."""
  w = v[f'{name}/weight']
  return (w * np.float32(gain / np.sqrt(np.prod(w.shape[:-1])))).astype(np.float64)


def np_layer(v, name, x, gain=math.sqrt(2)):
  w = np_weight(v, name, gain)
  bias = v[f'{name}/bias'].astype(np.float64)
  if w.ndim == 2:
    return x.reshape(x.shape[0], -1) @ w + bias
  return np_conv(x, w) + bias.reshape(1, -1, 1, 1)


def np_g_rgbs(v, latents, labels=None):
  """Non-fused G_paper with the default options: {res: ToRGB(block_res(...))}, NCHW."""
  x = latents if labels is None else np.concatenate([latents, labels], axis=1)
  x = np_pn(x.astype(np.float64)) @ np_weight(v, '4x4/Dense', math.sqrt(2) / 4)
  x = x.reshape(x.shape[0], -1, 4, 4) + v['4x4/Dense/bias'].reshape(1, -1, 1, 1)
  x = np_pn(np_lrelu(x))
  x = np_pn(np_lrelu(np_layer(v, '4x4/Conv', x)))
  rgbs = {2: np_layer(v, f'ToRGB_lod{R - 2}', x, gain=1.0)}
  for res in range(3, R + 1):
    scope = f'{2 ** res}x{2 ** res}'
    x = np_pn(np_lrelu(np_layer(v, f'{scope}/Conv0', np_up(x))))
    x = np_pn(np_lrelu(np_layer(v, f'{scope}/Conv1', x)))
    rgbs[res] = np_layer(v, f'ToRGB_lod{R - res}', x, gain=1.0)
  return rgbs


def np_g(v, latents, lod, labels=None):
  """The closed form of `G_paper`'s lod blend: up_{2^k}(lerp(rgb_{R-k}, up_2(rgb_{R-k-1}), f))."""
  rgbs = np_g_rgbs(v, latents, labels)
  if lod >= R - 2:
    return np_up(rgbs[2], 2 ** (R - 2))
  k, f = int(math.floor(lod)), lod - math.floor(lod)
  rgb = rgbs[R - k] + (np_up(rgbs[R - k - 1]) - rgbs[R - k]) * f
  return np_up(rgb, 2 ** k)


def np_d(v, images, lod, fused, group_size=4):
  """The recursive D_paper at lod = k + f, NCHW; returns [N, 1 + label_size]."""
  def fromrgb(x, res):
    return np_lrelu(np_layer(v, f'FromRGB_lod{R - res}', x))

  def block(x, res):
    if res > 2:
      scope = f'{2 ** res}x{2 ** res}'
      x = np_lrelu(np_layer(v, f'{scope}/Conv0', x))
      if fused:   # downscale2d(conv2d(x, W)) before the bias (`conv2d_downscale2d`).
        w = np_weight(v, f'{scope}/Conv1_down')
        return np_lrelu(np_down(np_conv(x, w)) + v[f'{scope}/Conv1_down/bias'].reshape(1, -1, 1, 1))
      return np_down(np_lrelu(np_layer(v, f'{scope}/Conv1', x)))
    if group_size > 1:
      x = np_mbstd(x, group_size)
    x = np_lrelu(np_layer(v, '4x4/Conv', x))
    x = np_lrelu(np_layer(v, '4x4/Dense0', x))
    return np_layer(v, '4x4/Dense1', x, gain=1.0)

  images = images.astype(np.float64)
  k = min(int(math.floor(lod)), R - 2)
  f = lod - k if k < R - 2 else 0.0
  res = R - k
  x = block(fromrgb(np_down(images, 2 ** k) if k else images, res), res)
  if f > 0:
    x = x + (fromrgb(np_down(images, 2 ** (k + 1)), res - 1) - x) * f
  for res in range(R - k - 1, 1, -1):
    x = block(x, res)
  return x


@pytest.fixture(scope='module')
def g_small():
  return randomize(pggan.G_paper(**SMALL, fused_scale=False), seed=2)


@pytest.fixture(scope='module')
def latents():
  return randn(N, 64)


@pytest.mark.parametrize('lod', [0.0, 1.0, 2.0, 3.0, 0.25, 1.5, 2.75, 3.5, 10.0])
def test_g_matches_the_reference_closed_form(g_small, latents, lod):
  g_small.lod.assign(lod)
  images = g_small(latents).numpy()
  assert images.shape == (N, 32, 32, 3)
  expected = np_g(arrays(g_small), latents, lod)
  np.testing.assert_allclose(np.transpose(images, [0, 3, 1, 2]), expected, rtol=5e-5, atol=5e-5)


@pytest.mark.parametrize('lod', [0, 1, 2, 3])
def test_g_integer_lod_is_the_upsampled_torgb_exactly(g_small, latents, lod):
  g_small.lod.assign(float(lod))
  images = g_small(latents).numpy()
  res = R - lod
  x = tf.constant(latents)
  for r in range(2, res + 1):
    x = g_small.block(x, r)
  expected = tf.constant(g_small.torgb(x, res))
  expected = tf.reshape(tf.tile(expected[:, :, None, :, None, :], [1, 1, 2 ** lod, 1, 2 ** lod, 1]),
                        [N, 32, 32, 3])
  np.testing.assert_array_equal(images, expected.numpy())


def test_lod_is_read_at_run_time_without_retracing():
  g = randomize(pggan.G_paper(**SMALL), seed=3)
  d = randomize(pggan.D_paper(**SMALL), seed=4)
  traces = []

  @tf.function
  def run(z):
    traces.append(1)
    images = g(z)
    return images, d(images)[0]

  z = randn(N, 64)
  outputs = {}
  for lod in (0.0, 1.5, 3.0, 0.0):
    g.lod.assign(lod)
    d.lod.assign(lod)
    outputs.setdefault(lod, []).append([t.numpy() for t in run(z)])
  assert len(traces) == 1
  assert not np.allclose(outputs[0.0][0][0], outputs[1.5][0][0])
  assert not np.allclose(outputs[0.0][0][1], outputs[1.5][0][1])
  np.testing.assert_array_equal(outputs[0.0][0][0], outputs[0.0][1][0])
  g.lod.assign(1.5)
  np.testing.assert_allclose(run(z)[0], g(z), rtol=5e-5, atol=5e-5)   # Graph == eager.


@pytest.mark.parametrize('fused', [False, True])
@pytest.mark.parametrize('lod', [0.0, 0.5, 1.0, 2.25, 3.0])
def test_d_matches_the_reference_recursive_form(fused, lod):
  d = randomize(pggan.D_paper(**SMALL, fused_scale=fused, label_size=2), seed=5)
  images = randn(8, 32, 32, 3)
  d.lod.assign(lod)
  scores, labels = d(images)
  assert scores.shape == (8, 1) and labels.shape == (8, 2)
  expected = np_d(arrays(d), np.transpose(images, [0, 3, 1, 2]), lod, fused)
  np.testing.assert_allclose(np.concatenate([scores, labels], axis=1), expected,
                             rtol=5e-5, atol=5e-5)


def test_d_fused_and_non_fused_differ():
  images = randn(N, 32, 32, 3)
  fused = randomize(pggan.D_paper(**SMALL), seed=6)
  plain = pggan.D_paper(**SMALL, fused_scale=False)
  for (name, src), dst in zip(fused.reference_variables().items(),
                              plain.reference_variables().values()):
    assert dst.path == name.replace('Conv1_down', 'Conv1')
    dst.assign(src)
  difference = np.abs(fused(images)[0] - plain(images)[0]).max()
  assert difference > 1e-3


def fused_to_plain(w):
  """W'[i, j, c, o] = W[k-1-i, k-1-j, o, c]: Conv0_up [k, k, out, in] -> Conv0 [k, k, in, out]."""
  return np.transpose(w[::-1, ::-1], [0, 1, 3, 2])


@pytest.mark.parametrize('lod', [0.0, 1.3])
def test_g_fused_equals_non_fused_with_converted_weights(lod):
  fused = randomize(pggan.G_paper(**SMALL), seed=7)
  plain = pggan.G_paper(**SMALL, fused_scale=False)
  for (name, src), dst in zip(fused.reference_variables().items(),
                              plain.reference_variables().values()):
    assert dst.path == name.replace('Conv0_up', 'Conv0')
    dst.assign(fused_to_plain(src.numpy()) if name.endswith('Conv0_up/weight') else src)
  fused.lod.assign(lod)
  plain.lod.assign(lod)
  z = randn(N, 64)
  np.testing.assert_allclose(fused(z), plain(z), rtol=5e-5, atol=5e-5)
  np.testing.assert_allclose(np.transpose(fused(z), [0, 3, 1, 2]), np_g(arrays(plain), z, lod),
                             rtol=5e-5, atol=5e-5)


@pytest.mark.parametrize('lod', [0.0, 0.4, 1.0, 2.7, 3.0])
def test_linear_structure_equals_recursive(lod):
  for builder, seed in ((pggan.G_paper, 8), (pggan.D_paper, 9)):
    recursive = randomize(builder(**SMALL), seed=seed)
    linear = randomize(builder(**SMALL, structure='linear'), seed=seed)
    assert builder(**SMALL, is_template_graph=True).structure == 'linear'
    recursive.lod.assign(lod)
    linear.lod.assign(lod)
    x = randn(N, 64) if builder is pggan.G_paper else randn(N, 32, 32, 3)
    a, b = recursive(x), linear(x)
    a, b = (a[0], b[0]) if isinstance(a, tuple) else (a, b)
    np.testing.assert_allclose(a, b, rtol=5e-5, atol=5e-5)


def test_labels_path():
  g = randomize(pggan.G_paper(**SMALL, label_size=3, fused_scale=False), seed=10)
  z = randn(N, 64)
  labels = np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]
  g.lod.assign(0.5)
  images = g([z, labels]).numpy()
  np.testing.assert_allclose(np.transpose(images, [0, 3, 1, 2]),
                             np_g(arrays(g), z, 0.5, labels=labels), rtol=5e-5, atol=5e-5)
  assert not np.allclose(images, g([z, labels[::-1]]))
  d = pggan.D_paper(**SMALL, label_size=3)
  scores, predicted = d(images)
  assert scores.shape == (N, 1) and predicted.shape == (N, 3)
  g0 = pggan.G_paper(**SMALL)
  np.testing.assert_array_equal(g0(z), g0([z, np.zeros((N, 0), np.float32)]))


def test_mbstd_batch_rules():
  d = pggan.D_paper(**SMALL)
  assert d(randn(3, 32, 32, 3))[0].shape == (3, 1)    # G = min(4, N).
  assert d(randn(8, 32, 32, 3))[0].shape == (8, 1)
  with pytest.raises((tf.errors.InvalidArgumentError, ValueError)):
    d(randn(6, 32, 32, 3))


def test_bfloat16_computes_in_bfloat16_with_float32_variables():
  g = pggan.G_paper(**SMALL, dtype='bfloat16')
  d = pggan.D_paper(**SMALL, dtype='bfloat16')
  g.lod.assign(0.5)
  images = g(randn(N, 64))
  assert images.dtype == tf.bfloat16 and d(images)[0].dtype == tf.bfloat16
  assert {v.dtype for v in g.variables} == {'float32'}


def test_weights_round_trip_through_keras_and_tf_checkpoints(tmp_path):
  g = randomize(pggan.G_paper(**SMALL), seed=11)
  g.lod.assign(1.25)
  z = randn(N, 64)
  expected = g(z).numpy()
  g.save_weights(tmp_path / 'g.weights.h5')
  restored = pggan.G_paper(**SMALL)
  restored.load_weights(tmp_path / 'g.weights.h5')
  np.testing.assert_array_equal(restored(z), expected)
  path = tf.train.Checkpoint(g=g).save(tmp_path / 'ckpt')
  saved = {name for name, _ in tf.train.list_variables(path)}
  assert 'g/op_8x8_Conv0_up/weight/.ATTRIBUTES/VARIABLE_VALUE' in saved
  other = pggan.G_paper(**SMALL)
  tf.train.Checkpoint(g=other).restore(path).assert_consumed()
  assert float(other.lod.numpy()) == 1.25
  np.testing.assert_array_equal(other(z), expected)


def test_reference_arrays_copy_one_to_one():
  src = randomize(pggan.D_paper(**SMALL), seed=12)
  dst = pggan.D_paper(**SMALL)
  for name, value in arrays(src).items():
    dst.reference_variables()[name].assign(value)
  images = randn(N, 32, 32, 3)
  np.testing.assert_array_equal(dst(images)[0], src(images)[0])
  assert isinstance(src, keras.Model)

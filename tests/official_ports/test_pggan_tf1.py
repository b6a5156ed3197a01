"""The oracle itself against properties of the original PGGAN `networks.py`."""

import numpy as np
import pytest
import tensorflow as tf

from official_ports.pggan_tf1 import network
from official_ports.pggan_tf1 import networks
from official_ports.pggan_tf1 import pickle_io

tf1 = tf.compat.v1
KW = dict(resolution=32, num_channels=3, fmap_base=128, fmap_max=32, latent_size=16)


def _g_d(seed=0, **overrides):
  sess = network.new_session()
  g = network.Network('G', 'G_paper', sess, **dict(KW, **overrides))
  d_kw = {k: v for k, v in dict(KW, **overrides).items() if k != 'latent_size'}
  d = network.Network('D', 'D_paper', sess, **d_kw)
  g.randomize(seed)
  d.randomize(seed + 1)
  return g, d


@pytest.mark.parametrize('lod', [0.0, 0.4, 1.0, 1.7, 2.5, 3.0])
def test_linear_and_recursive_structures_agree(lod):
  # `networks.py` G_paper / D_paper: structure 'linear' (the template graph) and 'recursive'
  # (the runtime graph) compute the same function up to rounding (our random weights include
  # N(0, 1) biases, so D's scores are larger here).
  g, d = _g_d()
  g.set_vars({'lod': np.float32(lod)})
  d.set_vars({'lod': np.float32(lod)})
  z = np.random.RandomState(0).randn(8, 16).astype(np.float32)
  labels = np.zeros([8, 0], np.float32)
  rec, lin = g.run(z, labels), g.run(z, labels, structure='linear')
  assert rec.shape == (8, 3, 32, 32)
  np.testing.assert_allclose(rec, lin, atol=2e-6, rtol=0)
  s_rec, s_lin = d.run(rec)[0], d.run(rec, structure='linear')[0]
  np.testing.assert_allclose(s_rec, s_lin, atol=5e-6 * max(1, np.abs(s_rec).max()), rtol=0)


def test_integer_lod_output_is_the_selected_torgb_upsampled():
  g, _ = _g_d()
  g.set_vars({'lod': np.float32(2.0)})
  img = g.run(np.random.RandomState(1).randn(2, 16).astype(np.float32), np.zeros([2, 0], np.float32))
  # lod 2 of 32x32 is the 8x8 RGB nearest-upsampled 4x: constant 4x4 blocks.
  blocks = img.reshape(2, 3, 8, 4, 8, 4)
  assert np.all(blocks == blocks[:, :, :, :1, :, :1])


def test_fused_and_plain_generator_are_the_same_function():
  # `networks.py`: upscale2d_conv2d(x, W) == conv2d(upscale2d(x), W') with
  # W'[i, j, c, o] = W[k-1-i, k-1-j, o, c].
  fused, _ = _g_d(seed=3, fused_scale=True)
  plain, _ = _g_d(seed=4, fused_scale=False)
  values = {}
  for name, value in fused.get_vars().items():
    if '/Conv0_up/weight' in name:
      name, value = name.replace('Conv0_up', 'Conv0'), value[::-1, ::-1].transpose(0, 1, 3, 2)
    values[name.replace('Conv0_up', 'Conv0')] = value
  plain.set_vars(values)
  z = np.random.RandomState(2).randn(4, 16).astype(np.float32)
  labels = np.zeros([4, 0], np.float32)
  np.testing.assert_allclose(fused.run(z, labels), plain.run(z, labels), atol=1e-5, rtol=0)


def test_fused_conv_downscale_equals_conv_then_box_pool():
  graph = tf.Graph()
  with graph.as_default(), tf1.Session() as sess:
    x = tf.constant(np.random.RandomState(0).randn(2, 5, 8, 8).astype(np.float32))
    with tf1.variable_scope('a'):
      fused = networks.conv2d_downscale2d(x, 6, 3, use_wscale=True)
    with tf1.variable_scope('a', reuse=True):
      plain = networks.downscale2d(networks.conv2d(x, 6, 3, use_wscale=True))
    sess.run(tf1.global_variables_initializer())
    a, b = sess.run([fused, plain])
  assert a.shape == (2, 6, 4, 4)
  np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)


def test_minibatch_stddev_groups_are_strided():
  graph = tf.Graph()
  with graph.as_default(), tf1.Session() as sess:
    x = np.random.RandomState(0).randn(8, 2, 3, 3).astype(np.float32)
    y = sess.run(networks.minibatch_stddev_layer(tf.constant(x), 4))
  assert y.shape == (8, 3, 3, 3)
  for m in range(2):  # group m holds samples m, m + 2, m + 4, m + 6
    group = x[m::2]
    want = np.sqrt(group.var(axis=0) + 1e-8).mean()
    np.testing.assert_allclose(y[m::2, -1], want, rtol=1e-5)


def test_full_size_variable_names_shapes_and_counts():
  sess = network.new_session()
  g = network.Network('G', 'G_paper', sess, resolution=1024, num_channels=3)
  d = network.Network('D', 'D_paper', sess, resolution=1024, num_channels=3)
  g_count = sum(int(np.prod(v.shape)) for v in g.trainables.values())
  d_count = sum(int(np.prod(v.shape)) for v in d.trainables.values())
  assert (g_count, d_count) == (23_079_115, 23_087_249)
  assert list(g.vars)[:8] == ['lod', '4x4/Dense/weight', '4x4/Dense/bias', '4x4/Conv/weight',
                              '4x4/Conv/bias', 'ToRGB_lod8/weight', 'ToRGB_lod8/bias',
                              '8x8/Conv0_up/weight']
  assert g.vars['1024x1024/Conv0_up/weight'].shape == (3, 3, 16, 32)
  assert list(d.vars)[-2:] == ['4x4/Dense1/weight', '4x4/Dense1/bias']
  assert d.vars['4x4/Conv/weight'].shape == (3, 3, 513, 512)
  assert 'lod' not in g.trainables


def test_pickle_round_trip_rebuilds_the_same_networks(tmp_path):
  g, d = _g_d(seed=9, label_size=2)
  g.set_vars({'lod': np.float32(0.5)})
  pickle_io.save_pkl(tmp_path / 'net.pkl', (g, d, g))
  g2, d2, _ = pickle_io.networks_from_pkl(tmp_path / 'net.pkl')
  assert g2.static_kwargs == g.static_kwargs and float(g2.get_vars()['lod']) == 0.5
  z = np.random.RandomState(3).randn(4, 16).astype(np.float32)
  labels = np.eye(2, dtype=np.float32)[[0, 1, 0, 1]]
  np.testing.assert_array_equal(g2.run(z, labels), g.run(z, labels))
  img = g.run(z, labels)
  np.testing.assert_array_equal(d2.run(img)[1], d.run(img)[1])

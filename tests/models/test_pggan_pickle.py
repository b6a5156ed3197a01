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


# --- Every pickle protocol (misc.save_pkl writes pickle.HIGHEST_PROTOCOL: 4 on
# Python 3.6/3.7, 5 on >= 3.8), under numpy 1.x's and numpy 2's names.

NETS_KW = dict(resolution=8, num_channels=3, fmap_base=16, fmap_max=8)


@pytest.fixture(scope='module')
def gdgs_states():
  """(G, D, Gs) version-2 states of our small Keras nets, random weights, Gs mid-fade."""
  from tf_gans.models import pggan  # pylint: disable=import-outside-toplevel
  nets = (('G', 'G_paper', pggan.G_paper), ('D', 'D_paper', pggan.D_paper),
          ('Gs', 'G_paper', pggan.G_paper))
  rng = np.random.default_rng(7)
  states = []
  for name, func, build in nets:
    model = build(**NETS_KW, name=name)
    variables = [(n, np.float32(1.5 if name == 'Gs' else 0.0) if n == 'lod'
                  else rng.standard_normal(v.shape).astype(np.float32))
                 for n, v in model.reference_variables().items()]
    variables.append(('Fortran/weight', np.asfortranarray(rng.standard_normal([3, 4]),
                                                          dtype=np.float32)))
    states.append({'version': 2, 'name': name,
                   'static_kwargs': dict(NETS_KW, fmap_decay=np.float64(1.0)),
                   'build_module_src': pickle_io.DEFAULT_BUILD_MODULE_SRC,
                   'build_func_name': func, 'variables': variables})
  return states


@pytest.mark.parametrize('numpy_names', ['1.x', 'installed'])
@pytest.mark.parametrize('protocol', range(pickle.HIGHEST_PROTOCOL + 1))
def test_every_protocol_loads_the_same_arrays(tmp_path, gdgs_states, protocol, numpy_names):
  data = pickle_io.dumps(gdgs_states, protocol=protocol, numpy_names=numpy_names)
  if numpy_names == '1.x':  # the names numpy 1.x wrote
    assert b'numpy.core.' in data and b'numpy._core' not in data
  elif hasattr(np, '_core'):  # numpy 2's own names
    assert b'numpy._core.' in data and b'numpy.core.' not in data
  # Protocol 5 hands arrays over as pickle.PickleBuffers (in-band) rebuilt by
  # numeric._frombuffer; 0-4 by multiarray._reconstruct from bytes.
  assert (b'_frombuffer' in data) == (protocol == 5)
  if protocol >= 2:  # (0-1 also name copyreg's _reconstructor, for the Network)
    assert (b'_reconstruct' in data) == (protocol < 5)
  path = tmp_path / f'network-snapshot-p{protocol}.pkl'
  path.write_bytes(data)
  states = pggan_pickle.load_network_states(path)
  assert [s.name for s in states] == ['G', 'D', 'Gs']
  for want, got in zip(gdgs_states, states):
    assert got.build_func_name == want['build_func_name']
    assert got.static_kwargs == want['static_kwargs']
    assert list(got.variables) == [n for n, _ in want['variables']]
    for n, a in want['variables']:
      assert got.variables[n].dtype == np.float32 and got.variables[n].shape == np.shape(a)
      np.testing.assert_array_equal(got.variables[n], a, err_msg=n)


def test_protocol_5_pickle_loads_into_keras_nets(tmp_path, gdgs_states):
  # What misc.save_pkl writes on Python >= 3.8 with numpy 2, end to end.
  states = [dict(s, variables=s['variables'][:-1]) for s in gdgs_states]
  path = tmp_path / 'network-snapshot-000140.pkl'
  path.write_bytes(pickle_io.dumps(states, protocol=5, numpy_names='installed'))
  nets = pggan_convert.load_official_pickle(str(path))
  for state, model in zip(states, nets):
    for n, v in model.reference_variables().items():
      np.testing.assert_array_equal(v.numpy(), dict(state['variables'])[n], err_msg=n)
  assert float(nets[2].lod.numpy()) == 1.5


def _frombuffer_pickle(module, dtype=b'f4', data=np.arange(6, dtype='<f4').tobytes()):
  """Hand-written protocol-3 opcodes: module._frombuffer(bytes, dtype(dtype), (2, 3), 'C')."""
  return (b'\x80\x03' + b'c' + module + b'\n_frombuffer\n'
          + b'(' + b'C' + bytes([len(data)]) + data
          + b'cnumpy\ndtype\n' + b'X' + len(dtype).to_bytes(4, 'little') + dtype
          + b'\x89\x88\x87R'  # dtype(dtype, False, True)
          + b'K\x02K\x03\x86' + b'X\x01\x00\x00\x00C' + b'tR.')


@pytest.mark.parametrize('module', [b'numpy._core.numeric', b'numpy.core.numeric'])
def test_hand_made_frombuffer_pickle_loads(tmp_path, module):
  path = tmp_path / 'frombuffer.pkl'
  path.write_bytes(_frombuffer_pickle(module))
  got = pggan_pickle.safe_load(path)
  np.testing.assert_array_equal(got, np.arange(6, dtype=np.float32).reshape(2, 3))
  assert got.dtype == np.float32


class _Reduces:
  def __init__(self, func, args):
    self.func, self.args = func, args

  def __reduce__(self):
    return (self.func, self.args)


class _Arbitrary:  # any class of the loading program: not data
  pass


@pytest.mark.parametrize('protocol', range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize('func, args', [
    (os.system, ('touch PWNED',)),
    (exec, ('open("PWNED", "w").close()',)),
    (eval, ('open("PWNED", "w").close()',)),
    (__import__('subprocess').Popen, (['touch', 'PWNED'],)),
    (_Arbitrary, ()),
])
def test_code_is_refused_under_every_protocol(tmp_path, monkeypatch, protocol, func, args):
  monkeypatch.chdir(tmp_path)
  path = tmp_path / 'evil.pkl'
  path.write_bytes(pickle.dumps(_Reduces(func, args), protocol=protocol))
  with pytest.raises(pggan_pickle.PickleFormatError,
                     match=f'{path}: refusing to load the global .*{func.__name__}: a PGGAN'):
    pggan_pickle.safe_load(path)
  assert not (tmp_path / 'PWNED').exists()


@pytest.mark.parametrize('payload, message', [
    # The helpers old protocols need accept only the format's own arguments.
    (b"c_codecs\nencode\n(Vx\nVzlib_codec\ntR.", "_codecs.encode\\(..., 'zlib_codec'\\)"),
    (b"c__builtin__\nbytes\n(I10\ntR.", 'builtins.bytes with arguments'),
    (b"ccopy_reg\n_reconstructor\n(cnumpy\nndarray\nc__builtin__\nobject\nNtR.",
     'copyreg._reconstructor'),
    (_frombuffer_pickle(b'numpy._core.numeric', dtype=b'O8', data=bytes(16)),
     'an array of dtype dtype\\(\'O\'\\)'),
])
def test_allowed_helpers_refuse_other_arguments(tmp_path, payload, message):
  path = tmp_path / 'odd.pkl'
  path.write_bytes(payload)
  with pytest.raises(pggan_pickle.PickleFormatError, match=f'refusing {message}'):
    pggan_pickle.safe_load(path)


def test_out_of_band_buffers_are_named(tmp_path):
  data = pickle.dumps(np.ones(3, np.float32), protocol=5, buffer_callback=lambda b: False)
  path = tmp_path / 'oob.pkl'
  path.write_bytes(data)
  with pytest.raises(pggan_pickle.PickleFormatError, match='out-of-band buffers.*in-band'):
    pggan_pickle.safe_load(path)

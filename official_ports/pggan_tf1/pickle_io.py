"""The original PGGAN pickle format, written and read (`tfutil.Network`, `misc.save_pkl`).

`save_pkl` writes `(G, D, Gs)` the way `misc.save_pkl` did: each network as
the global `tfutil.Network` created by `cls.__new__` (NEWOBJ; protocols 0-1:
`copyreg._reconstructor`) and given its version-2 state by BUILD, arrays
pickled under numpy 1.x's names (`numpy.core.multiarray._reconstruct` /
`scalar`, and `numpy.core.numeric._frombuffer` under protocol 5), as the
released files are. `misc.save_pkl` uses `pickle.HIGHEST_PROTOCOL`, 4 on the
Python 3.6 the releases were written with (our default) and 5 on Python >=
3.8; `protocol` picks any of 0-5, and `numpy_names='installed'` keeps the
names the running numpy writes (`numpy._core.*` under numpy 2).
`load_pkl` reads such a file back into state dicts. It maps `tfutil.Network`
to an inert record and otherwise trusts the file: it is for test files we
wrote, not for downloads (tf_gans.models.pggan_pickle is the safe reader).

`save_tf1_checkpoint` writes the networks' variables with a
`tf.compat.v1.train.Saver` (names `G/4x4/Dense/weight`, ...).
"""

import io
import pickle
import sys
import types

import numpy as np
import tensorflow as tf

from official_ports.pggan_tf1 import network as network_lib

# A stand-in source text with the release's G Dense gain (readers check it).
DEFAULT_BUILD_MODULE_SRC = (
    '# official_ports.pggan_tf1 stand-in for networks.py\n'
    'def G_paper(...):\n'
    "    x = dense(x, fmaps=nf(res-1)*16, gain=np.sqrt(2)/4, use_wscale=use_wscale)\n")


class _TfutilNetwork:
  """Pickled as `tfutil.Network`; its state is the version-2 dict."""

  def __init__(self, state=None):
    self._state = state

  def __getstate__(self):
    return self._state

  def __setstate__(self, state):
    self._state = state


_TfutilNetwork.__module__ = 'tfutil'
_TfutilNetwork.__qualname__ = _TfutilNetwork.__name__ = 'Network'
_TFUTIL = types.ModuleType('tfutil')
_TFUTIL.Network = _TfutilNetwork

_core = getattr(np, '_core', None) or np.core  # pylint: disable=protected-access
_LEGACY_NAMES = {id(_core.multiarray._reconstruct): ('numpy.core.multiarray', '_reconstruct'),
                 id(_core.multiarray.scalar): ('numpy.core.multiarray', 'scalar'),
                 id(_core.numeric._frombuffer): ('numpy.core.numeric', '_frombuffer')}
NUMPY_NAMES = ('1.x', 'installed')


class _LegacyPickler(pickle._Pickler):  # pylint: disable=protected-access
  """The pure-Python pickler, naming numpy globals as numpy 1.x did."""

  def save_global(self, obj, name=None):
    legacy = _LEGACY_NAMES.get(id(obj))
    if legacy is None:
      return super().save_global(obj, name)
    if self.proto >= 4:
      self.save(legacy[0])
      self.save(legacy[1])
      self.write(pickle.STACK_GLOBAL)
    else:
      self.write(pickle.GLOBAL + f'{legacy[0]}\n{legacy[1]}\n'.encode('utf-8'))
    self.memoize(obj)
    return None

  # The type table sends Python functions (numeric._frombuffer) to the base
  # class's save_global directly; route them through ours.
  dispatch = dict(pickle._Pickler.dispatch)  # pylint: disable=protected-access
  dispatch[types.FunctionType] = lambda self, obj: self.save_global(obj)


def dumps(states, protocol=4, numpy_names='1.x'):
  """Bytes of a pickle holding a tuple of `tfutil.Network`s with `states`.

  Args:
    states: version-2 state dicts (`Network.get_state`).
    protocol: the pickle protocol, 0 to `pickle.HIGHEST_PROTOCOL`.
    numpy_names: '1.x' (numpy's globals as numpy 1.x named them, as the
      released files have them; the pure-Python pickler, renaming) or
      'installed' (as the running numpy names them; `pickle.Pickler`, i.e.
      `misc.save_pkl`'s `pickle.dump(..., protocol=protocol)` itself).
  """
  if numpy_names not in NUMPY_NAMES:
    raise ValueError(f'numpy_names={numpy_names!r}; expected one of {NUMPY_NAMES}.')
  pickler_cls = _LegacyPickler if numpy_names == '1.x' else pickle.Pickler
  buf = io.BytesIO()
  previous = sys.modules.get('tfutil')
  sys.modules['tfutil'] = _TFUTIL  # pickle checks that the global resolves
  try:
    pickler_cls(buf, protocol=protocol).dump(tuple(_TfutilNetwork(s) for s in states))
  finally:
    if previous is None:
      del sys.modules['tfutil']
    else:
      sys.modules['tfutil'] = previous
  return buf.getvalue()


def save_pkl(path, nets, build_module_src=DEFAULT_BUILD_MODULE_SRC, protocol=4,
             numpy_names='1.x'):
  """Writes `nets` (a tuple of `Network`s, normally (G, D, Gs)) to `path`."""
  with open(path, 'wb') as f:
    f.write(dumps([n.get_state(build_module_src) for n in nets], protocol=protocol,
                  numpy_names=numpy_names))


class _ReadingUnpickler(pickle.Unpickler):

  def find_class(self, module, name):
    if (module, name) == ('tfutil', 'Network'):
      return _TfutilNetwork
    if module in ('numpy.core.multiarray', 'numpy.core.numeric'):
      return getattr(getattr(_core, module.rpartition('.')[2]), name)
    return super().find_class(module, name)


def load_pkl(path):
  """A tuple of state dicts from an original-format pickle (trusted files only)."""
  with open(path, 'rb') as f:
    nets = _ReadingUnpickler(f, encoding='latin1').load()
  return tuple(n._state for n in nets)  # pylint: disable=protected-access


def networks_from_pkl(path, session=None):
  """(G, D, Gs) as oracle `Network`s in `session` (a new one by default)."""
  session = session or network_lib.new_session()
  return tuple(network_lib.Network.from_state(s, session) for s in load_pkl(path))


def save_tf1_checkpoint(nets, prefix):
  """Saves the variables of `nets` (sharing one session) with a TF1 Saver."""
  session = nets[0].session
  with session.graph.as_default():
    var_list = {v.op.name: v for n in nets for v in n.vars.values()}
    return tf.compat.v1.train.Saver(var_list=var_list).save(session, prefix,
                                                            write_meta_graph=False)

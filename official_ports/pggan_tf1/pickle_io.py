"""The original PGGAN pickle format, written and read (`tfutil.Network`, `misc.save_pkl`).

`save_pkl` writes `(G, D, Gs)` the way `misc.save_pkl` did: protocol 4, each
network as the global `tfutil.Network` created by `cls.__new__` (NEWOBJ) and
given its version-2 state by BUILD, arrays pickled under numpy 1.x's names
(`numpy.core.multiarray._reconstruct` / `scalar`), as the released files are.
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
                 id(_core.multiarray.scalar): ('numpy.core.multiarray', 'scalar')}


class _LegacyPickler(pickle._Pickler):  # pylint: disable=protected-access
  """The pure-Python pickler, naming numpy globals as numpy 1.x did."""

  def save_global(self, obj, name=None):
    legacy = _LEGACY_NAMES.get(id(obj))
    if legacy is None:
      return super().save_global(obj, name)
    self.save(legacy[0])
    self.save(legacy[1])
    self.write(pickle.STACK_GLOBAL)
    self.memoize(obj)
    return None


def dumps(states):
  """Bytes of a pickle holding a tuple of `tfutil.Network`s with `states`."""
  buf = io.BytesIO()
  previous = sys.modules.get('tfutil')
  sys.modules['tfutil'] = _TFUTIL  # pickle checks that the global resolves
  try:
    _LegacyPickler(buf, protocol=4).dump(tuple(_TfutilNetwork(s) for s in states))
  finally:
    if previous is None:
      del sys.modules['tfutil']
    else:
      sys.modules['tfutil'] = previous
  return buf.getvalue()


def save_pkl(path, nets, build_module_src=DEFAULT_BUILD_MODULE_SRC):
  """Writes `nets` (a tuple of `Network`s, normally (G, D, Gs)) to `path`."""
  with open(path, 'wb') as f:
    f.write(dumps([n.get_state(build_module_src) for n in nets]))


class _ReadingUnpickler(pickle.Unpickler):

  def find_class(self, module, name):
    if (module, name) == ('tfutil', 'Network'):
      return _TfutilNetwork
    if module == 'numpy.core.multiarray':
      return getattr(_core.multiarray, name)
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

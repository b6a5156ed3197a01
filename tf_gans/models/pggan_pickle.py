"""Reading original PGGAN network files safely: pickles and TF1 checkpoints.

Reference: the official github.com/tkarras/progressive_growing_of_gans
`tfutil.py` (class `Network`, its `__getstate__` / `__setstate__`) and
`misc.py` (`save_pkl`, `load_pkl`), which write and read the pickle format.
A snapshot pickle is the tuple `(G, D, Gs)`, each element a
`tfutil.Network` rebuilt with `cls.__new__(cls)` and then given its state dict
through `__setstate__`. The state (version 2) holds `name`,
`static_kwargs`, `build_module_src` (the full text of networks.py),
`build_func_name` ('G_paper' / 'D_paper') and `variables` (a list of
`(local name, float32 array)` in creation order).

The original loader `exec`s `build_module_src`. We never do: `SafeUnpickler`
resolves only the globals the format needs (numpy's array reconstruction and
dtypes, the `tfutil.Network` class, which becomes an inert record, ordered
dicts) and refuses every other global with an error naming it, so a crafted
pickle cannot run code. The source text is only read, to spot networks.py
versions whose maths differs from the paper release (the first TF commit's
`networks.py`, a92638a, see `RELEASE_DENSE_GAIN_SRC`).
"""

import collections
import dataclasses
import io
import os
import pickle

import numpy as np

STATE_VERSION = 2
# The Feb-2018 networks.py gave G's 4x4 Dense the default gain sqrt(2); the
# release (the maths our G_paper follows) uses sqrt(2)/4 "to match Theano".
RELEASE_DENSE_GAIN_SRC = 'gain=np.sqrt(2)/4'


class PickleFormatError(ValueError):
  """The file is not a PGGAN network pickle we can read (or is unsafe)."""


class _NetworkRecord:
  """Stands in for `tfutil.Network`: keeps the state, runs nothing."""

  def __setstate__(self, state):
    self.state = state


def _numpy_multiarray_attr(name):
  # numpy 2 moved numpy.core to numpy._core; pickles written by numpy 1.x name
  # the old path. Resolve both without touching the deprecated alias.
  core = getattr(np, "_core", None) or np.core  # pylint: disable=protected-access
  return getattr(core.multiarray, name)


_ALLOWED_GLOBALS = {
    ('tfutil', 'Network'): lambda: _NetworkRecord,
    ('numpy', 'ndarray'): lambda: np.ndarray,
    ('numpy', 'dtype'): lambda: np.dtype,
    ('numpy.core.multiarray', '_reconstruct'): lambda: _numpy_multiarray_attr('_reconstruct'),
    ('numpy._core.multiarray', '_reconstruct'): lambda: _numpy_multiarray_attr('_reconstruct'),
    ('numpy.core.multiarray', 'scalar'): lambda: _numpy_multiarray_attr('scalar'),
    ('numpy._core.multiarray', 'scalar'): lambda: _numpy_multiarray_attr('scalar'),
    ('collections', 'OrderedDict'): lambda: collections.OrderedDict,
    ('_codecs', 'encode'): lambda: __import__('codecs').encode,  # bytes in protocol <= 2
}


class SafeUnpickler(pickle.Unpickler):
  """An unpickler that resolves only `_ALLOWED_GLOBALS`."""

  def find_class(self, module, name):
    factory = _ALLOWED_GLOBALS.get((module, name))
    if factory is None:
      allowed = ', '.join(sorted(f'{m}.{n}' for m, n in _ALLOWED_GLOBALS))
      raise pickle.UnpicklingError(
          f'refusing to load the global {module}.{name}: a PGGAN network pickle needs only '
          f'{allowed}. The file may be malicious or not a PGGAN pickle.')
    return factory()


@dataclasses.dataclass
class NetworkState:
  """One pickled network, as data."""
  name: str
  build_func_name: str
  static_kwargs: dict
  variables: collections.OrderedDict   # reference name -> float32 ndarray
  build_module_src: str = ''


def safe_load(path):
  """Unpickles `path` with `SafeUnpickler`; errors name the file."""
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise FileNotFoundError(f'{path}: no such pickle file.')
  with open(path, 'rb') as f:
    data = f.read()
  try:
    return SafeUnpickler(io.BytesIO(data), encoding='latin1').load()
  except pickle.UnpicklingError as e:
    raise PickleFormatError(f'{path}: {e}') from None
  except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
          MemoryError, UnicodeDecodeError) as e:
    raise PickleFormatError(
        f'{path}: not a readable pickle ({type(e).__name__}: {e}); is the file truncated or '
        f'of another format?') from None


def _state_of(record, position, path):
  where = f'{path}: network {position}'
  if not isinstance(record, _NetworkRecord) or not hasattr(record, 'state'):
    raise PickleFormatError(f'{where} is a {type(record).__name__}, not a tfutil.Network.')
  state = record.state
  if not isinstance(state, dict):
    raise PickleFormatError(f'{where}: its state is a {type(state).__name__}, not a dict.')
  if 'version' not in state:
    raise PickleFormatError(
        f'{where} is in the Theano-era format (no "version"); convert it with the original '
        f'code\'s legacy.py first. Only version {STATE_VERSION} (TF) networks are read.')
  if state['version'] != STATE_VERSION:
    raise PickleFormatError(f'{where}: state version {state["version"]!r}, expected {STATE_VERSION}.')
  missing = [k for k in ('build_func_name', 'static_kwargs', 'variables') if k not in state]
  if missing:
    raise PickleFormatError(f'{where}: the state lacks {missing}.')
  variables = collections.OrderedDict()
  for item in state['variables']:
    if (not isinstance(item, tuple) or len(item) != 2 or not isinstance(item[0], str)
        or not isinstance(item[1], (np.ndarray, np.generic))):
      raise PickleFormatError(f'{where}: a variable entry is not a (name, array) pair: {item!r:.80}')
    variables[item[0]] = np.asarray(item[1])
  src = state.get('build_module_src') or ''
  if (state['build_func_name'] == 'G_paper' and src and 'def G_paper' in src
      and RELEASE_DENSE_GAIN_SRC not in src.replace(' ', '')):
    raise PickleFormatError(
        f'{where}: its networks.py gives G\'s 4x4 Dense a gain other than sqrt(2)/4 (the '
        f'Feb-2018 code, before the release); our G_paper follows the released maths, so the '
        f'images would differ. Refusing rather than converting silently.')
  return NetworkState(name=str(state.get('name', '')), build_func_name=state['build_func_name'],
                      static_kwargs=dict(state['static_kwargs']), variables=variables,
                      build_module_src=src)


def load_network_states(path):
  """The network states of an original pickle: a tuple, in the file's order.

  Raises:
    FileNotFoundError: no such file.
    PickleFormatError: a forbidden global, a truncated file, or a structure
      that is not (G, D, Gs) of version-2 `tfutil.Network`s.
  """
  obj = safe_load(path)
  if isinstance(obj, _NetworkRecord):
    obj = (obj,)
  if not isinstance(obj, tuple):
    raise PickleFormatError(f'{path}: holds a {type(obj).__name__}, expected the tuple (G, D, Gs).')
  return tuple(_state_of(record, i, path) for i, record in enumerate(obj))


def read_tf1_checkpoint(prefix):
  """{'G': {name: array}, 'D': ..., 'Gs': ...} from a TF1 (Saver) checkpoint.

  Variables are grouped by their first scope (`G/4x4/Dense/weight` -> network
  'G', name '4x4/Dense/weight'). Optimizer slots and other bookkeeping
  (names with no scope, or with '/Adam' slots) are skipped.
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  prefix = os.fspath(prefix)
  try:
    reader = tf.train.load_checkpoint(prefix)
  except (tf.errors.NotFoundError, tf.errors.DataLossError, ValueError) as e:
    raise FileNotFoundError(
        f'{prefix}: not a readable TF1 checkpoint prefix (expected {prefix}.index and '
        f'{prefix}.data-*): {str(e).splitlines()[0]}') from None
  nets = collections.defaultdict(collections.OrderedDict)
  for full_name in sorted(reader.get_variable_to_shape_map()):
    net, sep, name = full_name.partition('/')
    if not sep or '/Adam' in name or name.startswith('_'):
      continue
    nets[net][name] = reader.get_tensor(full_name)
  return dict(nets)

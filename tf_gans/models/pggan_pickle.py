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
resolves only the globals the format needs under any pickle protocol, 0 to 5
(numpy's array reconstruction and dtypes under numpy 1.x's `numpy.core` and
numpy 2's `numpy._core` names, the `tfutil.Network` class, which becomes an
inert record, ordered dicts, and the helpers old protocols use for bytes and
objects, each restricted to the arguments the format uses) and refuses every
other global with an error naming it, so a crafted pickle cannot run code. The
source text is only read, to spot networks.py versions whose maths differs
from the paper release (the first TF commit's `networks.py`, a92638a, see
`RELEASE_DENSE_GAIN_SRC`).
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


def _numpy_core_attr(submodule, name):
  # numpy 2 moved numpy.core to numpy._core; pickles written by numpy 1.x name
  # the old path. Resolve both without touching the deprecated alias.
  core = getattr(np, '_core', None) or np.core  # pylint: disable=protected-access
  return getattr(getattr(core, submodule), name)


def _refuse(what):
  raise pickle.UnpicklingError(f'refusing {what}: a PGGAN network pickle never holds it. '
                               f'The file may be malicious or not a PGGAN pickle.')


def _frombuffer(buf, dtype, shape, order):
  """numpy's `_frombuffer` (protocol 5 arrays), for plain-data dtypes only."""
  if not isinstance(dtype, np.dtype) or dtype.hasobject:
    _refuse(f'an array of dtype {dtype!r} from a buffer')
  return _numpy_core_attr('numeric', '_frombuffer')(buf, dtype, shape, order)


def _latin1_encode(text, encoding):
  """`_codecs.encode`, as protocols 0-2 write bytes: `encode(str, 'latin1')` only."""
  if not isinstance(text, str) or encoding not in ('latin1', 'latin-1'):
    _refuse(f'_codecs.encode(..., {encoding!r}) (bytes are pickled with latin1)')
  return text.encode('latin1')


def _empty_bytes(*args):
  """`bytes()`, as protocols 0-2 write an empty bytes object; no other call."""
  if args:
    _refuse('builtins.bytes with arguments (only bytes() stands for b"")')
  return b''


def _network_reconstructor(cls, base, state):
  """`copyreg._reconstructor`, as protocols 0-1 create a `tfutil.Network`: only that."""
  if cls is not _NetworkRecord or base is not object or state is not None:
    _refuse(f'copyreg._reconstructor{(cls, base, state)!r:.120} (only tfutil.Network is rebuilt)')
  return object.__new__(_NetworkRecord)


# (module, name) as the pickle spells it -> the object it stands for. The
# original `misc.save_pkl` pickles with `pickle.HIGHEST_PROTOCOL`: 4 on
# Python 3.6/3.7, 5 on Python >= 3.8. What each protocol adds (arrays written
# by numpy 1.x name `numpy.core.*`, by numpy 2 `numpy._core.*`):
#   all: `tfutil.Network`, `numpy.dtype`, `numpy.ndarray` and
#        `multiarray.scalar` (numpy scalars, e.g. static kwargs);
#   0-4: `multiarray._reconstruct` (ndarray.__reduce__: the data as bytes);
#   0-2: `_codecs.encode(str, 'latin1')` for bytes, `bytes()` for b'' (in
#        Python 2 spelling, `__builtin__.bytes`, as the pickler's fix_imports
#        writes it);
#   0-1: `copyreg._reconstructor(cls, object, None)` and `object` for the
#        Network (2+ use the NEWOBJ opcode; spelt `copy_reg` / `__builtin__`);
#   5:   `numeric._frombuffer(buffer, dtype, shape, order)` (ndarray.__reduce_ex__
#        with an in-band `pickle.PickleBuffer`, stored by the BYTEARRAY8 or
#        BYTES opcodes: no global). Out-of-band buffers (a `buffer_callback`)
#        are not in the file and cannot be read from it.
# Every callable here either is a type whose construction runs no code from
# the file or is wrapped to accept only the arguments the format uses.
_ALLOWED_GLOBALS = {
    ('tfutil', 'Network'): lambda: _NetworkRecord,
    ('numpy', 'ndarray'): lambda: np.ndarray,
    ('numpy', 'dtype'): lambda: np.dtype,
    ('collections', 'OrderedDict'): lambda: collections.OrderedDict,
    ('_codecs', 'encode'): lambda: _latin1_encode,
    ('builtins', 'bytes'): lambda: _empty_bytes,
    ('__builtin__', 'bytes'): lambda: _empty_bytes,
    ('copyreg', '_reconstructor'): lambda: _network_reconstructor,
    ('copy_reg', '_reconstructor'): lambda: _network_reconstructor,
    ('builtins', 'object'): lambda: object,
    ('__builtin__', 'object'): lambda: object,
}
for _core in ('numpy.core', 'numpy._core'):
  _ALLOWED_GLOBALS.update({
      (f'{_core}.multiarray', '_reconstruct'):
          lambda: _numpy_core_attr('multiarray', '_reconstruct'),
      (f'{_core}.multiarray', 'scalar'): lambda: _numpy_core_attr('multiarray', 'scalar'),
      (f'{_core}.numeric', '_frombuffer'): lambda: _frombuffer,
  })
del _core


class SafeUnpickler(pickle.Unpickler):
  """An unpickler that resolves only `_ALLOWED_GLOBALS` (any protocol, 0 to 5)."""

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
    if 'out-of-band' in str(e):
      raise PickleFormatError(
          f'{path}: the pickle refers to out-of-band buffers (written with a '
          f'buffer_callback), which are not in the file; write the arrays in-band, as '
          f'misc.save_pkl does (pickle.dump without buffer_callback).') from None
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

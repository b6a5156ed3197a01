"""Image sources for `evaluate --reals=SOURCE --fakes=SOURCE`: anyone's images, streamed.

A SOURCE is one of

  <dataset spec>[@<split>]   any dataset the project reads (`tf_gans.data`): digits,
                             folder:<dir>, mnist_idx:<dir>, tfrecords:<dir>, tfds:<name>,
                             ...; split as in --split (default train), e.g.
                             tfds:cifar10@test, folder:~/fakes
  npz:<file>[:<key>]         a uint8 array [N, H, W(, C)] in an .npz (key: its only array,
                             else `images`, else `arr_0`), read member-wise in minibatches
  savedmodel:<dir>           a generator export (`tf_gans.export`, `tf_gans.convert`):
                             --num_samples images of its `generate` signature, --seed
  run:<dir>[@<K>]            a training run: its generator (PGGAN: Gs) at its latest
                             checkpoint, or at its snapshot K (step or kimg)

A folder holding `saved_model.pb` or a run file may be given without its prefix.
Every source yields uint8 NHWC minibatches (`batches`): memory is one minibatch,
whatever the number of images (folders are scanned by header, decoded per
minibatch; TFRecords read lazily; .npz members streamed). `check` refuses a source
that is empty, mixes image sizes, is not uint8 or holds fewer images than asked,
naming the source, before any feature is computed.
"""

import dataclasses
import os
import zipfile
from typing import Callable, Dict, Iterator, Optional, Tuple

import numpy as np

from tf_gans.registry import Registry

SOURCE_KINDS = Registry('image source')
GENERATE_CHUNK = 500  # images per `generate` call (evaluation.GENERATE_CHUNK)


@dataclasses.dataclass
class ImageSource:
  """N uint8 images [H, W, C] read in minibatches.

  Attributes:
    spec: The SOURCE as the user typed it (in messages and the result JSON).
    kind: 'dataset', 'npz' or 'generator'.
    num: Images this source gives.
    image_shape: (H, W, C).
    read: (first, count) -> uint8 [count, H, W, C], the images first..first+count-1.
    info: What produced the images (split, seed, checkpoint, ...), for the result JSON.
  """

  spec: str
  kind: str
  num: int
  image_shape: Tuple[int, int, int]
  read: Callable[[int, int], np.ndarray]
  info: Dict[str, object] = dataclasses.field(default_factory=dict)

  def batches(self, batch_size: int, start: int = 0) -> Iterator[Tuple[int, np.ndarray]]:
    """Yields (first index, uint8 [n, H, W, C]) from image `start` on."""
    for first in range(start, self.num, batch_size):
      count = min(batch_size, self.num - first)
      batch = self.read(first, count)
      if batch.dtype != np.uint8 or batch.shape != (count,) + tuple(self.image_shape):
        raise ValueError(f'{self.spec}: images {first}..{first + count - 1} are {batch.dtype} '
                         f'{batch.shape}; expected uint8 {(count,) + tuple(self.image_shape)}.')
      yield first, batch

  def describe(self) -> Dict[str, object]:
    return {'source': self.spec, 'kind': self.kind, 'num': self.num,
            'image_shape': list(self.image_shape), **self.info}


def check(source: ImageSource, need: int, what: str) -> None:
  """Refuses `source` when it holds fewer than `need` images (`what`: e.g. '--reals')."""
  if source.num < need:
    raise ValueError(f'{what}={source.spec}: holds {source.num} images; {need} are needed '
                     f'(lower the counts the metrics use, or give a larger source).')


def open_source(spec: str, num: Optional[int] = None, seed: int = 0,
                what: str = 'source', generator_num: Optional[int] = None) -> ImageSource:
  """The `ImageSource` that `spec` names; `num` is the count for generators and an upper bound
  for stored images (the first `num`); a generator without `num` gives `generator_num`
  (else it is refused); `what` names the flag in errors."""
  if not spec:
    raise ValueError(f'{what} is empty; expected a dataset spec, npz:<file>, savedmodel:<dir> or '
                     f'run:<dir>.')
  kind, arg = _kind_of(spec)
  if kind in ('savedmodel', 'run') and num is None:
    num = generator_num
  source = SOURCE_KINDS.get(kind)(spec, arg, num=num, seed=seed, what=what)
  if source.num == 0:
    raise ValueError(f'{what}={spec}: holds no images.')
  return source


def _kind_of(spec):
  prefix, colon, rest = spec.partition(':')
  if colon and prefix in ('npz', 'savedmodel', 'run'):
    return prefix, rest
  path = os.path.expanduser(spec.split('@', 1)[0])
  if os.path.isfile(os.path.join(path, 'saved_model.pb')):
    return 'savedmodel', spec
  from tf_gans import families  # pylint: disable=import-outside-toplevel
  if os.path.isdir(path) and families.is_run(path):
    return 'run', spec
  return 'dataset', spec


def _limit(total, num):
  return total if num is None else min(total, int(num))


# --------------------------------------------------------------------- datasets


@SOURCE_KINDS.register('dataset')
def _dataset(spec, arg, num=None, seed=0, what='source'):
  """A split of a registered dataset, uint8 rows as stored (scale folded in as evaluate does)."""
  del seed
  from tf_gans import data as data_lib  # pylint: disable=import-outside-toplevel
  from tf_gans.data.source import to_uint8  # pylint: disable=import-outside-toplevel
  dataset, _, split = arg.partition('@')
  split = split or 'train'
  name = data_lib.parse_spec(dataset)[0]
  if name == 'folder':
    from tf_gans.data import folder  # pylint: disable=import-outside-toplevel
    source = folder.open_folder(data_lib.parse_spec(dataset)[1])
  else:
    source = data_lib.load_source(dataset, split=split)
  images = source.images

  def read(first, count):
    return to_uint8(source, np.asarray(images[first:first + count]))
  return ImageSource(spec, 'dataset', _limit(source.num_examples, num), source.image_shape, read,
                     {'dataset': dataset, 'split': split})


# ------------------------------------------------------------------------- npz


def _npy_member(archive, key, spec):
  names = [n[:-4] for n in archive.namelist() if n.endswith('.npy')]
  if key is None:
    key = names[0] if len(names) == 1 else next((k for k in ('images', 'arr_0') if k in names),
                                                None)
    if key is None:
      raise ValueError(f'{spec}: holds arrays {", ".join(names) or "none"}; name one as '
                       f'npz:<file>:<key>.')
  if key not in names:
    raise ValueError(f'{spec}: has no array {key!r}; it holds {", ".join(names) or "none"}.')
  return key


@SOURCE_KINDS.register('npz')
def _npz(spec, arg, num=None, seed=0, what='source'):
  """A uint8 array in an .npz, its rows streamed from the zip member (never loaded whole)."""
  del seed
  path, _, key = arg.partition(':')
  path = os.path.expanduser(path)
  if not os.path.isfile(path):
    raise FileNotFoundError(f'{what}={spec}: no such file {path}.')
  try:
    archive = zipfile.ZipFile(path)
  except zipfile.BadZipFile:
    raise ValueError(f'{what}={spec}: {path} is not an .npz (zip) file.') from None
  with archive:
    key = _npy_member(archive, key or None, f'{what}={spec}')
    with archive.open(key + '.npy') as f:
      shape, fortran, dtype = _npy_header(f)
  if dtype != np.uint8:
    raise ValueError(f'{what}={spec}: array {key!r} is {dtype}; expected uint8 images on 0..255 '
                     f'(convert floats with np.rint(x * 255).clip(0, 255).astype(np.uint8)).')
  if fortran or len(shape) not in (3, 4) or (len(shape) == 4 and shape[-1] not in (1, 3)):
    raise ValueError(f'{what}={spec}: array {key!r} has shape {shape}{" (Fortran order)" * fortran};'
                     f' expected [N, H, W] or [N, H, W, C] with C 1 or 3, in C order.')
  image_shape = tuple(shape[1:]) if len(shape) == 4 else tuple(shape[1:]) + (1,)
  row_bytes = int(np.prod(image_shape))
  state = {'next': 0, 'file': None, 'archive': None}

  def read(first, count):
    # Sequential reads stream the member; a read that goes back reopens it.
    if state['file'] is None or first < state['next']:
      if state['archive'] is not None:
        state['archive'].close()
      state['archive'] = zipfile.ZipFile(path)
      state['file'] = state['archive'].open(key + '.npy')
      _npy_header(state['file'])
      state['next'] = 0
    f = state['file']
    skip = (first - state['next']) * row_bytes
    while skip > 0:
      skip -= len(f.read(min(skip, 1 << 24)))
    data = f.read(count * row_bytes)
    state['next'] = first + count
    return np.frombuffer(data, np.uint8).reshape((count,) + image_shape)
  return ImageSource(spec, 'npz', _limit(shape[0], num), image_shape, read,
                     {'file': os.path.abspath(path), 'key': key})


def _npy_header(f):
  version = np.lib.format.read_magic(f)
  if version == (1, 0):
    return np.lib.format.read_array_header_1_0(f)
  return np.lib.format.read_array_header_2_0(f)


# ------------------------------------------------------------------- generators


def _generator_source(spec, module, where, num, seed, what):
  if not num:
    raise ValueError(f'{what}={spec} is a generator: say how many images with --num_samples.')
  generate = module.signatures['generate']
  first_batch = generate(seed=seed, num=1)['images'].numpy()
  last = {}  # the chunk generated last: {first index: images}

  def chunk_at(chunk):
    if chunk not in last:
      last.clear()
      last[chunk] = generate(seed=seed + chunk, num=min(GENERATE_CHUNK, num - chunk))[
          'images'].numpy()
    return last[chunk]

  def read(first, count):
    # Chunks of GENERATE_CHUNK from image 0, the chunk at index c drawn with seed + c, as
    # `evaluate --model` draws them (evaluation.Evaluation.fakes): the same images.
    out = []
    for chunk in range(first - first % GENERATE_CHUNK, first + count, GENERATE_CHUNK):
      images = chunk_at(chunk)
      out.append(images[max(first, chunk) - chunk:min(first + count, chunk + len(images)) - chunk])
    return np.concatenate(out)
  return ImageSource(spec, 'generator', int(num), tuple(first_batch.shape[1:]), read,
                     {'generator': where, 'seed': seed})


@SOURCE_KINDS.register('savedmodel')
def _savedmodel(spec, arg, num=None, seed=0, what='source'):
  from tf_gans.models import savedmodel  # pylint: disable=import-outside-toplevel
  folder = os.path.expanduser(arg)
  if not os.path.isfile(os.path.join(folder, 'saved_model.pb')):
    raise FileNotFoundError(f'{what}={spec}: {folder} holds no saved_model.pb (a generator export '
                            f'from `tf_gans.export` or `tf_gans.convert`).')
  module = savedmodel.load_generator(folder)
  source = _generator_source(spec, module, os.path.abspath(folder), num, seed, what)
  source.info['weights_sha256'] = _folder_sha256(folder)  # the feature cache's key
  return source


def _folder_sha256(folder):
  import hashlib  # pylint: disable=import-outside-toplevel
  digest = hashlib.sha256()
  for root, dirs, files in os.walk(folder):
    dirs.sort()
    for name in sorted(files):
      path = os.path.join(root, name)
      digest.update(os.path.relpath(path, folder).encode())
      with open(path, 'rb') as f:
        for block in iter(lambda f=f: f.read(1 << 22), b''):
          digest.update(block)
  return digest.hexdigest()


@SOURCE_KINDS.register('run')
def _run(spec, arg, num=None, seed=0, what='source'):
  from tf_gans import families  # pylint: disable=import-outside-toplevel
  logdir, at, position = arg.partition('@')
  logdir = os.path.expanduser(logdir)
  if at:
    try:
      position = float(position)
    except ValueError:
      raise ValueError(f'{what}={spec}: expected run:<dir>@<snapshot step or kimg>, got '
                       f'{position!r} after @.') from None
  module, where = families.generator_module(logdir, snapshot=position if at else None)
  return _generator_source(spec, module, f'{os.path.abspath(logdir)} at {where}', num, seed, what)

"""Real image sources and deterministic, resumable tf.data pipelines.

Typical use:

  source = data.load_source('digits', 'train[:1500]')
  dataset = data.make_dataset(source, batch_size=100, seed=0,
                              value_range=(-1.0, 1.0))

Registered datasets (`DATASETS.names()`): `digits` (scikit-learn 8x8 digits,
the offline default), `mnist_idx:<dir>` (MNIST IDX files), `folder:<path>`
(a folder of images), `tfds:<name>` (a prepared TensorFlow Datasets
dataset; never downloads) and `tfrecords:<dir>` (full resolution of a
`tf_gans.dataset_tool` folder).

`make_dataset` is imported lazily so that loading sources (and CLI --help)
does not import TensorFlow.
"""

from tf_gans.data import digits
from tf_gans.data import folder
from tf_gans.data import mnist_idx
from tf_gans.data import tfds_source
from tf_gans.data import tfrecords_source
from tf_gans.data.source import ArraySource
from tf_gans.data.source import DATASETS
from tf_gans.data.source import load_source
from tf_gans.data.source import parse_spec
from tf_gans.data.source import parse_split

__all__ = [
    'ArraySource', 'DATASETS', 'load_source', 'make_dataset', 'parse_spec',
    'parse_split',
]


def __getattr__(name):
  if name == 'make_dataset':
    from tf_gans.data.pipeline import make_dataset  # pylint: disable=g-import-not-at-top
    return make_dataset
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')

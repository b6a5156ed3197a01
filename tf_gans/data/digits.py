"""The scikit-learn 8x8 digits: a tiny real image dataset that needs no network.

`sklearn.datasets.load_digits()` ships 1,797 grey 8x8 handwritten digits with
integer intensities 0..16 inside scikit-learn itself, so this is the default
dataset for offline smoke runs and tests.

The data has no official train/test split: both `train` and `test` return all
1,797 examples. Slice to hold some out, e.g. `train[:1500]` and `train[1500:]`.
"""

import numpy as np

from tf_gans.data.source import ArraySource
from tf_gans.data.source import DATASETS
from tf_gans.data.source import check_split
from tf_gans.data.source import reject_options

_MAX_VALUE = 16


@DATASETS.register('digits')
def load_digits(arg, split, **options):
  """Loads the scikit-learn digits.

  Args:
    arg: Must be None (the spec is plain 'digits').
    split: 'train' or 'test'; both are all 1,797 examples.
    **options: Unused; each must be None.

  Returns:
    An `ArraySource` with uint8 images [1797, 8, 8, 1], scale 1/16, labels.
  """
  if arg is not None:
    raise ValueError(f"Dataset 'digits' takes no argument, got {arg!r}.")
  check_split('digits', split, ('train', 'test'))
  reject_options('digits', options)
  from sklearn import datasets  # pylint: disable=g-import-not-at-top
  bunch = datasets.load_digits()
  images = bunch.images.astype(np.uint8)[..., np.newaxis]
  return ArraySource(
      name='digits',
      images=images,
      scale=1.0 / _MAX_VALUE,
      labels=bunch.target.astype(np.int64))

"""The scikit-learn 8x8 digits: a tiny real image dataset that needs no network.

`sklearn.datasets.load_digits()` ships 1,797 grey 8x8 handwritten digits with
integer intensities 0..16 inside scikit-learn itself, so this is the default
dataset for offline smoke runs and tests.

The data has no official split, so this module fixes one, deterministic, in
scikit-learn's order, with three disjoint parts (`SPLITS`):

  train       examples     0 .. 1296  (1,297)   what runs train on
  validation  examples 1,297 .. 1,496   (200)   e.g. the Parzen sigma search
  test        examples 1,497 .. 1,796   (300)   held out: no run trains on it

so that evaluating on `test` (the default of `tf_gans.evaluate`) scores digits
a run trained on `train` never saw, and choosing the Parzen kernel width on
`validation` uses no test digit, as the GAN 2014 protocol (Goodfellow et
al. 2014, section 5: sigma by cross-validation on a validation set, the
log-likelihood on the test set) does with MNIST's 50,000 / 10,000 / 10,000.
Every class is in every part (train 128-132 per class, validation 18-23,
test 27-33), and no test or validation image equals a training image. The
parts are contiguous blocks, not a shuffle: scikit-learn's file (the UCI
optdigits test set, 13 writers) gives no writer ids, so writers may be
shared between parts. `all` is the whole 1,797, for code that wants every
example (`all` contains the test digits).
"""

import numpy as np

from tf_gans.data.source import ArraySource
from tf_gans.data.source import DATASETS
from tf_gans.data.source import check_split
from tf_gans.data.source import reject_options

_MAX_VALUE = 16
NUM_EXAMPLES = 1797
SPLITS = {
    'train': slice(0, 1297),
    'validation': slice(1297, 1497),
    'test': slice(1497, NUM_EXAMPLES),
    'all': slice(0, NUM_EXAMPLES),
}


@DATASETS.register('digits')
def load_digits(arg, split, **options):
  """Loads one split of the scikit-learn digits (module docstring: the split).

  Args:
    arg: Must be None (the spec is plain 'digits').
    split: 'train' (1,297 examples), 'validation' (200), 'test' (300, held
      out) or 'all' (1,797).
    **options: Unused; each must be None.

  Returns:
    An `ArraySource` with uint8 images [n, 8, 8, 1], scale 1/16, labels.
  """
  if arg is not None:
    raise ValueError(f"Dataset 'digits' takes no argument, got {arg!r}.")
  check_split('digits', split, tuple(SPLITS))
  reject_options('digits', options)
  from sklearn import datasets  # pylint: disable=g-import-not-at-top
  bunch = datasets.load_digits()
  part = SPLITS[split]
  images = bunch.images.astype(np.uint8)[part, ..., np.newaxis]
  return ArraySource(
      name='digits',
      images=images,
      scale=1.0 / _MAX_VALUE,
      labels=bunch.target.astype(np.int64)[part])

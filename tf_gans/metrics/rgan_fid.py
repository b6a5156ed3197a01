"""FID as the RGAN reference computes it (`evaluate --metrics=fid-rgan`).

Jolicoeur-Martineau (2018) reports FID from `code/GAN_losses_iter.py`: with
--gen_extra_images it draws G(z) in batches of 100 (its BatchNorm in
training mode: the batch statistics of those 100 samples, as the reference
never calls .eval()) and writes each sample as a PNG with torchvision's
`save_image`; `code/fid_script.sh` then runs `code/fid.py` (TTUR's) on each
folder against the reals (CIFAR-10: TTUR's `fid_stats_cifar10_train.npz`;
CAT: the whole cats folder). Here:

  * `rgan_fake_batches`: one `sample(seed + first, 100)` call of the export
    per batch, quantised by `save_image_uint8` as the PNGs hold them;
  * `rgan_fid_metric`: the Frechet distance of their features (--features)
    against the statistics of the whole training split (`RGAN_FID_REAL_SPLIT`;
    --fid_stats when it exists), 50000 samples unless --num_samples is typed.

The metric is registered under its name by tf_gans.metrics.protocols; its
constraints (a multiple of 100 samples, a full-rank covariance) are checked
beforehand by tf_gans.metrics.constraints.
"""

import os
import time
from typing import Any, Dict

import numpy as np

from tf_gans.metrics.evaluation import Evaluation, Options, image_features, progress, to_uint8


RGAN_FID_BATCH = 100            # G(z) on batches of 100 (BatchNorm statistics of 100 samples)
RGAN_FID_NUM_SAMPLES = 50000    # --gen_extra_images default (stable / unstable CIFAR-10)
RGAN_FID_REAL_SPLIT = 'train'   # TTUR fid_stats_cifar10_train.npz; CAT: the whole cats folder
# torchvision's save_image added + 0.5 (rounding) only in 2019 (pytorch/vision PR 754); the
# reference's 2018 runs (PyTorch 0.4.1, torchvision 0.2.1) truncated: byte(clamp(255 x)).
RGAN_SAVE_IMAGE_ADDS_HALF = False


def save_image_uint8(unit, add_half: bool = RGAN_SAVE_IMAGE_ADDS_HALF) -> np.ndarray:
  """Pixels as torchvision `save_image` writes a float image `unit` (the reference's x*.5+.5).

  float32 x * 255 (+ 0.5 from torchvision 0.3 on), clamped to [0, 255], then `.byte()`:
  truncated toward zero. The reference: `code/GAN_losses_iter.py`, the gen_extra_images loop,
  `vutils.save_image((fake_test[ext_i].data*.50)+.50, ..., normalize=False, padding=0)`.
  """
  x = np.asarray(unit, np.float32) * np.float32(255.0)
  if add_half:
    x = x + np.float32(0.5)
  return np.clip(x, 0.0, 255.0).astype(np.uint8)


def rgan_fake_batches(module, num: int, seed: int):
  """Yields uint8 batches of exactly 100 samples: one `sample(seed + first, 100)` call each.

  The export's `sample` runs G once on `num` latents, so its BatchNorm (always batch
  statistics, as the reference never calls .eval()) sees the 100 samples of the batch, as
  the reference's `G(z_extra)` with z_extra of shape (100, z_size, 1, 1).
  """
  if module is None:
    raise ValueError('this metric needs --model=<generator SavedModel>.')
  if num % RGAN_FID_BATCH:
    raise ValueError(f'fid-rgan draws G in batches of {RGAN_FID_BATCH} (the reference\'s '
                     f'gen_extra_images "must be a multiple of 100"); got --num_samples={num}.')
  sample = module.signatures['sample']
  for first in range(0, num, RGAN_FID_BATCH):
    yield save_image_uint8(sample(seed=seed + first, num=RGAN_FID_BATCH)['images'].numpy())


def rgan_fid_num_samples(options: Options) -> int:
  """--num_samples when typed (Options.num_images), else the reference's 50000."""
  return options.num_images or RGAN_FID_NUM_SAMPLES


def _rgan_real_statistics(ev: Evaluation):
  from tf_gans.metrics import fid  # pylint: disable=import-outside-toplevel
  path = ev.opt.fid_stats
  if path and os.path.exists(path):
    return fid.load_statistics(path), f'{path} (cached)'
  source = ev.source(RGAN_FID_REAL_SPLIT)
  acc, d, start = fid.StatisticsAccumulator(), 0, time.perf_counter()
  for first in range(0, source.num_examples, 1000):
    features = image_features(ev, to_uint8(source, source.images[first:first + 1000]))
    d = features.shape[1]
    acc.update(features)
    progress(f'real statistics ({RGAN_FID_REAL_SPLIT})', acc.count, source.num_examples, start,
             ev.opt.progress)
  if acc.count <= d:
    raise ValueError(f'FID needs more real images than feature dimensions: {acc.count} <= {d}.')
  stats = acc.result()
  if path:
    fid.save_statistics(path, *stats)
  return stats, f'{ev.opt.data} {RGAN_FID_REAL_SPLIT} (all {acc.count})'


def rgan_fid_metric(ev: Evaluation) -> Dict[str, Any]:
  """FID as the RGAN reference: 50000 samples (or --num_samples) of G in batches of 100,
  quantised as its saved PNGs, against the statistics of the whole training split (--fid_stats
  when it exists, as its fid_script.sh reads the TTUR fid_stats_cifar10_train.npz; CAT: every
  image of the cats folder). `code/GAN_losses_iter.py` (gen_extra_images), `code/fid.py`.
  --split and --num_reals are not read."""
  from tf_gans.metrics import fid  # pylint: disable=import-outside-toplevel
  (mu_r, sigma_r), reals_from = _rgan_real_statistics(ev)
  num = rgan_fid_num_samples(ev.opt)
  acc, d, start = fid.StatisticsAccumulator(), 0, time.perf_counter()
  for images in rgan_fake_batches(ev.module, num, ev.opt.seed):
    features = image_features(ev, images)
    d = features.shape[1]
    acc.update(features)
    progress('generated features', acc.count, num, start, ev.opt.progress)
  if acc.count <= d:
    raise ValueError(f'FID needs more generated images than feature dimensions: {acc.count} <= '
                     f'{d} (raise --num_samples).')
  mu_g, sigma_g = acc.result()
  return {'fid': fid.frechet_distance(mu_r, sigma_r, mu_g, sigma_g), 'reals': reals_from,
          'num_samples': num, 'batch': RGAN_FID_BATCH, 'features': ev.opt.features}

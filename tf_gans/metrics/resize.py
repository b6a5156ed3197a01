"""How images reach the Inception's 299x299 input: `--resize=legacy_tf | clean`.

  legacy_tf  The TTUR / StyleGAN graph's own resize: images go in at their size and the
             graph's ResizeBilinear (TF 2015: align_corners=False, no half-pixel centres)
             makes them 299x299 (`inception.preprocess`). Aliased when it shrinks, but it
             is what the FID numbers of the papers (TTUR, PGGAN, RGAN) were computed with:
             the default, and what the papers' protocols use.
  clean      clean-fid's resize (Parmar, Zhang and Zhu, "On Aliased Resizing and Surprising
             Subtleties in GAN Evaluation", CVPR 2022, Sec. 4): each channel as a float32
             PIL image (mode 'F'), PIL bicubic with its antialiasing filter to 299x299,
             clipped to [0, 255], no quantisation; grayscale is made RGB first, as clean-fid
             opens every file with `.convert('RGB')`. The graph's resize is then the identity.
             Numbers comparable with clean-fid's `mode="clean"`.

Written from the paper's description and clean-fid's documented behaviour (its
`resize.make_resizer("PIL", False, "bicubic", (299, 299))`); tests check equality with
clean-fid's own function where the package is installed.
"""

import numpy as np
from PIL import Image

from tf_gans.registry import Registry

RESIZE_MODES = Registry('resize mode')
INPUT_SIZE = 299  # the Inception's input (inception.INPUT_SIZE)


@RESIZE_MODES.register('legacy_tf')
def legacy_tf(batch):
  """The identity: the Inception graph resizes (ResizeBilinear, TF 2015 semantics)."""
  return batch


def _as_rgb(batch):
  batch = np.asarray(batch)
  if batch.ndim == 3:
    batch = batch[..., np.newaxis]
  if batch.ndim != 4 or batch.shape[-1] not in (1, 3):
    raise ValueError(f'images must be NHWC with 1 or 3 channels (or [N, H, W] grayscale), got '
                     f'shape {batch.shape}.')
  return np.repeat(batch, 3, axis=-1) if batch.shape[-1] == 1 else batch


def _resize_channel(channel, size):
  image = Image.fromarray(np.asarray(channel, np.float32), mode='F')
  return np.asarray(image.resize((size, size), resample=Image.BICUBIC), np.float32)


@RESIZE_MODES.register('clean')
def clean(batch, size=INPUT_SIZE):
  """[N, H, W, C] images on [0, 255] -> float32 [N, size, size, 3], clean-fid's resize."""
  batch = _as_rgb(batch)
  out = np.empty([len(batch), size, size, 3], np.float32)
  for i, image in enumerate(batch):
    for c in range(3):
      out[i, :, :, c] = _resize_channel(image[:, :, c], size)
  return np.clip(out, 0.0, 255.0)


def get(mode):
  """The resize function `mode` names; a ValueError lists the modes otherwise."""
  if mode not in RESIZE_MODES:
    raise ValueError(f'--resize={mode}: unknown; expected one of '
                     f'{", ".join(RESIZE_MODES.names())}.')
  return RESIZE_MODES.get(mode)

"""What the PGGAN reference's `util_scripts.py` makes from a trained Gs, from
a SavedModel export (ours or a converted original pickle).

  * `fake_image_grid`: `generate_fake_images` (a grid, optionally shrunk by
    an image_shrink x image_shrink box filter, i.e. `tfutil.py`
    `Network.run(out_shrink=)`: the way the reference shows Gs at a lower
    resolution).
  * `interpolation_frames`: `generate_interpolation_video`. One latent per
    frame and grid cell, N(0, 1) from the seed, smoothed along time with a
    Gaussian of sigma = smoothing_sec * fps frames, wrapping around (so the
    clip loops), then rescaled so the whole latent array has unit RMS, as the
    reference does after its `scipy.ndimage.gaussian_filter(mode='wrap')`.
  * `training_frames`: `generate_training_video`. The run's snapshot grids
    (`fakesKKKKKK.png`, or our `samples/step_*.png`) played back with the
    frame at time t showing the latest snapshot at training progress
    (t / duration) ** time_warp, so the early, fast-changing part of training
    gets more frames (time_warp 1.5 as the reference's default).

The reference writes MP4 through moviepy; we write animated GIFs with Pillow
(no extra dependency, viewable everywhere). GIF frame delays are multiples
of 10 ms, so `fps` is rounded to 100 / round(100 / fps).
"""

import glob
import os
import re

import numpy as np
from PIL import Image
from scipy import ndimage

from tf_gans.training import images as image_utils

SNAPSHOT_PATTERNS = ('fakes*.png', os.path.join('samples', 'step_*.png'))


def _signature_inputs(module):
  """(latent_dim, label_size) of a generator SavedModel's serving signature."""
  specs = module.signatures['serving_default'].structured_input_signature[1]
  latent_dim = int(specs['latents'].shape[-1])
  label_size = int(specs['labels'].shape[-1]) if 'labels' in specs else 0
  return latent_dim, label_size


def _labels_for(num, label_size, rng):
  """One-hot labels drawn uniformly (the reference feeds random labels to conditional Gs)."""
  labels = np.zeros([num, label_size], np.float32)
  labels[np.arange(num), rng.randint(label_size, size=num)] = 1.0
  return labels


def run_generator(module, latents, batch_size=8, image_shrink=1, rng=None):
  """Gs.run: latents [N, latent_dim] -> uint8 NHWC, in minibatches, optionally shrunk."""
  latent_dim, label_size = _signature_inputs(module)
  latents = np.asarray(latents, np.float32)
  if latents.ndim != 2 or latents.shape[1] != latent_dim:
    raise ValueError(f'the generator takes latents of shape [N, {latent_dim}], got {latents.shape}.')
  rng = rng or np.random.RandomState(0)
  labels = _labels_for(len(latents), label_size, rng) if label_size else None
  value_range = tuple(float(v) for v in module.value_range.numpy())
  serve = module.signatures['serving_default']
  out = []
  for start in range(0, len(latents), batch_size):
    inputs = {'latents': latents[start:start + batch_size]}
    if labels is not None:
      inputs['labels'] = labels[start:start + batch_size]
    out.append(image_utils.to_uint8(serve(**inputs)['images'].numpy(), value_range))
  return shrink(np.concatenate(out), image_shrink)


def shrink(images_uint8, factor):
  """Box-filter downscale by `factor` (avg_pool VALID, then rounded), as out_shrink."""
  if factor == 1:
    return images_uint8
  n, h, w, c = images_uint8.shape
  if factor < 1 or h % factor or w % factor:
    raise ValueError(f'image_shrink must divide the image size {h}x{w}, got {factor}.')
  x = images_uint8.astype(np.float32).reshape(n, h // factor, factor, w // factor, factor, c)
  return np.clip(np.rint(x.mean(axis=(2, 4))), 0, 255).astype(np.uint8)


def shrink_for_resolution(image_size, resolution):
  """The image_shrink factor that shows `image_size` images at `resolution`."""
  if not resolution:
    return 1
  if resolution > image_size or image_size % resolution or (image_size // resolution) & (
      image_size // resolution - 1):
    raise ValueError(f'--resolution must be the generator\'s size {image_size} divided by a '
                     f'power of 2, got {resolution}.')
  return image_size // resolution


def fake_image_grid(module, num, seed, image_shrink=1, batch_size=8):
  """generate_fake_images: `num` images from N(0, 1) latents of `seed`, as one grid."""
  rng = np.random.RandomState(seed)
  latent_dim, _ = _signature_inputs(module)
  latents = rng.randn(num, latent_dim)
  return image_utils.grid(run_generator(module, latents, batch_size, image_shrink, rng))


def interpolation_latents(num_frames, grid_cells, latent_dim, seed, smoothing_frames):
  """[num_frames, grid_cells, latent_dim]: smoothed, looping, unit-RMS latent paths."""
  rng = np.random.RandomState(seed)
  latents = rng.randn(num_frames, grid_cells, latent_dim)
  if smoothing_frames > 0:
    latents = ndimage.gaussian_filter(latents, [smoothing_frames, 0, 0], mode='wrap')
  return latents / np.sqrt(np.mean(np.square(latents)))


def interpolation_frames(module, grid_cells=1, duration_sec=4.0, fps=10, smoothing_sec=1.0,
                         seed=1000, image_shrink=1, batch_size=8, progress=None):
  """generate_interpolation_video: a list of uint8 grids, one per frame."""
  num_frames = max(1, int(round(duration_sec * fps)))
  latent_dim, _ = _signature_inputs(module)
  latents = interpolation_latents(num_frames, grid_cells, latent_dim, seed, smoothing_sec * fps)
  frames = []
  for t in range(num_frames):
    # The same label stream every frame: a conditional Gs morphs within each cell's class.
    rng = np.random.RandomState(seed)
    frames.append(image_utils.grid(run_generator(module, latents[t], batch_size, image_shrink, rng)))
    if progress:
      progress(t + 1, num_frames)
  return frames


def snapshot_files(run_dir):
  """The run's snapshot grids in training order; error if there are none."""
  for pattern in SNAPSHOT_PATTERNS:
    files = glob.glob(os.path.join(run_dir, pattern))
    if files:
      return sorted(files, key=_training_position)
  raise FileNotFoundError(f'{run_dir} has no snapshot grids (looked for '
                          f'{" and ".join(SNAPSHOT_PATTERNS)}).')


def _training_position(path):
  """Sort key: the numbers in the file name (kimg[.images] or step)."""
  return tuple(int(n) for n in re.findall(r'\d+', os.path.basename(path)))


def training_frames(run_dir, duration_sec=20.0, fps=10, time_warp=1.5):
  """generate_training_video: snapshot grid per frame, time warped towards the start."""
  files = snapshot_files(run_dir)
  num_frames = max(1, int(round(duration_sec * fps)))
  positions = np.array([float(_training_position(f)[0]) for f in files])
  last = positions[-1] if positions[-1] > 0 else 1.0
  frames, cache = [], {}
  for t in range(num_frames):
    progress = (t / max(1, num_frames - 1)) ** time_warp * last
    index = int(np.searchsorted(positions, progress, side='right')) - 1
    index = max(0, index)
    if index not in cache:
      cache[index] = np.asarray(Image.open(files[index]).convert('RGB'))
    frames.append(cache[index])
  return frames


def save_gif(frames, path, fps=10, upscale=1):
  """Writes uint8 HWC frames as a looping animated GIF."""
  if not frames:
    raise ValueError('no frames to write.')
  pictures = []
  for frame in frames:
    img = frame[..., 0] if frame.ndim == 3 and frame.shape[-1] == 1 else frame
    if upscale > 1:
      img = np.repeat(np.repeat(img, upscale, axis=0), upscale, axis=1)
    pictures.append(Image.fromarray(img))
  delay_ms = 10 * max(1, int(round(100.0 / fps)))
  tmp = path + '.tmp.gif'
  pictures[0].save(tmp, save_all=True, append_images=pictures[1:], duration=delay_ms, loop=0)
  os.replace(tmp, path)
  return len(pictures)

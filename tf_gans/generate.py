"""Images from an exported generator, and the PGGAN reference's utility-script outputs.

  python -m tf_gans.generate --model=<export dir> --num=64 --out=grid.png [--seed=0]
  python -m tf_gans.generate --model=<run folder> --num=64 --out=grid.png   (its latest checkpoint)
  python -m tf_gans.generate --model=<Gs export> --num=16 --resolution=256 --out=grid.png
  python -m tf_gans.generate --model=<Gs export> --mode=interpolation --grid=2 --out=walk.gif
  python -m tf_gans.generate --mode=training --run=<run folder> --out=progress.gif
  python -m tf_gans.generate --model=<export or run> --mode=pngs --num=50000 --out=fakes/

`grid` needs only the SavedModel (its `generate` signature, or, with
--resolution, `serving_default` and N(0, 1) latents as the reference's
generate_fake_images). `interpolation` and `training` are the reference's
generate_interpolation_video and generate_training_video, written as GIFs
(tf_gans/animations.py). `pngs` writes each sample as a lossless PNG in one flat
folder (`000000.png`, ...), the input pytorch-fid, clean-fid and torch-fidelity
read and `evaluate --fakes=folder:<dir>` takes; it is written beside its final
name and renamed in when complete, with a `generate.json` saying what made it.
"""

import sys

from absl import flags

from tf_gans import cli

MODES = ('grid', 'interpolation', 'training', 'pngs')

flags.DEFINE_enum('mode', 'grid', MODES,
                  'grid: one PNG of --num samples; interpolation: a looping GIF of smooth latent-'
                  'space walks (--grid x --grid cells); training: a GIF of the run\'s snapshot grids; '
                  'pngs: --num samples as PNG files in the folder --out.')
flags.DEFINE_string('model', None, 'Generator SavedModel folder (a run\'s export/generator, or '
                    'a converted PGGAN\'s Gs_savedmodel), or a training run folder (its '
                    'generator, PGGAN Gs, at its latest checkpoint). Needed by grid and '
                    'interpolation.')
flags.DEFINE_string('run', None, 'Training run folder (its fakes*.png or samples/step_*.png); '
                    'for --mode=training.')
flags.DEFINE_integer('num', 64, 'grid, pngs: number of images.')
flags.DEFINE_string('out', None, 'Output path (.png for grid, .gif for the animations, a new '
                    'folder for pngs).')
flags.DEFINE_integer('seed', None, 'Noise seed (the same seed gives the same images); default 0 '
                     'for grid, 1000 (the reference\'s) for interpolation.')
flags.DEFINE_integer('upscale', 0, 'Enlarge the output by this factor (0: to about 256 px).')
flags.DEFINE_integer('resolution', 0, 'Show the images at this resolution (the generator\'s size '
                     'divided by a power of 2; box filter, as the reference\'s image_shrink).')
flags.DEFINE_integer('grid', 1, 'interpolation: cells per side of the animated grid.')
flags.DEFINE_float('duration_sec', None, 'Animation length in seconds (default: 4 for '
                   'interpolation, 20 for training, the reference\'s 60 / 20 at 30 fps is large).')
flags.DEFINE_float('fps', 10.0, 'Animation frames per second.')
flags.DEFINE_float('smoothing_sec', 1.0, 'interpolation: Gaussian smoothing of the latent path, '
                   'in seconds (the reference\'s default).')
flags.DEFINE_float('time_warp', 1.5, 'training: frame t shows progress (t / duration) ** time_warp '
                   '(the reference\'s default).')
flags.DEFINE_integer('batch_size', 8, 'Generator minibatch.')
flags.register_validator('num', lambda n: n >= 1, message='--num must be >= 1.')
flags.register_validator('grid', lambda n: n >= 1, message='--grid must be >= 1.')
flags.register_validator('fps', lambda f: 0 < f <= 100, message='--fps must be in (0, 100].')
flags.register_validator('batch_size', lambda n: n >= 1, message='--batch_size must be >= 1.')
FLAGS = flags.FLAGS


def _check_flags():
  if FLAGS.mode == 'training':
    if not FLAGS.run:
      raise ValueError('--mode=training needs --run=<training run folder>.')
    if FLAGS.model:
      raise ValueError('--mode=training reads snapshot grids from --run; --model is not used.')
  elif not FLAGS.model:
    raise ValueError(f'--mode={FLAGS.mode} needs --model=<generator SavedModel folder>.')
  elif FLAGS.run:
    raise ValueError('--run is only for --mode=training.')
  if FLAGS.duration_sec is not None and FLAGS.duration_sec <= 0:
    raise ValueError(f'--duration_sec must be > 0, got {FLAGS.duration_sec}.')
  if FLAGS.mode == 'pngs':
    if not FLAGS.out:
      raise ValueError('--mode=pngs needs --out=<new folder for the PNG files>.')
    if FLAGS.resolution:
      raise ValueError('--resolution is for grid and interpolation; pngs writes the generator\'s '
                       'full-resolution images.')
    return FLAGS.out.rstrip('/') or '/'
  suffix = '.png' if FLAGS.mode == 'grid' else '.gif'
  out = FLAGS.out or ('grid.png' if FLAGS.mode == 'grid' else f'{FLAGS.mode}.gif')
  if not out.lower().endswith(suffix):
    raise ValueError(f'--out for --mode={FLAGS.mode} must end in {suffix}, got {out}.')
  return out


def _image_size(module):
  return int(module.signatures['serving_default'].structured_outputs['images'].shape[1])


def _frame_progress():
  """A `(done, total)` callback writing 'frames: done/total' through `tf_gans.progress`."""
  from tf_gans import progress  # pylint: disable=import-outside-toplevel
  bar = []

  def report(done, total):
    if not bar:
      bar.append(progress.Progress('frames', total, stream=sys.stdout))
    bar[0].update(done)
  return report


def write_pngs(module, num, out, seed, batch_size):
  """Writes `num` samples of `module` as `out/000000.png`...; returns the folder.

  Batch k is the export's `generate(seed=seed + k, num)`: the images depend on
  --seed and --batch_size, both recorded in `out/generate.json`. The folder is
  written beside its final name and renamed in (never half written); an
  existing --out is refused.
  """
  # pylint: disable=import-outside-toplevel
  import json
  import os
  from tf_gans import atomic
  from tf_gans import progress
  from tf_gans.training import images
  counter = progress.Progress(f'Writing {out}', num, 'images')
  digits = max(6, len(str(num - 1)))
  with atomic.AtomicFolder(out, overwrite=False) as tmp:
    done = 0
    for k, first in enumerate(range(0, num, batch_size)):
      count = min(batch_size, num - first)
      batch = module.signatures['generate'](seed=seed + k, num=count)['images'].numpy()
      for i, image in enumerate(batch):
        images.save_png(image, os.path.join(tmp, f'{first + i:0{digits}d}.png'))
      done += count
      counter.update(done)
    with open(os.path.join(tmp, 'generate.json'), 'w') as f:
      json.dump({'model': os.path.abspath(FLAGS.model), 'num': num, 'seed': seed,
                 'batch_size': batch_size, 'batch_seeds': 'seed + batch index',
                 'shape': list(batch.shape[1:])}, f, indent=2)
  return out


def main(argv):
  del argv
  # pylint: disable=import-outside-toplevel
  from tf_gans import animations
  from tf_gans import families
  from tf_gans.models import savedmodel
  from tf_gans.training import images
  try:
    out = _check_flags()
    module = None
    if families.is_run(FLAGS.model):  # a run folder: its latest checkpoint, through its family
      module, where = families.generator_module(FLAGS.model)
      print(f'{FLAGS.model}: the generator at {where} (its latest checkpoint).')
    elif FLAGS.model:
      module = savedmodel.load_generator(FLAGS.model)
    if FLAGS.mode == 'pngs':
      write_pngs(module, FLAGS.num, out, 0 if FLAGS.seed is None else FLAGS.seed, FLAGS.batch_size)
      print(f'Wrote {FLAGS.num} PNG files to {out}/.')
      return
    shrink = animations.shrink_for_resolution(_image_size(module), FLAGS.resolution) if module else 1
    if FLAGS.mode == 'grid':
      seed = 0 if FLAGS.seed is None else FLAGS.seed
      if FLAGS.resolution:
        grid = animations.fake_image_grid(module, FLAGS.num, seed, shrink, FLAGS.batch_size)
      else:
        batch = module.signatures['generate'](seed=seed, num=FLAGS.num)['images'].numpy()
        grid = images.grid(batch)
      upscale = FLAGS.upscale or max(1, 256 // max(grid.shape[:2]))
      images.save_png(grid, out, upscale=upscale)
      print(f'Wrote {FLAGS.num} samples to {out}.')
      return
    if FLAGS.mode == 'interpolation':
      frames = animations.interpolation_frames(
          module, FLAGS.grid**2, FLAGS.duration_sec or 4.0, FLAGS.fps, FLAGS.smoothing_sec,
          1000 if FLAGS.seed is None else FLAGS.seed, shrink, FLAGS.batch_size,
          _frame_progress())
    else:
      frames = animations.training_frames(FLAGS.run, FLAGS.duration_sec or 20.0, FLAGS.fps,
                                          FLAGS.time_warp)
  except cli.USER_ERRORS as e:
    cli.fail(e)
  upscale = FLAGS.upscale or max(1, 256 // max(frames[0].shape[:2]))
  count = animations.save_gif(frames, out, FLAGS.fps, upscale)
  print(f'Wrote {count} frames to {out}.')


if __name__ == '__main__':
  cli.run(main)

"""Sample a grid from an exported generator:
`python -m tf_gans.generate --model=<export dir> --num=64 --out=grid.png [--seed=0]`.

Needs only the SavedModel (its `generate` signature), not the run that made it.
"""

from absl import app
from absl import flags

from tf_gans import cli

flags.DEFINE_string('model', None, 'Generator SavedModel folder (a run\'s export/generator).')
flags.DEFINE_integer('num', 64, 'Number of images.')
flags.DEFINE_string('out', 'grid.png', 'Output PNG path.')
flags.DEFINE_integer('seed', 0, 'Noise seed (the same seed gives the same images).')
flags.DEFINE_integer('upscale', 0, 'Enlarge the grid by this factor (0: to about 256 px).')
flags.mark_flag_as_required('model')
flags.register_validator('num', lambda n: n >= 1, message='--num must be >= 1.')
FLAGS = flags.FLAGS


def main(argv):
  del argv
  from tf_gans.training import export, images  # pylint: disable=import-outside-toplevel
  try:
    module = export.load_generator(FLAGS.model)
  except cli.USER_ERRORS as e:
    cli.fail(e)
  batch = module.signatures['generate'](seed=FLAGS.seed, num=FLAGS.num)['images'].numpy()
  grid = images.grid(batch)
  upscale = FLAGS.upscale or max(1, 256 // max(grid.shape[:2]))
  images.save_png(grid, FLAGS.out, upscale=upscale)
  print(f'Wrote {FLAGS.num} samples to {FLAGS.out}.')


if __name__ == '__main__':
  app.run(main)

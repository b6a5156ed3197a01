"""Export a run's generator: `python -m tf_gans.export --logdir=<run> --out=<dir> [--overwrite]`.

Rebuilds the run's generator from `<logdir>/run.json` (any family: GAN / RGAN
G, PGGAN Gs), restores it from the latest (or `--checkpoint`) checkpoint, finished
or not, or from a snapshot (`--snapshot=K`), and writes the SavedModel atomically.
"""

from absl import flags

from tf_gans import cli

flags.DEFINE_string('logdir', None, 'Run folder written by tf_gans.train, or a folder '
                    'written by tf_gans.convert (exports its Gs).')
flags.DEFINE_string('out', None, 'Folder to write the SavedModel to.')
flags.DEFINE_string('checkpoint', None, 'Checkpoint prefix (default: the run\'s latest).')
flags.DEFINE_float('snapshot', None, 'Export the run\'s snapshot at this step (GAN / RGAN) or '
                   'kimg (PGGAN) instead of a checkpoint (snapshots/, see evaluate --run).')
flags.DEFINE_bool('overwrite', False, 'Replace --out if it exists.')
flags.mark_flags_as_required(['logdir', 'out'])
FLAGS = flags.FLAGS


def main(argv):
  del argv
  cli.quiet_logs()  # the SavedModel writer's INFO notes (signature input names) are not news
  from tf_gans import families  # pylint: disable=import-outside-toplevel
  try:
    path, where = families.export_run(FLAGS.logdir, FLAGS.out, checkpoint=FLAGS.checkpoint,
                                      overwrite=FLAGS.overwrite, snapshot=FLAGS.snapshot)
  except cli.USER_ERRORS as e:
    cli.fail(e)
  what = 'the converted Gs' if where is None else f'the generator at {where}'
  print(f'Exported {what} to {path}.')


if __name__ == '__main__':
  cli.run(main)

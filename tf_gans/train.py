"""Train a GAN: `python -m tf_gans.train --flagfile=configs/quickstart.cfg [--flag=value ...]`.

Flags are listed by `--helpfull`; see `tf_gans/flags.py`.
"""

import sys

from absl import app
from absl import logging

from tf_gans import cli
from tf_gans import cli as cli_lib
from tf_gans import flags as tf_gans_flags
from tf_gans.progressive import flags as progressive_flags

PGGAN = 'pggan'

tf_gans_flags.define_train_flags()
progressive_flags.define_progressive_flags()


def main(argv):
  if len(argv) > 1:
    cli.fail(ValueError(f'unexpected arguments {argv[1:]}; flags take the form --name=value.'))
  if tf_gans_flags.FLAGS.model == PGGAN:
    return train_progressive()
  from tf_gans.training import loop  # pylint: disable=import-outside-toplevel
  from tf_gans.training.checkpoint import DivergenceError  # pylint: disable=import-outside-toplevel
  cfg, explicit = tf_gans_flags.run_config_from_flags()
  for line in tf_gans_flags.describe_overrides(tf_gans_flags.flagfile_overrides(sys.argv)):
    logging.warning(line)
  try:
    result = loop.train(cfg, resume=tf_gans_flags.FLAGS.resume, explicit=explicit)
  except DivergenceError as e:
    sys.stderr.write(f'\nerror: {e}\n')
    sys.exit(1)
  except cli.USER_ERRORS as e:
    cli.fail(e)
  if result.interrupted:
    sys.exit(130)


def train_progressive():
  """`--model=pggan`: progressive growing (tf_gans.progressive)."""
  from tf_gans.progressive import cli  # pylint: disable=import-outside-toplevel
  FLAGS = tf_gans_flags.FLAGS  # pylint: disable=invalid-name
  not_for_pggan = [name for name in tf_gans_flags.gan_only_flags() if FLAGS[name].present]
  if not_for_pggan:
    cli_lib.fail(ValueError(
        f'--model=pggan does not use {", ".join("--" + n for n in not_for_pggan)}; its run is '
        f'set by the PGGAN flags (--total_kimg, --minibatch_dict, --G_lrate_dict, ...).'))
  try:
    cfg, _ = progressive_flags.progressive_config_from_flags()
    result = cli.run(cfg, resume=FLAGS.resume, smoke=FLAGS.smoke, resolution=FLAGS.resolution)
  except cli.ERRORS as e:
    cli_lib.fail(e)
  if result.interrupted:
    sys.exit(130)


if __name__ == '__main__':
  app.run(main)

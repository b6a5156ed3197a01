"""Train a GAN: `python -m tf_gans.train --flagfile=configs/quickstart.cfg [--flag=value ...]`.

Flags are listed by `--helpfull`; see `tf_gans/flags.py`.
"""

import sys

from absl import app
from absl import logging

from tf_gans import cli
from tf_gans import flags as tf_gans_flags

tf_gans_flags.define_train_flags()


def main(argv):
  if len(argv) > 1:
    cli.fail(ValueError(f'unexpected arguments {argv[1:]}; flags take the form --name=value.'))
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


if __name__ == '__main__':
  app.run(main)

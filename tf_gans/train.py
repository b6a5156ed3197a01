"""Train a model: `python -m tf_gans.train --flagfile=configs/quickstart.cfg [--flag=value ...]`.

Continue any run with `python -m tf_gans.train --resume --logdir=DIR`. The
main flags are listed by `--help`, all of them by `--helpfull`; see
`tf_gans/flags.py` (one flag per field of the run configs). Which family trains
the model (GAN / RGAN or PGGAN) is `tf_gans.families`'; every family runs
through `tf_gans.training.run`.

Without a flag file, `--model=pggan` takes the original train.py's (and networks.py's)
defaults, not config.py's v2-1gpu preset: that is configs/pggan_1024.cfg.
"""

import sys

from absl import flags

from tf_gans import cli
from tf_gans import flags as tf_gans_flags

tf_gans_flags.define_train_flags()
flags.adopt_module_key_flags(tf_gans_flags)  # --help lists the train flags
FLAGS = flags.FLAGS


def main(argv):
  if len(argv) > 1:
    cli.fail(ValueError(f'unexpected arguments {argv[1:]}; flags take the form --name=value.'))
  cli.quiet_logs(FLAGS.tf_log)
  from tf_gans.training import interrupts  # pylint: disable=import-outside-toplevel
  interrupts.take_stop_signals()  # a run stopped by Ctrl-C / SIGTERM saves, exits 130
  # pylint: disable=import-outside-toplevel
  from tf_gans import families
  from tf_gans.training import run
  from tf_gans.training.checkpoint import DIVERGENCE_EXIT_STATUS, DivergenceError
  try:
    family = families.select(FLAGS.logdir, FLAGS.resume, FLAGS.model, FLAGS['model'].present)
    unused = tf_gans_flags.unused_flags(family.config_class, also=family.cli_options + ('model',))
    if unused:
      raise ValueError(f'--model={FLAGS.model} ({family.name} training) does not use '
                       f'{", ".join("--" + n for n in unused)}; see --helpfull for its flags.')
    cfg, explicit = tf_gans_flags.config_from_flags(family.config_class)
    for line in tf_gans_flags.describe_overrides(tf_gans_flags.flagfile_overrides(sys.argv)):
      sys.stderr.write(f'note: {line}\n')
    options = {n: FLAGS[n].value for n in family.cli_options}
    result = run.train(family.trainer_class, cfg, FLAGS.resume, explicit, print, **options)
  except run.StoppedDuringExport as e:  # the run is finished; its final checkpoint is saved
    sys.stderr.write(f'\n{e}\n')
    sys.exit(cli.INTERRUPTED_EXIT_STATUS)
  except KeyboardInterrupt:  # outside the training steps (set-up or the final export)
    sys.stderr.write(f'\n{_stopped_outside_training(FLAGS.logdir)}\n')
    sys.exit(cli.INTERRUPTED_EXIT_STATUS)
  except DivergenceError as e:
    sys.stderr.write(f'\nerror: {e}\n')
    sys.exit(DIVERGENCE_EXIT_STATUS)
  except cli.USER_ERRORS as e:
    cli.fail(e)
  if result.interrupted:
    sys.exit(cli.INTERRUPTED_EXIT_STATUS)


def _stopped_outside_training(logdir):
  """The line for a stop outside the training steps: the checkpoint kept (file and
  position, as a stop inside them says) and how to go on."""
  from tf_gans.training import lifecycle  # pylint: disable=import-outside-toplevel
  from tf_gans.training import runfile  # pylint: disable=import-outside-toplevel
  if not logdir:
    return 'Stopped outside the training steps; nothing was written; start it again.'
  again = (f'continue with: {runfile.resume_command(logdir)}' if runfile.locate(logdir)[0]
           else 'start it again')
  return f'Stopped outside the training steps; {lifecycle.kept_checkpoint(logdir)}; {again}'


if __name__ == '__main__':
  cli.protect_output()
  cli.sigterm_as_keyboard_interrupt()  # set-up and export stop like Ctrl-C, with a message
  cli.run(main)

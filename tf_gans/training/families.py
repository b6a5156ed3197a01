"""Training families: which stack trains a model, with which config.

  gan    GAN 2014 / RGAN nets (mlp2014, standard_cnn_32, dcgan_*): `RunConfig`,
         `tf_gans.gan.loop` (Keras `fit` over `tf_gans.gan.GAN.train_step`)
  pggan  progressive growing (pggan): `ProgressiveConfig`,
         `tf_gans.progressive.loop` (schedule rounds over `ProgressiveTrainer`)

Both run inside the same life (`tf_gans.training.lifecycle`: run file,
resume, signals, divergence, monitoring, export). `tf_gans.train` picks the
family from the run file on `--resume`, else from `--model`
(`tf_gans.models.family`). A new progressive architecture (a StyleGAN-like
generator) registers its nets as a model whose builder says
`family = 'pggan'` when it trains with the PGGAN schedule, or registers a
family of its own here with its config and loop.
"""

import dataclasses
from typing import Callable

from tf_gans import models
from tf_gans.progressive import flags as progressive_flags
from tf_gans.progressive.config import ProgressiveConfig
from tf_gans.registry import Registry
from tf_gans.training import runfile
from tf_gans.gan.config import RunConfig

FAMILIES = Registry('training family')


@dataclasses.dataclass(frozen=True)
class Family:
  """A training stack.

  Attributes:
    config_class: its run config (a `RunFileMixin` dataclass; fields = flags).
    train: (cfg, resume, explicit, options, log) -> `lifecycle.RunResult`.
    cli_options: command-line flags it takes besides the config's fields.
  """
  config_class: type
  train: Callable
  cli_options: tuple = ()


def _train_gan(cfg, resume, explicit, options, log):  # pylint: disable=unused-argument
  from tf_gans.gan import loop  # pylint: disable=import-outside-toplevel
  return loop.train(cfg, resume=resume, explicit=explicit, log=log)


def _train_pggan(cfg, resume, explicit, options, log):
  from tf_gans.progressive import cli  # pylint: disable=import-outside-toplevel
  return cli.run(cfg, resume=resume, explicit=explicit, log=log, **options)


FAMILIES.register('gan', Family(RunConfig, _train_gan))
FAMILIES.register('pggan', Family(ProgressiveConfig, _train_pggan,
                                  cli_options=progressive_flags.CLI_ONLY))


def select(logdir, resume, model, model_given):
  """The family name of a run: the run file's on --resume, else --model's.

  Raises ValueError when --model names a model of another family than the
  run being resumed, or an unknown model.
  """
  if model_given or not resume:
    models.names()  # the registry fills on first use
    models.MODELS.check_flag('model', model)
  if resume and logdir:
    _, family = runfile.locate(logdir)
    if family:
      if model_given and models.family(model) != family:
        raise ValueError(f'--model={model} trains with the {models.family(model)} stack, but '
                         f'{logdir} holds a {family} run; resume it with '
                         f'`{runfile.resume_command(logdir)}` alone.')
      return family
  return models.family(model)

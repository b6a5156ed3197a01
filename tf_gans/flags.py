"""The `tf_gans.train` flags, generated from the run configs' fields.

Every train flag is a field of a family's config (`tf_gans.gan.config.RunConfig`,
`tf_gans.progressive.config.ProgressiveConfig`) with its default and help text
beside it (`tf_gans.training.runfile.field`); `define_train_flags` defines one
flag per field name, so a field several families have (logdir, dataset, seed,
dtype, ...) is one flag, and a PGGAN-only one says `[--model=pggan]`.
`config_from_flags` fills a config from them, taking the config's own default
for every flag the user did not give (PGGAN's seed is 1000). Validation that
needs several flags lives in the configs' `validate()`, so the library and the
CLI refuse the same things with the same messages. A flag reaches its
optimizer in three hops: flag -> config field -> `tf_gans.training.optimizers.build`.
"""

import dataclasses
import typing

from absl import flags

from tf_gans.gan.config import RunConfig
from tf_gans.progressive.config import ProgressiveConfig
from tf_gans.training import precision

FLAGS = flags.FLAGS
# The configs whose fields are train flags; the first one's help text wins for a shared field.
CONFIG_CLASSES = (RunConfig, ProgressiveConfig)
# Options of a family that are not config fields (`tf_gans.training.family.Family.cli_options`).
PGGAN_OPTIONS = ('smoke', 'resolution')
_DEFINE = {bool: flags.DEFINE_bool, int: flags.DEFINE_integer, float: flags.DEFINE_float,
           str: flags.DEFINE_string}


def _field_type(field):
  """bool / int / float / str of a field (Optional[X] -> X)."""
  args = [a for a in typing.get_args(field.type) if a is not type(None)]
  return args[0] if args else field.type


def _help(field, config_class):
  text = field.metadata['help']
  if field.name == 'dataset':
    text += ' One of: ' + ', '.join(_dataset_usages()) + '.'
  elif field.name == 'model':
    text += ' One of: ' + ', '.join(_model_names()) + '.'
  return text if config_class is CONFIG_CLASSES[0] else f'[--model=pggan] {text}'


def define_train_flags(require_logdir=True):
  """One flag per config field of `CONFIG_CLASSES`, plus --resume, --tf_log and PGGAN's
  --smoke / --resolution; --mixed_precision is an alias of --dtype."""
  for config_class in CONFIG_CLASSES:
    for field in dataclasses.fields(config_class):
      if field.name in FLAGS:
        continue
      default = None if field.default is dataclasses.MISSING else field.default
      _DEFINE[_field_type(field)](field.name, default, _help(field, config_class))
  flags.DEFINE_alias('mixed_precision', 'dtype')
  flags.DEFINE_bool('resume', False, 'Continue the run saved in --logdir from its latest '
                    'checkpoint.')
  flags.DEFINE_bool('tf_log', False, 'Show TensorFlow\'s and absl\'s INFO / warning logs '
                    '(start-up, oneDNN, CUDA probing, SavedModel); hidden by default.')
  flags.DEFINE_integer('resolution', 0, '[--model=pggan] Expected dataset resolution (0: the '
                       'dataset\'s); --smoke uses it for built-in data when the dataset is absent.')
  flags.DEFINE_bool('smoke', False, '[--model=pggan] Tiny networks (8 fmaps), a few minibatches '
                    'per phase: every lod transition up to full resolution in minutes; built-in '
                    'photo crops when the dataset is absent.')
  if require_logdir:
    flags.mark_flag_as_required('logdir')


# Flags whose flag-file value is part of a paper's protocol: overriding one is
# allowed but reported as a deviation from the paper (RGAN section 6: n_D is 1
# in setup 1 and 5 in setup 2; GAN 2014: k = 1 with the simultaneous update).
PROTOCOL_FLAGS = ('d_steps', 'loss', 'batch_size', 'learning_rate', 'd_learning_rate', 'beta1',
                  'beta2', 'optimizer', 'gradient_penalty')


def flagfile_overrides(argv):
  """Flags a flag file set that a later command-line flag changed.

  Args:
    argv: the command line (sys.argv), before absl expands the flag files.

  Returns:
    A list of (name, flagfile path, value in the flag file, final value), in
    the order of the flag files. Only values that differ are listed.
  """
  overrides = []
  for arg in argv[1:]:
    if not arg.startswith('--flagfile='):
      continue
    path = arg.split('=', 1)[1]
    try:
      lines = FLAGS.read_flags_from_files([arg], force_gnu=True)
    except flags.Error:
      continue  # absl already refused it with its own message.
    for line in lines:
      name, value = _split_flag(line)
      if name is None or name not in FLAGS or name == 'flagfile':
        continue
      flag = FLAGS[name]
      try:
        file_value = flag.parser.parse(value) if value is not None else (
            not name.startswith('no') if flag.boolean else None)
      except (ValueError, TypeError):
        continue
      if file_value != flag.value:
        overrides.append((name, path, file_value, flag.value))
  return overrides


def _split_flag(line):
  """'--name=value' -> (name, 'value'); '--name' -> (name, None); '--noname' -> (name, 'false')."""
  if not line.startswith('--'):
    return None, None
  body = line[2:]
  if '=' in body:
    name, value = body.split('=', 1)
    return name, value
  if body.startswith('no') and body[2:] in FLAGS and FLAGS[body[2:]].boolean:
    return body[2:], 'false'
  return body, 'true' if body in FLAGS and FLAGS[body].boolean else None


def describe_overrides(overrides):
  """One human-readable line per flag-file override; protocol flags say so."""
  lines = []
  for name, path, file_value, value in overrides:
    line = f'--{name}={value} overrides {path} ({name}={file_value})'
    if name in PROTOCOL_FLAGS:
      line += ': a deviation from the protocol that flag file reproduces'
    lines.append(line)
  return lines


def _model_names():
  from tf_gans import models  # pylint: disable=import-outside-toplevel
  return models.names()


def _dataset_usages():
  from tf_gans import data  # pylint: disable=import-outside-toplevel
  return data.DATASETS.usages()


def config_from_flags(config_class):
  """(config, names of the fields the user gave) for `config_class` from the flags.

  A field whose flag was not given (on the command line or in a flag file)
  takes the config's own default, not the flag's: e.g. PGGAN's seed 1000.
  The precision is spelled one way from here on (`tf_gans.training.precision`).
  """
  values, explicit = {}, []
  for field in dataclasses.fields(config_class):
    if FLAGS[field.name].present:
      explicit.append(field.name)
      values[field.name] = FLAGS[field.name].value
    elif field.default is dataclasses.MISSING:
      values[field.name] = FLAGS[field.name].value  # required (logdir)
  if 'dtype' in values:
    values['dtype'] = precision.canonical(values['dtype'],
                                          '--dtype (--mixed_precision)')
  return config_class(**values), tuple(explicit)


def unused_flags(config_class, also=()):
  """The train flags the user gave that a run of `config_class` does not use."""
  train_flags = {f.name for c in CONFIG_CLASSES for f in dataclasses.fields(c)}
  train_flags |= set(PGGAN_OPTIONS)
  used = {f.name for f in dataclasses.fields(config_class)} | set(also)
  return sorted(name for name in train_flags - used if name in FLAGS and FLAGS[name].present)

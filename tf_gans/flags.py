"""Flag definitions shared by the CLIs, in one place, with help text for each.

Each `define_*` function defines a group; CLIs call the groups they need. The
train flags are the fields of the run configs (`RunConfig` for GAN / RGAN,
`ProgressiveConfig` for PGGAN, `tf_gans.progressive.flags`): a field both have
(logdir, dataset, seed, strategy, ...) is one flag, defined once here, and
`config_from_flags` fills either config from them, taking the config's own
default for every flag the user did not give. Validation that needs several
flags lives in the configs' `validate()`, so the library and the CLI refuse the
same things with the same messages.
"""

import dataclasses

from absl import flags

from tf_gans.gan.config import MIXED_PRECISION_POLICIES, RunConfig

FLAGS = flags.FLAGS
_D = RunConfig  # defaults live in one place: the dataclass


def _default(name):
  return {f.name: f.default for f in dataclasses.fields(_D)}[name]


def define_train_flags(require_logdir=True):
  """The `tf_gans.train` flags; names equal RunConfig fields."""
  d = _default
  flags.DEFINE_string('logdir', None, 'Run folder: checkpoints, samples, TensorBoard, export.')
  flags.DEFINE_bool('resume', False, 'Continue the run saved in --logdir from its latest checkpoint.')
  flags.DEFINE_string('dataset', d('dataset'), 'Data, one of: ' + ', '.join(_dataset_usages())
                      + ' (digits is built in; tfds never downloads).')
  flags.DEFINE_string('split', d('split'), 'Split, optionally sliced: train, test, train[:9000].')
  flags.DEFINE_integer('image_size', d('image_size'),
                       'Resize folder images to this square size (0: keep; sizes must agree).')
  flags.DEFINE_string('data_dir', d('data_dir'), 'TFDS data_dir for tfds:<name> (default: TFDS\'s).')
  flags.DEFINE_integer('pad_to', d('pad_to'), 'Zero-pad images to this square size (MNIST 28 -> 32).')
  flags.DEFINE_enum('sampling', d('sampling'), ['epochs', 'independent'],
                    'epochs: shuffled passes; independent: each minibatch drawn on its own (RGAN code).')
  flags.DEFINE_string('model', d('model'), 'Model, one of: ' + ', '.join(_model_names())
                      + ' (pggan: progressive growing, its flags are marked [--model=pggan]).')
  flags.DEFINE_bool('spectral_norm', None, 'Model option: spectral normalization in D (default: the model\'s).')
  flags.DEFINE_bool('batch_norm_g', None, 'Model option: BatchNorm in G (default: the model\'s).')
  flags.DEFINE_bool('batch_norm_d', None, 'Model option: BatchNorm in D (default: the model\'s).')
  flags.DEFINE_integer('g_h_size', None, 'Model option: DCGAN G width (default: the model\'s).')
  flags.DEFINE_integer('d_h_size', None, 'Model option: DCGAN D width (default: the model\'s).')
  flags.DEFINE_string('activation', None, 'Model option: standard_cnn_32 hidden activations, relu '
                      'or tanh (RGAN --Tanh_GD; default: the model\'s).')
  flags.DEFINE_integer('pac', None, 'Model option: DCGAN PacGAN packing, D sees pac samples '
                       'stacked on the channel axis (RGAN 256x256 runs: 2; default: the model\'s).')
  flags.DEFINE_float('width', None, 'Model option: standard_cnn_32 channel multiplier, every conv '
                     'and Linear channel count scaled together, rounded, >= 1 (1.0: the paper\'s '
                     'net; default: the model\'s).')
  flags.DEFINE_string('loss', d('loss'), 'Loss name in tf_gans.losses (e.g. nonsaturating, gan2014).')
  flags.DEFINE_float('gradient_penalty', None,
                     'WGAN-GP lambda added to the D loss of any loss (default: the loss\'s, 10 for wgan-gp).')
  flags.DEFINE_integer('d_steps', d('d_steps'), 'k: discriminator updates per generator update.')
  flags.DEFINE_bool('simultaneous', d('simultaneous'),
                    'Update D and G from one forward pass, as the 2014 MNIST code (needs --d_steps=1).')
  flags.DEFINE_integer('batch_size', d('batch_size'), 'm: global minibatch size of each update.')
  flags.DEFINE_integer('steps', d('steps'), 'Training iterations (generator updates) in total.')
  flags.DEFINE_integer('seed', d('seed'), 'Seeds initialisation, noise, dropout and data order.')
  flags.DEFINE_string('optimizer', d('optimizer'), 'adam or sgd2014 (the 2014 momentum/decay schedule).')
  flags.DEFINE_float('learning_rate', d('learning_rate'), 'Initial learning rate (D and G).')
  flags.DEFINE_float('d_learning_rate', None, 'D\'s learning rate if it differs (default: --learning_rate).')
  flags.DEFINE_float('beta1', d('beta1'), 'Adam beta_1.')
  flags.DEFINE_float('beta2', d('beta2'), 'Adam beta_2.')
  flags.DEFINE_float('lr_decay_factor', d('lr_decay_factor'), 'sgd2014: lr_t = lr / factor^t.')
  flags.DEFINE_float('lr_min', d('lr_min'), 'sgd2014: floor of the learning rate.')
  flags.DEFINE_float('momentum_initial', d('momentum_initial'), 'sgd2014: momentum in epoch 1.')
  flags.DEFINE_float('momentum_final', d('momentum_final'), 'sgd2014: momentum once saturated.')
  flags.DEFINE_integer('momentum_saturate_epoch', d('momentum_saturate_epoch'),
                       'sgd2014: epoch at which momentum reaches --momentum_final.')
  flags.DEFINE_integer('updates_per_epoch', d('updates_per_epoch'),
                       'sgd2014: updates per epoch for the momentum ramp (0: dataset size / batch).')
  flags.DEFINE_string('strategy', d('strategy'), 'tf.distribute strategy: default, mirrored '
                      '(all local GPUs), multi_worker (hosts from TF_CONFIG) or tpu.')
  flags.DEFINE_bool('jit_compile', d('jit_compile'), 'XLA-compile the train step (a GPU feature; on '
                    'a 2-core CPU the quickstart measured 0.8-2.4x per round, median 1.2x, after '
                    'a ~17 s longer first step; PGGAN gains up to 32x32 and loses above).')
  flags.DEFINE_integer('steps_per_execution', d('steps_per_execution'),
                       'Train steps per compiled call (Keras steps_per_execution; a divisor of '
                       '--log_every). 0: sized so one call takes about a second. Same weights '
                       'for every value; the progress line, signal stops and the divergence '
                       'check act every this many steps. With several replicas (--strategy) it is 1.')
  flags.DEFINE_string('mixed_precision', d('mixed_precision'),
                      'Compute precision of G and D (variables stay float32): mixed_float16 (GPUs; '
                      'with loss scaling: a Keras LossScaleOptimizer per D and G, PGGAN the '
                      'reference\'s log2 schedule) or mixed_bfloat16 (faster on recent CPUs); empty '
                      'or float32: float32. --dtype=float16|bfloat16|float32 is the same flag.')
  flags.DEFINE_alias('dtype', 'mixed_precision')
  flags.DEFINE_bool('tf_log', False, 'Show TensorFlow\'s and absl\'s INFO / warning logs '
                    '(start-up, oneDNN, CUDA probing, SavedModel); hidden by default.')
  flags.DEFINE_integer('log_every', d('log_every'), 'Steps per logging interval (scalars, progress).')
  flags.DEFINE_integer('sample_every', d('sample_every'), 'Steps between sample grids (multiple of --log_every).')
  flags.DEFINE_integer('checkpoint_every', d('checkpoint_every'), 'Steps between checkpoints (multiple of --log_every).')
  flags.DEFINE_integer('keep_checkpoints', d('keep_checkpoints'), 'Checkpoints to keep.')
  flags.DEFINE_integer('snapshot_every', d('snapshot_every'),
                       'Steps between generator snapshots kept for evaluation (snapshots/; '
                       '`evaluate --run`); 0: the last step only (multiple of --log_every).')
  flags.DEFINE_integer('num_samples', d('num_samples'), 'Images in each sample grid.')
  flags.DEFINE_bool('export', d('export'), 'Export the generator SavedModel at the end.')
  flags.DEFINE_bool('progress', d('progress'), 'Show a progress line (rate, ETA, losses).')
  flags.DEFINE_float('progress_every_s', d('progress_every_s'),
                     'Seconds between progress lines when the output is a file or pipe (on a '
                     'terminal the line is redrawn in place).')
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


# --mixed_precision / --dtype spellings -> the Keras policy name ('' is float32).
_POLICY_OF = {'': '', 'float32': '', 'mixed_float16': 'mixed_float16', 'float16': 'mixed_float16',
              'mixed_bfloat16': 'mixed_bfloat16', 'bfloat16': 'mixed_bfloat16'}
# The Keras policy -> PGGAN's --dtype field (its compute dtype; float16 brings the
# reference's loss scaling).
DTYPE_OF_POLICY = {'': 'float32', 'mixed_float16': 'float16', 'mixed_bfloat16': 'bfloat16'}


def mixed_precision_policy():
  """--mixed_precision (or --dtype) as a Keras policy name; refuses unknown values."""
  value = FLAGS.mixed_precision or ''
  if value not in _POLICY_OF:
    raise ValueError(f'--mixed_precision must be one of {", ".join(MIXED_PRECISION_POLICIES[1:])} '
                     f'(or float32 / empty; --dtype=float16|bfloat16 is the same flag), got '
                     f'{value!r}.')
  return _POLICY_OF[value]


def config_from_flags(config_class):
  """(config, names of the fields the user gave) for `config_class` from the flags.

  A field whose flag was not given (on the command line or in a flag file)
  takes the config's own default, not the flag's: e.g. PGGAN's seed 1000.
  The precision flag fills `mixed_precision` (RunConfig) or `dtype`
  (ProgressiveConfig).
  """
  values, explicit = {}, []
  for field in dataclasses.fields(config_class):
    name = 'mixed_precision' if field.name == 'dtype' else field.name
    if FLAGS[name].present:
      explicit.append(field.name)
      values[field.name] = FLAGS[name].value
    elif field.default is not dataclasses.MISSING:
      values[field.name] = field.default
    else:
      values[field.name] = FLAGS[name].value  # required (logdir)
  if FLAGS['mixed_precision'].present:
    policy = mixed_precision_policy()
    if 'dtype' in values:
      values['dtype'] = DTYPE_OF_POLICY[policy]
    else:
      values['mixed_precision'] = policy
  return config_class(**values), tuple(explicit)


def unused_flags(config_class, also=()):
  """The train flags the user gave that a run of `config_class` does not use."""
  from tf_gans.progressive.config import ProgressiveConfig  # pylint: disable=import-outside-toplevel
  train_flags = {f.name for c in (RunConfig, ProgressiveConfig) for f in dataclasses.fields(c)}
  from tf_gans.progressive.flags import CLI_ONLY  # pylint: disable=import-outside-toplevel
  train_flags |= set(CLI_ONLY)
  # --dtype is --mixed_precision: every config has a precision.
  used = {f.name for f in dataclasses.fields(config_class)} | set(also) | {'mixed_precision',
                                                                            'dtype'}
  return sorted(name for name in train_flags - used if name in FLAGS and FLAGS[name].present)


def run_config_from_flags():
  """(RunConfig, names of the flags given explicitly)."""
  return config_from_flags(RunConfig)

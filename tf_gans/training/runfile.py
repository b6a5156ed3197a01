"""The run file `<logdir>/run.json` and the resume policy, the same for every model.

A run folder holds one run file: the run's config (a dataclass whose fields
are the `tf_gans.train` flags) plus `family`, the training stack that wrote it
(`gan` for GAN 2014 / RGAN, `pggan` for progressive growing). `--resume
--logdir=DIR` reads it and nothing else is needed. Folders written before the
run file had one name still resume: a `run.json` without `family` is a `gan`
run, a `pggan_run.json` a `pggan` run.

Resume policy: the saved config is authoritative. Only fields the user gave
explicitly (typed on the command line or in a flag file) may override it,
never a flag's default, and only those in the config's
`RESUME_OVERRIDABLE` (how long and how to run, never what changes the
weights' trajectory).
"""

import dataclasses
import json
import os
import shlex

RUN_FILE = 'run.json'
# (file name, family) of run files written before there was one name.
LEGACY_RUN_FILES = (('pggan_run.json', 'pggan'),)
DEFAULT_FAMILY = 'gan'  # a run.json without `family`


def resume_command(logdir):
  """The exact command that continues the run in `logdir`."""
  return f'python -m tf_gans.train --resume --logdir={shlex.quote(str(logdir))}'


def locate(logdir):
  """(path of the run file, family) of `logdir`, or (None, None) if it holds no run."""
  path = os.path.join(logdir, RUN_FILE)
  if os.path.exists(path):
    return path, _read(path).get('family', DEFAULT_FAMILY)
  for name, family in LEGACY_RUN_FILES:
    path = os.path.join(logdir, name)
    if os.path.exists(path):
      return path, family
  return None, None


def _read(path):
  try:
    with open(path) as f:
      raw = json.load(f)
  except ValueError as e:
    raise ValueError(f'{path} is not a readable run file ({e}).') from None
  if not isinstance(raw, dict):
    raise ValueError(f'{path} is not a run file (expected a JSON object).')
  return raw


def field(default, help, **metadata):  # pylint: disable=redefined-builtin
  """A config field that is a `tf_gans.train` flag: its default (`dataclasses.MISSING`:
  required) and its help text, side by side (`tf_gans.flags` defines the flag from them)."""
  return dataclasses.field(default=default, metadata=dict(metadata, help=help))


class RunFileMixin:
  """save / load / resumed_with for a dataclass config.

  Subclasses set FAMILY, RESUME_OVERRIDABLE and ARCHITECTURE (the fields that
  define the networks' variables, named in the refusal message), and RENAMED:
  {old field: (new field, {old value: new value})} for run files written before
  a field was renamed (they still load and resume).
  """
  FAMILY = DEFAULT_FAMILY
  RESUME_OVERRIDABLE = ()
  ARCHITECTURE = ()
  RENAMED = {}

  def save(self, path):
    """Writes the run file atomically (a kill never leaves half a file)."""
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
      json.dump({'family': self.FAMILY, **dataclasses.asdict(self)}, f, indent=2, sort_keys=True)
    os.replace(tmp, path)

  @classmethod
  def load(cls, path):
    raw = _read(path)
    family = raw.pop('family', None)
    if family not in (None, cls.FAMILY):
      raise ValueError(f'{path} holds a {family} run, not a {cls.FAMILY} run.')
    for old, (new, values) in cls.RENAMED.items():
      if old in raw and new not in raw:
        value = raw.pop(old)
        raw[new] = values.get(value, value)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
      raise ValueError(f'{path}: unknown fields {unknown}; was it written by a newer tf_gans?')
    return cls(**raw)

  def resumed_with(self, overrides):
    """The saved config with `overrides` ({field: value}); refuses trajectory changes."""
    bad = sorted(k for k, v in overrides.items()
                 if k not in self.RESUME_OVERRIDABLE and getattr(self, k) != v)
    if bad:
      what = 'the architecture' if set(bad) & set(self.ARCHITECTURE) else 'the run'
      detail = ', '.join(f'--{k}={overrides[k]!r} (run has {getattr(self, k)!r})' for k in bad)
      raise ValueError(f'--resume continues the saved run; these flags would change {what}: '
                       f'{detail}. Drop them, or start a new run in another --logdir.')
    return dataclasses.replace(self, **overrides)


def resolve(cfg, resume, explicit=None):
  """The config to run: `cfg` for a new run, the saved one (plus overrides) on resume.

  Args:
    cfg: the config from flags (its `logdir` names the run folder).
    resume: continue the run saved in `cfg.logdir`.
    explicit: names of the fields the user gave; only these override the saved
      run (and only those in RESUME_OVERRIDABLE may differ). None: none.

  Raises:
    FileNotFoundError / FileExistsError / ValueError naming the folder or flag.
  """
  logdir = cfg.logdir
  if not resume:
    path, _ = locate(logdir)
    if path:
      raise FileExistsError(f'--logdir={logdir} holds a run already; continue it with '
                            f'`{resume_command(logdir)}`, or choose another --logdir.')
    return cfg.validate()
  if not os.path.isdir(logdir):
    raise FileNotFoundError(f'--resume: --logdir={logdir} does not exist.')
  path, family = locate(logdir)
  if path is None:
    raise FileNotFoundError(f'--resume: {logdir} is not a tf_gans run folder (no {RUN_FILE}); '
                            f'point --logdir at the folder a previous tf_gans.train wrote.')
  if family != cfg.FAMILY:
    raise ValueError(f'--resume: {logdir} holds a {family} run, not a {cfg.FAMILY} run; '
                     f'resume it with `{resume_command(logdir)}` alone.')
  saved = type(cfg).load(path)
  overrides = {k: getattr(cfg, k) for k in (explicit or ()) if k != 'logdir'}
  return dataclasses.replace(saved.resumed_with(overrides), logdir=logdir).validate()


def saved_value(logdir, name, default=None):
  """A field of the run saved in `logdir` (plain JSON, no TensorFlow), or `default`."""
  path, _ = locate(logdir)
  return _read(path).get(name, default) if path else default

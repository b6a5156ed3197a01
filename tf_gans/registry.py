"""A tiny name -> object registry, so a new paper adds an entry, not an if/else.

Used for losses (`tf_gans.losses`), models (`tf_gans.models`), datasets
(`tf_gans.data`) and distribution strategies (`tf_gans.training.strategy`).
"""


class Registry:
  """Maps names to objects; lookups of unknown names list the valid ones."""

  def __init__(self, kind):
    self.kind = kind
    self._entries = {}
    self._usage = {}

  def register(self, name, obj=None, usage=None):
    """Registers `obj` under `name`; usable as a decorator when `obj` is None.

    `usage` is how a user writes the name where it takes an argument
    (e.g. 'folder:<path>'); `usages()` lists it in help texts.
    """
    if obj is None:
      return lambda o: self.register(name, o, usage)
    if name in self._entries:
      raise ValueError(f'{self.kind} {name!r} is registered twice.')
    self._entries[name] = obj
    self._usage[name] = usage or name
    return obj

  def usages(self):
    """How each name is written (sorted by name), e.g. ['digits', 'folder:<path>']."""
    return [self._usage[n] for n in self.names()]

  def get(self, name):
    try:
      return self._entries[name]
    except KeyError:
      raise KeyError(
          f'Unknown {self.kind} {name!r}; expected one of: '
          f'{", ".join(sorted(self._entries))}.') from None

  def check_flag(self, flag, name):
    """Raises ValueError naming the command-line `flag` when `name` is not registered."""
    if name not in self._entries:
      raise ValueError(f'--{flag}={name}: unknown; expected one of {", ".join(self.names())}.')

  def __contains__(self, name):
    return name in self._entries

  def names(self):
    return sorted(self._entries)

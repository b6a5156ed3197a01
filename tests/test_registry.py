import pytest

from tf_gans.registry import Registry


def test_register_get_and_names():
  r = Registry('thing')
  r.register('b', 2)

  @r.register('a')
  def a():
    return 1

  assert r.get('a') is a and r.get('b') == 2
  assert r.names() == ['a', 'b'] and 'a' in r and 'c' not in r


def test_unknown_and_duplicate_names_are_clear():
  r = Registry('loss')
  r.register('x', 1)
  with pytest.raises(KeyError, match=r"Unknown loss 'y'; expected one of: x"):
    r.get('y')
  with pytest.raises(ValueError, match="registered twice"):
    r.register('x', 2)
  r.check_flag('loss', 'x')  # registered: no error
  with pytest.raises(ValueError, match=r'--loss=y: unknown; expected one of x\.'):
    r.check_flag('loss', 'y')

"""TF_ENABLE_ONEDNN_OPTS: the project's per-command default, set in tf_gans.cli before TensorFlow
loads; the user's own value wins (issue 23 item 5, docs/results/bench/extraction_onednn.json)."""

import os
import subprocess
import sys

from tf_gans import cli


def test_the_default_is_set_for_evaluate_only():
  env = {}
  assert cli.onednn_default(env, 'tf_gans.evaluate') == '1'
  assert env == {'TF_ENABLE_ONEDNN_OPTS': '1'}
  for program in ('tf_gans.train', 'tf_gans.study', 'pytest', None):
    env = {}
    assert cli.onednn_default(env, program) is None and env == {}


def test_the_users_value_wins():
  for value in ('0', '1', ''):
    env = {'TF_ENABLE_ONEDNN_OPTS': value}
    assert cli.onednn_default(env, 'tf_gans.evaluate') == value
    assert env == {'TF_ENABLE_ONEDNN_OPTS': value}


def _env_after_cli_import(program, user_value=None):
  """TF_ENABLE_ONEDNN_OPTS after `import tf_gans.cli` in a fresh interpreter whose __main__ is
  `program` (as `python -m program` makes it), and whether TensorFlow was loaded by then."""
  code = ('import sys, types, os\n'
          f'sys.modules["__main__"].__spec__ = types.SimpleNamespace(name={program!r})\n'
          'import tf_gans.cli\n'
          'print(os.environ.get("TF_ENABLE_ONEDNN_OPTS"), "tensorflow" in sys.modules)\n')
  env = {k: v for k, v in os.environ.items() if k != 'TF_ENABLE_ONEDNN_OPTS'}
  if user_value is not None:
    env['TF_ENABLE_ONEDNN_OPTS'] = user_value
  out = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True,
                       check=True, timeout=120)
  return out.stdout.split()


def test_set_when_the_cli_module_loads_before_tensorflow():
  assert _env_after_cli_import('tf_gans.evaluate') == ['1', 'False']
  assert _env_after_cli_import('tf_gans.evaluate', '0') == ['0', 'False']
  assert _env_after_cli_import('tf_gans.train') == ['None', 'False']

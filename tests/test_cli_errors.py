"""Every command's flag mistakes follow one error style: one `error:` line, a usage hint, exit 2
(absl's default is `FATAL Flags parsing error` and exit 1)."""

import pytest

from tests.inprocess_cli import run_main


def _one_error(out):
  lines = out.stderr.strip().splitlines()
  assert out.returncode == 2, out.stderr[-2000:]
  assert 'FATAL' not in out.stderr and 'Traceback' not in out.stderr, out.stderr[-2000:]
  errors = [l for l in lines if l.startswith('error: ')]
  assert len(errors) == 1, out.stderr
  assert lines[-1].startswith('usage: python -m tf_gans.'), out.stderr
  return errors[0]


def test_mistyped_flag_names_it_and_suggests(tmp_path):
  err = _one_error(run_main('train', f'--lgdir={tmp_path}/run'))
  assert 'lgdir' in err and 'logdir' in err  # absl's "Did you mean" suggestion


def test_missing_flagfile_names_the_file(tmp_path):
  err = _one_error(run_main('train', f'--flagfile={tmp_path}/nope.cfg'))
  assert err.startswith('error: --flagfile cannot be read:') and 'nope.cfg' in err


@pytest.mark.parametrize('module,missing', [('export', '--logdir, --out'), ('export_out', '--out')])
def test_missing_required_flags_are_named(module, missing, tmp_path):
  args = [f'--logdir={tmp_path}'] if module == 'export_out' else []
  err = _one_error(run_main('export', *args))
  assert err == f'error: {missing} {"are" if "," in missing else "is"} required.'


def test_train_with_no_arguments_says_logdir_is_required():
  err = _one_error(run_main('train'))
  assert err == 'error: --logdir is required.'


def test_bad_value_names_the_flag(tmp_path):
  err = _one_error(run_main('generate', '--num=0', f'--model={tmp_path}'))
  assert '--num must be >= 1' in err

"""tf_gans.progress: `\\r` redraws on a terminal, whole throttled lines in a file or pipe."""

import io

from tf_gans import progress


class FakeTty(io.StringIO):

  def isatty(self):
    return True


def test_file_gets_whole_lines_no_carriage_returns():
  out = io.StringIO()
  bar = progress.Progress('frames', total=20, stream=out, plain_every_s=0.0)
  for done in range(1, 21):
    bar.update(done)
  text = out.getvalue()
  assert '\r' not in text
  lines = text.splitlines()
  assert lines[0].startswith('frames: 1/20')
  assert lines[-1].startswith('frames: 20/20')
  assert len(lines) == 20  # interval 0: every count, and the final one once


def test_file_lines_are_throttled():
  out = io.StringIO()
  bar = progress.Progress('images', total=1000, stream=out)  # 10 s between plain lines
  for done in range(1, 1001):
    bar.update(done)
  lines = out.getvalue().splitlines()
  assert [l.split(':')[1].split()[0] for l in lines] == ['1/1000', '1000/1000']


def test_terminal_redraws_one_line_and_ends_it():
  out = FakeTty()
  bar = progress.Progress('features', total=3, unit='images', stream=out)
  bar.update(1, force=True)
  bar.update(2, force=True)
  bar.update(3)
  text = out.getvalue()
  assert text.count('\r') == 3 and text.endswith('\n') and text.count('\n') == 1
  assert 'features: 3/3 images' in text.split('\r')[-1]


def test_finish_writes_once_and_disabled_writes_nothing():
  out = io.StringIO()
  bar = progress.Progress('x', stream=out)
  bar.update(5)
  bar.finish(7)
  bar.finish(7)
  bar.update(8)
  assert [l.split()[1] for l in out.getvalue().splitlines()] == ['5', '7']
  quiet = io.StringIO()
  off = progress.Progress('x', total=2, stream=quiet, enabled=False)
  off.update(1)
  off.finish(2)
  assert quiet.getvalue() == ''


def test_quiet_start_keeps_short_jobs_silent():
  out = io.StringIO()
  bar = progress.Progress('writing', total=10, stream=out, quiet_start=True)
  for done in range(1, 11):
    bar.update(done)
  assert out.getvalue() == ''
  slow = io.StringIO()
  bar = progress.Progress('writing', total=10, stream=slow, quiet_start=True, plain_every_s=0.0)
  bar.update(1)
  bar.update(10)
  assert slow.getvalue().splitlines()[-1].startswith('writing: 10/10')


def test_report_shares_one_counter_per_pass(capsys):
  for done in (100, 200, 300):
    progress.report('pass', done, 300, start=1.5)
  lines = capsys.readouterr().err.splitlines()
  assert [l.split()[1] for l in lines] == ['100/300', '300/300']
  assert not progress._OPEN  # pylint: disable=protected-access

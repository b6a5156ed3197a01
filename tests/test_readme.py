"""README.md says what runs: its Python section is executed, its links resolve, and its test
command is the one CI runs.

The ```python blocks under "## Python" run in order in one namespace (as a reader would
paste them into one session), in a temporary working directory. What their comments
claim is then checked:
  name = ...   # (16, 8, 8, 1) in [0, 1]     name's shape, and its values' range if given
  print(...)   # 20 .../runs/api/...         a printed line matching it ('...': anything)

Its command scoring two folders of images is run in-process on two folders of digits, with the
one change the README names for digit images (`--features=classifier` instead of
`--inception`).
"""

import fnmatch
import json
import pathlib
import re
import shlex
import time

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
README = REPO / 'README.md'
# The Markdown files whose relative links and anchors are checked.
DOCS = (README, REPO / 'docs' / 'usage.md', REPO / 'docs' / 'results.md',
        REPO / 'docs' / 'architecture.md')

_SHAPE_CLAIM = re.compile(r'^(\w+)\s*=.*#\s*\(([\d,\s]+)\)(?:\s+in\s+\[([-\d.]+),\s*([-\d.]+)\])?')
_PRINT_CLAIM = re.compile(r'^print\(.*\)\s*#\s*(.+?)\s*$')


def section(text, heading):
  """The text from `heading` (a whole '## ...' line) to the next '## ' heading."""
  lines = text.splitlines()
  start = lines.index(heading)
  end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith('## ')),
             len(lines))
  return '\n'.join(lines[start:end]) + '\n'


def python_blocks(text, heading='## Python'):
  """The fenced ```python blocks of the section `heading`."""
  return re.findall(r'^```python\n(.*?)^```', section(text, heading), flags=re.M | re.S)


def claims(block):
  """(kind, ...) for each checkable comment of a block: ('shape', name, shape, range) and
  ('print', pattern)."""
  found = []
  for line in block.splitlines():
    m = _SHAPE_CLAIM.match(line)
    if m:
      shape = tuple(int(d) for d in m.group(2).replace(' ', '').split(',') if d)
      value_range = (float(m.group(3)), float(m.group(4))) if m.group(3) else None
      found.append(('shape', m.group(1), shape, value_range))
      continue
    m = _PRINT_CLAIM.match(line)
    if m:
      found.append(('print', m.group(1).replace('...', '*')))
  return found


def test_the_python_section_has_blocks_with_claims():
  blocks = python_blocks(README.read_text())
  assert len(blocks) >= 2, 'README "## Python" should show the GAN and the PGGAN / run API'
  assert all(claims(b) for b in blocks), 'each block should claim something checkable'
  assert claims('samples = gan.generate(16)   # (16, 8, 8, 1) in [0, 1]') == [
      ('shape', 'samples', (16, 8, 8, 1), (0.0, 1.0))]
  assert claims('print(r.step)   # 20 .../x') == [('print', '20 */x')]


def test_the_python_section_runs_as_written(tmp_path, monkeypatch, capsys):
  monkeypatch.chdir(tmp_path)
  namespace = {'__name__': '__readme__'}
  for i, block in enumerate(python_blocks(README.read_text())):
    start = time.perf_counter()
    exec(compile(block, f'README.md "## Python" block {i + 1}', 'exec'), namespace)  # pylint: disable=exec-used
    seconds = time.perf_counter() - start
    printed = capsys.readouterr().out.splitlines()
    for claim in claims(block):
      if claim[0] == 'shape':
        _, name, shape, value_range = claim
        value = np.asarray(namespace[name])
        assert value.shape == shape, (name, value.shape)
        assert np.all(np.isfinite(value)), name
        if value_range:
          low, high = value_range
          assert low <= value.min() and value.max() <= high, (name, value.min(), value.max())
      else:
        pattern = claim[1]
        assert any(fnmatch.fnmatchcase(line, pattern) for line in printed), (pattern, printed)
    with capsys.disabled():
      print(f'\nREADME block {i + 1}: {seconds:.1f} s')
  # Beyond the comments: the GAN trained one epoch of the digits' train split (1,297 images,
  # 2 minibatches of 64 a step: 11 steps, the last one short), PGGAN grew to 8x8, and the run
  # wrote its folder under the temporary directory.
  assert len(namespace['images']) == 1297 and namespace['gan'].real_batches_per_step == 2
  assert int(namespace['gan'].step.numpy()) == 11
  assert tuple(namespace['gan'].value_range) == (0.0, 1.0)
  assert namespace['pggan'].cur_nimg > 0
  assert (tmp_path / 'runs' / 'api' / 'run.json').exists()
  assert (tmp_path / 'runs' / 'api' / 'export' / 'generator' / 'saved_model.pb').exists()


def test_the_test_command_is_the_one_ci_runs():
  readme = README.read_text()
  ci = (REPO / '.ci' / 'run').read_text()
  commands = re.findall(r'^```\n(.*?)\n```', section(readme, '## The two commands'),
                        flags=re.M | re.S)
  assert len(commands) == 2, commands
  quickstart, tests = commands
  assert quickstart.endswith('python -m tf_gans.train --flagfile=configs/quickstart.cfg '
                             '--logdir=runs/quickstart')
  assert tests.endswith('&& python -m pytest -q') and ci.rstrip().endswith(
      '&& python -m pytest -q')
  assert "-e '.[test]'" in tests and "-e '.[test]'" in ci


def readme_command(prefix):
  """The README command line (continuations joined) that starts with `prefix`, as argv."""
  text = README.read_text().replace('\\\n', ' ')
  lines = [line for line in text.splitlines() if line.startswith(prefix)]
  assert len(lines) == 1, (prefix, lines)
  return shlex.split(lines[0])


def test_the_two_folder_command_runs_as_written(tmp_path, monkeypatch):
  from inprocess_cli import run_main  # pylint: disable=import-outside-toplevel
  from PIL import Image  # pylint: disable=import-outside-toplevel
  from tf_gans import data as data_lib  # pylint: disable=import-outside-toplevel
  from tf_gans.metrics import evaluation  # pylint: disable=import-outside-toplevel
  generate = readme_command('python -m tf_gans.generate --model=runs/quickstart/export/generator '
                            '--mode=pngs')
  assert '--out=fake/' in generate  # the folder the evaluate command reads
  argv = readme_command('python -m tf_gans.evaluate --reals=folder:')
  assert argv[:3] == ['python', '-m', 'tf_gans.evaluate']
  inception = [a for a in argv if a.startswith('--inception=')]
  assert len(inception) == 1, argv
  args = [a for a in argv[3:] if a not in inception] + ['--features=classifier']
  monkeypatch.chdir(tmp_path)
  for folder, split, flip in (('real', 'test', False), ('fake', 'validation', True)):
    source = data_lib.load_source('digits', split)   # 300 held-out / 200 validation digits
    images = evaluation.to_uint8(source, source.images)
    (tmp_path / folder).mkdir()
    for i, image in enumerate(images[:, :, ::-1] if flip else images):
      Image.fromarray(image[..., 0]).save(tmp_path / folder / f'{i:04d}.png')
  # Fewer resamples than the default 100: each KID resample is a whole KID (100 subsets).
  out = run_main('evaluate', *args, '--classifier_epochs=1', '--ci_resamples=4',
                 f'--feature_cache={tmp_path / "cache"}', f'--out={tmp_path / "result.json"}')
  assert out.returncode == 0, out.stderr[-3000:]
  report = json.loads((tmp_path / 'result.json').read_text())
  assert report['reals']['num'] == 300 and report['fakes']['num'] == 200
  metrics = report['metrics']
  assert set(metrics) == {'fid', 'kid', 'precision_recall', 'density_coverage'}
  fid = metrics['fid']
  assert fid['fid'] > 0 and fid['ci']['low'] <= fid['fid'] <= fid['ci']['high']
  assert fid['ci']['ci'] == 0.95
  for key in ('precision', 'recall', 'coverage'):
    assert 0 <= metrics['precision_recall' if key != 'coverage' else 'density_coverage'][key] <= 1
  assert metrics['density_coverage']['density'] >= 0


def _anchor(heading):
  """GitHub's id of a heading: lower case, punctuation dropped, spaces -> '-'."""
  text = heading.strip().lower().replace('`', '')
  return re.sub(r'[^\w\- ]', '', text).replace(' ', '-')


def _anchors(path):
  text = re.sub(r'^```.*?^```', '', path.read_text(), flags=re.M | re.S)  # no code headings
  return {_anchor(h) for h in re.findall(r'^#+ (.+)$', text, flags=re.M)}


@pytest.mark.parametrize('doc', DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve(doc):
  text = re.sub(r'^```.*?^```', '', doc.read_text(), flags=re.M | re.S)
  broken = []
  for target in re.findall(r'\]\(([^)\s]+)\)', text):
    if re.match(r'[a-z]+:', target):
      continue  # http(s), mailto: not checked offline
    path, _, anchor = target.partition('#')
    file = (doc.parent / path).resolve() if path else doc
    if not file.exists():
      broken.append(target)
    elif anchor and file.suffix == '.md' and anchor not in _anchors(file):
      broken.append(target)
  assert not broken, f'{doc.name}: {broken}'

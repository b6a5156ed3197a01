"""evaluate --reals=SOURCE --fakes=SOURCE: any two image sources, as a user runs it (in-process)."""

import json

import numpy as np
from PIL import Image

from inprocess_cli import run_main
from tf_gans import data as data_lib
from tf_gans.metrics import evaluation


def _digits_uint8(split):
  source = data_lib.load_source('digits', split)
  return evaluation.to_uint8(source, source.images)


def _folder(path, images):
  path.mkdir()
  for i, image in enumerate(images):
    Image.fromarray(image[..., 0]).save(path / f'{i:04d}.png')
  return path


def _evaluate(*args, cache):
  return run_main('evaluate', *args, '--features=classifier', '--classifier_epochs=1',
                  f'--feature_cache={cache}')


def test_two_folders_one_command_then_the_cache_serves_another_metric(tmp_path):
  reals = _folder(tmp_path / 'reals', _digits_uint8('test'))           # 300 held-out digits
  fakes = _folder(tmp_path / 'fakes', _digits_uint8('validation')[:, :, ::-1])  # 200, mirrored
  cache, out_json = tmp_path / 'cache', tmp_path / 'result.json'
  out = _evaluate(f'--reals=folder:{reals}', f'--fakes=folder:{fakes}', '--metrics=fid,kid',
                  f'--out={out_json}', cache=cache)
  assert out.returncode == 0, out.stderr[-3000:]
  assert out.stderr.count('classifier features of the reals') >= 1, out.stderr
  report = json.loads(out_json.read_text())
  assert report['reals']['num'] == 300 and report['fakes']['num'] == 200
  assert report['reals']['source'] == f'folder:{reals}' and report['resize'] == 'legacy_tf'
  assert len(report['feature_extractor']['weights_sha256']) == 64
  assert report['tf_gans_version'] and report['metrics']['fid']['fid'] > 0
  assert len(list(cache.glob('*.npy'))) == 2
  # A second call, another metric, the same two folders: no feature pass at all.
  again = _evaluate(f'--reals=folder:{reals}', f'--fakes=folder:{fakes}',
                    '--metrics=precision_recall', cache=cache)
  assert again.returncode == 0, again.stderr[-3000:]
  assert 'features of' not in again.stderr, again.stderr
  got = json.loads(again.stdout)
  assert 0 <= got['precision'] <= 1 and 0 <= got['recall'] <= 1


def test_identical_sets_and_a_repeated_image(tmp_path):
  """The regression cases of issue 23: identical -> precision = recall = 1, FID ~ 0; one image
  repeated -> recall ~ 0 with precision high (not swapped, torch-fidelity#58)."""
  digits = _digits_uint8('test')
  np.savez(tmp_path / 'reals.npz', images=digits)
  np.savez(tmp_path / 'same.npz', images=digits)
  np.savez(tmp_path / 'one.npz', images=np.repeat(digits[:1], 300, axis=0))
  cache = tmp_path / 'cache'
  same = _evaluate(f'--reals=npz:{tmp_path / "reals.npz"}', f'--fakes=npz:{tmp_path / "same.npz"}',
                   '--metrics=fid,precision_recall', f'--out={tmp_path / "same.json"}', cache=cache)
  assert same.returncode == 0, same.stderr[-3000:]
  result = json.loads((tmp_path / 'same.json').read_text())['metrics']
  assert abs(result['fid']['fid']) < 1e-6
  assert result['precision_recall']['precision'] == result['precision_recall']['recall'] == 1.0
  one = _evaluate(f'--reals=npz:{tmp_path / "reals.npz"}', f'--fakes=npz:{tmp_path / "one.npz"}',
                  '--metrics=precision_recall', cache=cache)
  assert one.returncode == 0, one.stderr[-3000:]
  got = json.loads(one.stdout)
  assert got['precision'] == 1.0 and got['recall'] <= 5 / 300


def test_bad_sources_and_metrics_are_refused_before_any_feature(tmp_path):
  mixed = tmp_path / 'mixed'
  mixed.mkdir()
  Image.fromarray(np.zeros([8, 8], np.uint8)).save(mixed / 'a.png')
  Image.fromarray(np.zeros([9, 9], np.uint8)).save(mixed / 'b.png')
  out = _evaluate('--reals=digits@test', f'--fakes=folder:{mixed}', '--metrics=fid',
                  cache=tmp_path / 'c')
  assert out.returncode == 2 and 'mixes image sizes' in out.stderr, out.stderr[-2000:]
  np.savez(tmp_path / 'f.npz', images=np.zeros([4, 8, 8], np.float32))
  out = _evaluate('--reals=digits@test', f'--fakes=npz:{tmp_path / "f.npz"}', '--metrics=fid',
                  cache=tmp_path / 'c')
  assert out.returncode == 2 and "--fakes=npz:" in out.stderr and 'expected uint8' in out.stderr
  out = _evaluate('--reals=digits@test', '--fakes=digits@validation', '--metrics=parzen,fid',
                  '--sigma=0.2', cache=tmp_path / 'c')
  assert out.returncode == 2, out.stderr[-2000:]
  assert 'parzen: not computed from two image sources' in out.stderr
  out = _evaluate('--reals=digits@test', '--metrics=fid', cache=tmp_path / 'c')
  assert out.returncode == 2 and '--reals with --fakes is required' in out.stderr
  assert not (tmp_path / 'c').exists()  # nothing was computed


def test_ctrl_c_in_a_feature_pass_keeps_the_rows_and_the_next_call_continues(tmp_path,
                                                                              monkeypatch):
  from tf_gans.metrics import fid  # pylint: disable=import-outside-toplevel
  real_classifier_features = fid.classifier_features
  calls = {'n': 0, 'stop_at': 3}

  def counting(model, *args, **kwargs):
    extract = real_classifier_features(model, *args, **kwargs)

    def run(x):
      calls['n'] += 1
      if calls['n'] == calls['stop_at']:
        raise KeyboardInterrupt
      return extract(x)
    return run
  monkeypatch.setattr(fid, 'classifier_features', counting)
  cache = tmp_path / 'cache'
  args = ('--reals=digits@test', '--fakes=digits@validation', '--metrics=kid')
  out = _evaluate(*args, cache=cache)
  assert out.returncode == 130, out.stderr[-2000:]
  assert 'Traceback' not in out.stderr
  assert out.stderr.strip().splitlines()[-1].startswith(
      'Stopped. the reals (digits@test): 100 of 300 feature rows kept in '), out.stderr
  assert len(list(cache.glob('*.partial.npy'))) == 1
  calls.update(n=0, stop_at=None)
  again = _evaluate(*args, f'--out={tmp_path / "kid.json"}', cache=cache)
  assert again.returncode == 0, again.stderr[-2000:]
  assert calls['n'] == 4 + 4  # the 200 reals left and the 200 fakes, 50 at a time
  assert not list(cache.glob('*.partial.npy'))
  calls.update(n=0)
  fresh = _evaluate(*args, '--out=' + str(tmp_path / 'fresh.json'), cache=tmp_path / 'other')
  assert fresh.returncode == 0 and calls['n'] == 6 + 4
  got, want = (json.loads((tmp_path / n).read_text()) for n in ('kid.json', 'fresh.json'))
  assert got['mean'] == want['mean']  # the continued pass gives the same features

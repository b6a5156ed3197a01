"""The command lines as a user runs them.

Refusals and most outputs are checked by running the command's `main()` in this
process (`inprocess_cli.run_main`: the same flag parsing and messages, no
TensorFlow import per call). A subprocess (3-10 s each) is kept for what only one
shows: the exit status and the clean stderr the shell sees, `--help`, the
quickstart command, and a SavedModel loading where tf_gans was never imported.
Ctrl-C / SIGTERM on a real run: tests/test_train_lifecycle.py.
"""

import json
import os
import re
import subprocess
import sys

import pytest
from PIL import Image

from conftest import REPO
from inprocess_cli import run_main


def run_cli(module, *args, timeout=300):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  return subprocess.run([sys.executable, '-m', f'tf_gans.{module}', *args], capture_output=True,
                        text=True, cwd=REPO, env=env, timeout=timeout)


def refused(out, message, status=2):
  """A refusal: `status`, `message` (a regular expression) on stderr, nothing on stdout."""
  assert out.returncode == status, out.stderr[-2000:]
  assert re.search(message, out.stderr), out.stderr[-2000:]
  assert out.stdout == ''


@pytest.fixture
def in_repo(monkeypatch):
  monkeypatch.chdir(REPO)  # flag files are named relative to the checkout, as in the README


# ------------------------------------------------------------------ subprocesses


def test_a_refusal_is_one_line_and_exit_status_2_in_the_shell(tmp_path):
  logdir = tmp_path / 'run'
  out = run_cli('train', f'--logdir={logdir}', '--d_steps=0')
  assert out.returncode == 2 and 'Traceback' not in out.stderr, out.stderr[-2000:]
  assert out.stderr.strip().splitlines()[-1].startswith('error: --d_steps must be >= 1')
  assert not logdir.exists()


def test_the_quickstart_command_trains_quietly_and_says_what_it_wrote(tmp_path):
  """README's first command, shortened: no TensorFlow start-up noise, one 'Done:' line."""
  logdir = tmp_path / 'quickstart'
  out = run_cli('train', '--flagfile=configs/quickstart.cfg', f'--logdir={logdir}',
                '--steps=20', '--log_every=10', '--sample_every=10', '--checkpoint_every=10',
                '--noprogress')
  assert out.returncode == 0, out.stderr[-2000:]
  assert re.search(rf'Done: step 20; written to {logdir}: checkpoint checkpoints/ckpt-20, .*'
                   r'generator SavedModel export/generator\.', out.stdout), out.stdout
  assert 'Traceback' not in out.stderr and 'cuda' not in out.stderr.lower(), out.stderr[-2000:]


def test_train_help_lists_the_main_flags_and_the_choices():
  out = run_cli('train', '--help')  # absl's --help exits with status 1
  text = ' '.join(out.stdout.split())
  assert 'Traceback' not in out.stderr, out.stderr[-2000:]
  assert 'mlp2014, pggan, standard_cnn_32' in text  # --model's choices, from the registry
  assert 'folder:<path>, mnist_idx:<dir>, tfds:<name>, tfrecords:<dir>' in text  # --dataset's
  for flag in ('logdir', 'resume', 'loss', 'steps', 'fmap_base', 'total_kimg', 'mixed_precision',
               'tf_log'):
    assert f'--{flag}:' in text or f'--[no]{flag}:' in text, flag


# ------------------------------------------------------------------ refusals, in-process


@pytest.mark.parametrize('args, message, status', [
    (['--flagfile=no_such.cfg'], '--flagfile cannot be read: .*no_such.cfg', 2),  # cli.parse_flags
    (['--bogus=1'], "Unknown command line flag 'bogus'", 2),
    (['--d_steps=0'], '--d_steps must be >= 1', 2),
    (['--loss=wgan-typo'], '--loss=wgan-typo: unknown', 2),
    (['--model=pggan', '--mixed_precision=fp8'], r"--mixed_precision.* must be one of .*'fp8'", 2),
    (['--model=pggan', '--dtype=fp8'], r"--dtype.* got 'fp8'", 2),  # one flag, two names
    (['--model=pggan', '--strategy=mirorred'], 'mirorred', 2),
    (['--model=pgan'], 'expected one of dcgan_128, dcgan_256, dcgan_64, mlp2014, pggan,', 2),
    (['--model=pggan', '--d_steps=2'], r'--model=pggan \(pggan training\) does not use --d_steps',
     2),
    (['--fmap_base=16'], r'--model=mlp2014 \(gan training\) does not use --fmap_base', 2),
    (['--model=pggan', '--resolution=64', '--dataset=digits'],
     '--resolution=64, but digits holds 8x8 images', 2),
])
def test_train_refuses_bad_flags_before_any_work(tmp_path, args, message, status):
  logdir = tmp_path / 'run'
  refused(run_main('train', f'--logdir={logdir}', *args), message, status)
  assert not logdir.exists()


def test_train_reports_flagfile_overrides_as_protocol_deviations(tmp_path, in_repo):
  # --d_steps with a loss whose official setup fixes it is allowed but logged; the
  # run then stops before any work on the negative penalty (a second check).
  logdir = tmp_path / 'run'
  out = run_main('train', '--flagfile=configs/rgan/rsgan_s1.cfg', '--d_steps=5',
                 '--nospectral_norm', '--gradient_penalty=-1', f'--logdir={logdir}')
  refused(out, 'gradient_penalty')
  assert ('--d_steps=5 overrides configs/rgan/rsgan_s1.cfg (d_steps=1): a deviation from the '
          'protocol') in out.stderr
  assert '--spectral_norm=False overrides configs/rgan/rsgan_s1.cfg (spectral_norm=True)' in out.stderr
  assert not logdir.exists()


@pytest.mark.parametrize('args, message', [
    ([], 'exactly one of --pkl and --tf1_checkpoint'),
    (['--pkl=a.pkl', '--tf1_checkpoint=b'], 'exactly one of --pkl and --tf1_checkpoint'),
    (['--pkl=a.pkl', '--g_kwargs={}'], '--tf1_checkpoint only'),
    (['--pkl=no_such.pkl'], 'no_such.pkl'),
    (['--tf1_checkpoint=no_such/ckpt', '--g_kwargs=[1]'], '--g_kwargs must be a JSON dict'),
])
def test_convert_refuses_bad_input(tmp_path, args, message):
  refused(run_main('convert', f'--out={tmp_path / "conv"}', *args), message)
  assert not (tmp_path / 'conv').exists()


@pytest.mark.parametrize('args, message', [
    (['--mode=training'], '--mode=training needs --run'),
    (['--model=x', '--out=grid.gif'], '--out for --mode=grid must end in .png'),
])
def test_generate_refuses_bad_flags(args, message):
  refused(run_main('generate', *args), message)


def test_export_refuses_to_overwrite(trained_run, tmp_path):
  target = tmp_path / 'exists'
  target.mkdir()
  refused(run_main('export', f'--logdir={trained_run.logdir}', f'--out={target}'), '--overwrite')
  assert list(target.iterdir()) == []


def test_export_is_quiet_in_the_shell(trained_run, tmp_path):
  """One line on stdout, nothing on stderr: no absl INFO notes on signature input names."""
  out = run_cli('export', f'--logdir={trained_run.logdir}', f'--out={tmp_path / "g"}')
  assert out.returncode == 0, out.stderr[-2000:]
  assert out.stderr == '', out.stderr[-2000:]
  assert out.stdout.strip().splitlines() == [
      f'Exported the generator at step {trained_run.step} to {tmp_path / "g"}.']


def test_flag_errors_in_the_shell_are_one_line_and_exit_status_2(tmp_path):
  out = run_cli('export', f'--logdri={tmp_path}')
  assert out.returncode == 2, out.stderr[-2000:]
  assert out.stderr.splitlines()[0] == (
      "error: Unknown command line flag 'logdri'. Did you mean: logdir ?"), out.stderr


# ------------------------------------------------------------------ outputs, in-process


def test_generate_pngs_writes_one_lossless_file_per_sample(trained_run, tmp_path):
  import numpy as np  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  folder = tmp_path / 'fakes'
  out = run_main('generate', f'--model={trained_run.export_dir}', '--mode=pngs', '--num=10',
                 '--batch_size=4', '--seed=5', f'--out={folder}/')
  assert out.returncode == 0 and f'Wrote 10 PNG files to {folder}/.' in out.stdout, out.stderr
  names = sorted(p.name for p in folder.iterdir())
  assert names == [f'{i:06d}.png' for i in range(10)] + ['generate.json']
  assert json.loads((folder / 'generate.json').read_text())['batch_size'] == 4
  module = tf.saved_model.load(trained_run.export_dir)
  want = np.concatenate([module.signatures['generate'](seed=5 + k, num=n)['images'].numpy()
                         for k, n in enumerate((4, 4, 2))])
  got = np.stack([np.asarray(Image.open(folder / f'{i:06d}.png')) for i in range(10)])
  np.testing.assert_array_equal(got, want[..., 0])  # lossless, in order
  refused(run_main('generate', f'--model={trained_run.export_dir}', '--mode=pngs', '--num=2',
                   f'--out={folder}'), 'exists already')


def test_generate_writes_a_grid(trained_run, tmp_path):
  png = tmp_path / 'grid.png'
  out = run_main('generate', f'--model={trained_run.export_dir}', '--num=9', f'--out={png}',
                 '--upscale=2')
  assert out.returncode == 0, out.stderr[-2000:]
  # 3x3 grid of 8x8 digits, 1 px padding, enlarged twice.
  assert Image.open(png).size == ((3 * 9 + 1) * 2, (3 * 9 + 1) * 2)


def test_evaluate_parzen_writes_json(trained_run, tmp_path):
  result = tmp_path / 'parzen.json'
  out = run_main('evaluate', f'--model={trained_run.export_dir}', '--metric=parzen',
                 '--data=digits', '--split=test', '--valid_split=validation',
                 '--num_samples=500', f'--out={result}')
  assert out.returncode == 0, out.stderr[-2000:]
  got = json.loads(result.read_text())
  assert got['num_test'] == 300 and got['num_centres'] == 500  # the held-out digits
  assert 0.1 <= got['sigma'] <= 1.0 and got['std_error'] > 0


def test_benchmark_writes_json_for_both_variants(tmp_path, in_repo):
  out_path = tmp_path / 'bench.json'
  out = run_main('benchmark', '--flagfile=configs/quickstart.cfg', '--batch_size=10',
                 '--bench_steps=6', '--rounds=2', '--warmup_steps=1', '--compare_jit',
                 '--compare_losses=minimax', f'--out={out_path}')
  assert out.returncode == 0, out.stderr[-2000:]
  report = json.loads(out_path.read_text())
  assert set(report['variants']) == {'default', 'jit_compile', 'loss=minimax'}
  assert report['variants']['loss=minimax']['config']['loss'] == 'minimax'
  assert report['steps_per_sec_relative_to_default']['default'] == 1.0
  for v in report['variants'].values():
    assert v['steps_per_sec'] > 0 and v['first_step_seconds'] > 0 and v['peak_rss_mb_after'] > 100
    assert v['real_images_per_sec'] == pytest.approx(v['steps_per_sec'] * 10)
  assert report['variants']['jit_compile']['config']['jit_compile'] is True
  assert report['rounds'] == 2 and report['bench_steps'] == 6
  assert all(len(v['steps_per_sec_rounds']) == 2 for v in report['variants'].values())
  assert report['jit_speedup'] > 0


def test_evaluate_digit_confidence(trained_run, tmp_path):
  result = tmp_path / 'conf.json'
  out = run_main('evaluate', f'--model={trained_run.export_dir}', '--metric=digit_confidence',
                 '--data=digits', '--split=train', '--reference_split=test',
                 '--classifier_epochs=15', '--num_samples=300', f'--out={result}')
  assert out.returncode == 0, out.stderr[-2000:]
  got = json.loads(result.read_text())
  assert sum(got['label_histogram']) == 300 and len(got['label_histogram']) == 10
  assert 0.0 <= got['fraction_confident'] <= 1.0 and got['threshold'] == 0.9
  real = got['real_reference']  # held-out real digits: the classifier is sure of most
  assert real['num_images'] == 300 and real['fraction_confident'] > 0.8


def test_evaluate_several_metrics_prints_a_table_and_writes_json(tmp_path, mnist_dir):
  # pylint: disable=import-outside-toplevel
  import numpy as np
  from tf_gans.data import dataset_writers as writers
  from tf_gans.data import mnist_idx
  # A 32x32 MNIST TFRecords folder as the data (create_mnist's padding and labels, 1000 of
  # the test digits: the whole split took 9 s to write); the quickstart's digits generator
  # is 8x8, so a (random) 32x32 Gs from an original-format pickle stands in as the model.
  from official_ports.pggan_tf1 import network, pickle_io
  test = mnist_idx.load_mnist_idx(str(mnist_dir), 'test')
  pad = writers.MNIST_PAD
  writers.write_arrays(str(tmp_path / 'mnist'),
                       np.pad(test.images[:1000], ((0, 0), (pad, pad), (pad, pad), (0, 0))),
                       writers.one_hot(test.labels[:1000], writers.MNIST_CLASSES), progress=False)
  sess = network.new_session()
  kw = dict(resolution=32, num_channels=1, fmap_base=32, fmap_max=16, latent_size=16)
  nets = tuple(network.Network(n, f, sess, **kw)
               for n, f in (('G', 'G_paper'), ('D', 'D_paper'), ('Gs', 'G_paper')))
  for i, n in enumerate(nets):
    n.randomize(i)
  pickle_io.save_pkl(tmp_path / 'snapshot.pkl', nets)
  out = run_main('convert', f'--pkl={tmp_path / "snapshot.pkl"}', f'--out={tmp_path / "conv"}')
  assert out.returncode == 0, out.stderr[-2000:]
  result, grid = tmp_path / 'metrics.json', tmp_path / 'nn.png'
  out = run_main('evaluate', f'--model={tmp_path / "conv" / "Gs_savedmodel"}',
                 f'--data=tfrecords:{tmp_path / "mnist"}', '--split=train',
                 '--metrics=swd,ms_ssim,nn', '--features=classifier', '--classifier_epochs=1',
                 '--num_samples=64', '--nn_num=3', f'--nn_out={grid}', f'--out={result}')
  assert out.returncode == 0, out.stderr[-2000:]
  assert 'SWDx1e3_32' in out.stdout and 'ms_ssim_reals' in out.stdout
  got = json.loads(result.read_text())
  assert set(got['metrics']) == {'swd', 'ms_ssim', 'nn'}
  assert got['metrics']['swd']['num_images'] == 64 and got['metrics']['swd']['SWDx1e3_avg'] > 0
  assert len(got['metrics']['nn']['pixel_indices']) == 3 and grid.exists()
  assert 'generating: 64/64' in out.stderr  # progress


def test_convert_pickle_then_generate_and_export(tmp_path):
  """An original-format pickle -> convert -> generate / export; the Gs SavedModel then
  loads in a process that never imports tf_gans (the one subprocess here)."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  from official_ports.pggan_tf1 import network, pickle_io  # pylint: disable=import-outside-toplevel
  sess = network.new_session()
  kw = dict(resolution=16, num_channels=3, label_size=3, fmap_base=64, fmap_max=32, latent_size=16)
  nets = tuple(network.Network(n, f, sess, **kw)
               for n, f in (('G', 'G_paper'), ('D', 'D_paper'), ('Gs', 'G_paper')))
  for i, n in enumerate(nets):
    n.randomize(i)
  pkl = tmp_path / 'network-snapshot-001000.pkl'
  pickle_io.save_pkl(pkl, nets)
  out = run_main('convert', f'--pkl={pkl}', f'--out={tmp_path / "conv"}')
  assert out.returncode == 0, out.stderr[-2000:]
  assert 'Gs: 19 variables' in out.stdout and 'label_size 3' in out.stdout
  saved = tmp_path / 'conv' / 'Gs_savedmodel'

  grid = tmp_path / 'grid.png'
  out = run_main('generate', f'--model={saved}', '--num=6', f'--out={grid}', '--upscale=1')
  assert out.returncode == 0, out.stderr[-2000:]
  assert Image.open(grid).size[0] >= 16 * 3

  # The reference's interpolation video, as a GIF, at half resolution, labels drawn per cell.
  gif = tmp_path / 'walk.gif'
  out = run_main('generate', f'--model={saved}', '--mode=interpolation', '--grid=2',
                 '--resolution=8', '--duration_sec=0.5', '--fps=10', '--smoothing_sec=0.1',
                 f'--out={gif}', '--upscale=1')
  assert out.returncode == 0, out.stderr[-2000:]
  with Image.open(gif) as animation:
    assert animation.n_frames == 5 and animation.size == (2 * 9 + 1, 2 * 9 + 1)

  out = run_main('export', f'--logdir={tmp_path / "conv"}', f'--out={tmp_path / "gs"}')
  assert out.returncode == 0 and 'the converted Gs' in out.stdout, out.stderr[-2000:]

  z = np.random.RandomState(0).randn(2, 16).astype(np.float32)
  labels = np.eye(3, dtype=np.float32)[[0, 2]]
  want = nets[2].run(z, labels).transpose(0, 2, 3, 1)
  np.save(tmp_path / 'z.npy', z)
  np.save(tmp_path / 'labels.npy', labels)
  script = (
      'import sys, numpy as np, tensorflow as tf\n'
      f'm = tf.saved_model.load({str(tmp_path / "gs")!r})\n'
      f'z, l = np.load({str(tmp_path / "z.npy")!r}), np.load({str(tmp_path / "labels.npy")!r})\n'
      'img = m.signatures["serving_default"](latents=z, labels=l)["images"].numpy()\n'
      f'np.save({str(tmp_path / "img.npy")!r}, img)\n'
      'assert not any(k.startswith("tf_gans") for k in sys.modules)\n')
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  proc = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                        cwd=tmp_path, env=env, timeout=300)
  assert proc.returncode == 0, proc.stderr[-2000:]
  np.testing.assert_allclose(np.load(tmp_path / 'img.npy'), want, atol=1e-5, rtol=0)

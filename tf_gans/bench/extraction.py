"""Feature extraction vs the bare Inception forward, memory in N, and oneDNN off vs on, as JSON.

`python -m tf_gans.benchmark --extraction_bench --inception=<weights.h5> --out=x.json`
(issue 23 item 5). Three parts, each optional:

  * ratio: images/s of the project's feature extraction of an image source
    (`features.source_features` of an `npz:` source, no cache: reading,
    uint8 batches, the --resize=legacy_tf preprocessing, the forward pass)
    vs the bare Inception forward (`model.predict_on_batch`) on the same
    images already resized and scaled, in the same batches of 50; both
    timed side by side in interleaved rounds (`timing.interleaved`), the
    ratio of the medians (target >= 0.95).
  * memory: peak RSS (getrusage ru_maxrss) of a fresh process that extracts
    the features of an npz of N images and of 10 N images, each in its own
    subprocess (`python -m tf_gans.bench.extraction --memory_worker ...`),
    with the RSS before the pass (model loaded and traced) and after:
    streamed extraction keeps the increase flat in N.
  * oneDNN: TF_ENABLE_ONEDNN_OPTS=0 vs 1 (read once, when TensorFlow loads,
    so each measurement is its own process), interleaved rounds (each round
    runs every workload under both settings, the order alternating between
    rounds), per workload the median rate, its spread and the per-round
    ratio on / off: the Inception forward (`--inception_worker`: batches of
    50 prepared 299x299 images), the GAN quickstart train step
    (`python -m tf_gans.benchmark --flagfile=configs/quickstart.cfg`) and
    a small PGGAN train step (`--pggan_train` on configs/pggan_digits.cfg's
    network size: fmap_base 32, fmap_max 16, 8x8, batch 16). A setting is
    `clearly_faster` for a workload when it wins every round and its median
    is at least 10% higher.
"""

import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

from tf_gans.bench import timing

ROOT = pathlib.Path(__file__).resolve().parents[2]
CLEAR_MARGIN = 1.10   # 'clearly faster': wins every round and >= 10% higher median


def peak_rss_mb():
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def rss_mb():
  """Current resident set size of this process, in MiB (Linux /proc; None elsewhere)."""
  try:
    with open('/proc/self/statm') as f:
      return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20
  except OSError:
    return None


def _images(num, resolution=32, seed=0):
  return np.random.default_rng(seed).integers(0, 256, [num, resolution, resolution, 3],
                                              dtype=np.uint8)


def _npz_source(folder, num, resolution=32):
  from tf_gans.metrics import sources  # pylint: disable=import-outside-toplevel
  path = os.path.join(folder, f'images_{num}.npz')
  np.savez(path, images=_images(num, resolution))
  return sources.open_source(f'npz:{path}')


def extraction_ratio(weights, num=100, rounds=3, resolution=32, log=print):
  """source_features of an npz source vs the bare forward on the same prepared batches."""
  from tf_gans.metrics import features, inception  # pylint: disable=import-outside-toplevel
  batch = inception.BATCH_SIZE
  model = inception.load_fid_inception(weights)
  extractor = features.get_extractor('inception', inception=weights, resize='legacy_tf',
                                     batch_size=batch)
  with tempfile.TemporaryDirectory() as scratch:
    source = _npz_source(scratch, num, resolution)
    images = _images(num, resolution)
    prepared = [inception.preprocess(images[i:i + batch]).numpy()
                for i in range(0, num, batch)]

    def bare():
      return [model.predict_on_batch(x) for x in prepared]

    def ours():
      return features.source_features(source, extractor, cache_dir='', batch_size=batch,
                                      show_progress=False)
    np.testing.assert_allclose(np.concatenate(bare()), ours(), rtol=1e-4, atol=1e-4)
    median, rates, first = _paired_rounds({'bare_forward': bare, 'source_features': ours}, num,
                                          rounds, log, f'extraction ratio ({num} images)')
  paired = [o / b for b, o in zip(rates['bare_forward'], rates['source_features'])]
  ratio = float(np.median(paired))
  return dict(num_images=num, image_size=resolution, batch_size=batch, rounds=rounds,
              images_per_sec=median, rates_per_round=rates, first_call_seconds=first,
              ratio_per_round=paired, ratio_source_features_over_bare=ratio,
              ratio_of_median_rates=median['source_features'] / median['bare_forward'],
              target=0.95, meets_target=ratio >= 0.95,
              ratio_note='median over rounds of (source_features rate / bare rate) in the same '
                         'round; the order alternates between rounds',
              bare='model.predict_on_batch on the images already resized to 299 and scaled',
              source_features='features.source_features(npz source, legacy_tf, no cache)')


def _paired_rounds(variants, items, rounds, log, label):
  """timing.interleaved with the order reversed on odd rounds (back-to-back pairs)."""
  first = {}
  for name, fn in variants.items():   # build / trace every variant before timing any
    t = time.perf_counter()
    fn()
    first[name] = time.perf_counter() - t
  rates = {name: [] for name in variants}
  for r in range(rounds):
    log(f'{label}: round {r + 1}/{rounds}', flush=True)
    for name in (list(variants) if r % 2 == 0 else list(variants)[::-1]):
      rates[name].append(timing.rate(variants[name], items, 1))
  return {name: float(np.median(v)) for name, v in rates.items()}, rates, first


def memory_worker(weights, num, resolution=32):
  """In this process: peak RSS around source_features of an npz of `num` images."""
  from tf_gans.metrics import features  # pylint: disable=import-outside-toplevel
  extractor = features.get_extractor('inception', inception=weights, resize='legacy_tf')
  with tempfile.TemporaryDirectory() as scratch:
    source = _npz_source(scratch, num, resolution)
    extractor.extract(_images(2, resolution))       # load and trace before measuring
    before, current = peak_rss_mb(), rss_mb()
    t = time.perf_counter()
    out = features.source_features(source, extractor, cache_dir='', show_progress=False)
    seconds = time.perf_counter() - t
  return dict(num_images=num, peak_rss_mb_before=before, peak_rss_mb=peak_rss_mb(),
              increase_mb=peak_rss_mb() - before, rss_mb_before=current, rss_mb_after=rss_mb(),
              seconds=seconds, features_shape=list(out.shape))


def _worker(args, log):
  """Runs `python -m <args>` in a fresh process; its JSON result (None if it failed)."""
  with tempfile.TemporaryDirectory() as scratch:
    out = os.path.join(scratch, 'out.json')
    env = dict(os.environ)
    cmd = [sys.executable, '-m', *[a.replace('{OUT}', out) for a in args['argv']]]
    env.update(args.get('env', {}))
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=str(ROOT), capture_output=True, text=True,
                          check=False)
    wall = time.perf_counter() - t
    if proc.returncode or not os.path.isfile(out):
      log(f'  worker failed ({proc.returncode}): {" ".join(cmd)}\n{proc.stderr[-2000:]}')
      return None
    with open(out) as f:
      result = json.load(f)
  result['wall_seconds'] = wall
  result['onednn_on_message'] = 'oneDNN custom operations are on' in proc.stderr
  return result


def memory(weights, num=50, factor=10, resolution=32, log=print):
  """Peak RSS of the extraction for num and factor * num images, each in a fresh process."""
  runs = []
  for n in (num, factor * num):
    log(f'memory: {n} images in a fresh process ...', flush=True)
    runs.append(_worker({'argv': ['tf_gans.bench.extraction', '--memory_worker', weights,
                                  str(n), str(resolution), '{OUT}']}, log))
  if None in runs:
    raise RuntimeError('a memory worker failed (see its stderr above)')
  small, large = runs
  return dict(runs=runs, increase_ratio_large_over_small=(
      large['increase_mb'] / small['increase_mb'] if small['increase_mb'] > 0 else None),
              peak_rss_ratio_large_over_small=large['peak_rss_mb'] / small['peak_rss_mb'],
              rss_after_ratio_large_over_small=large['rss_mb_after'] / small['rss_mb_after'],
              note='peak RSS = getrusage ru_maxrss of each fresh process; increase = the '
                   'peak after the pass minus the peak before it (model loaded and traced); '
                   'rss_mb_before / after: the resident size just before and after the pass')


def inception_worker(weights, iters=4):
  """In this process: images/s of the bare Inception forward on a fixed batch of 50."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from tf_gans.metrics import inception  # pylint: disable=import-outside-toplevel
  model = inception.load_fid_inception(weights)
  x = inception.preprocess(_images(inception.BATCH_SIZE, 64)).numpy()
  model.predict_on_batch(x)
  model.predict_on_batch(x)
  rate = timing.rate(lambda: model.predict_on_batch(x), len(x), iters)
  return dict(rate=rate, unit='images/s', tensorflow=tf.__version__)


def _workloads(weights, gan_steps, pggan_iters):
  """{name: (argv of the worker, function reading its rate from the worker's JSON)}."""
  return {
      'inception_forward': (
          ['tf_gans.bench.extraction', '--inception_worker', weights, '{OUT}'],
          lambda r: r['rate'], 'images/s'),
      'gan_quickstart_train_step': (
          ['tf_gans.benchmark', f'--flagfile={ROOT / "configs" / "quickstart.cfg"}',
           f'--bench_steps={gan_steps}', '--warmup_steps=20', '--rounds=1', '--out={OUT}'],
          lambda r: r['variants']['default']['steps_per_sec'], 'steps/s'),
      'pggan_small_train_step': (
          ['tf_gans.benchmark', '--pggan_train=8', '--pggan_resolution=8',
           '--pggan_fmap_base=32', '--pggan_fmap_max=16', '--pggan_batch=16', '--rounds=1',
           f'--pggan_iters={pggan_iters}', '--out={OUT}'],
          lambda r: r['results'][0]['ours_images_per_sec'], 'images/s (D step + G step)'),
  }


def _verdict(off, on):
  """'on' / 'off' when that setting wins every round and its median is CLEAR_MARGIN higher."""
  m_off, m_on = float(np.median(off)), float(np.median(on))
  if all(b > a for a, b in zip(off, on)) and m_on >= CLEAR_MARGIN * m_off:
    return 'on'
  if all(a > b for a, b in zip(off, on)) and m_off >= CLEAR_MARGIN * m_on:
    return 'off'
  return None


def onednn(weights, rounds=3, gan_steps=300, pggan_iters=20, workloads=None, log=print,
           partial=None):
  """TF_ENABLE_ONEDNN_OPTS=0 vs 1 per workload, fresh processes, interleaved rounds."""
  table = _workloads(weights, gan_steps, pggan_iters)
  names = list(workloads or table)
  unknown = [n for n in names if n not in table]
  if unknown:
    raise ValueError(f'--onednn_workloads: unknown {unknown}; expected some of {list(table)}.')
  runs = {n: {'0': [], '1': []} for n in names}
  report = dict(rounds=rounds, runs=runs, summary={})
  for r in range(rounds):
    for name in names:
      argv, read, unit = table[name]
      for setting in (('0', '1') if r % 2 == 0 else ('1', '0')):
        log(f'oneDNN round {r + 1}/{rounds}: {name} with TF_ENABLE_ONEDNN_OPTS={setting} ...',
            flush=True)
        result = _worker({'argv': argv, 'env': {'TF_ENABLE_ONEDNN_OPTS': setting}}, log)
        runs[name][setting].append(None if result is None else dict(
            rate=read(result), wall_seconds=result['wall_seconds'],
            onednn_on_message=result['onednn_on_message']))
        if result is not None:
          log(f'  {read(result):.3g} {unit}', flush=True)
    if partial:
      partial(report)
  for name in names:
    off = [x['rate'] for x in runs[name]['0'] if x]
    on = [x['rate'] for x in runs[name]['1'] if x]
    if not off or not on:
      report['summary'][name] = dict(error='a worker failed')
      continue
    paired = [b / a for a, b in zip(off, on)]
    report['summary'][name] = dict(
        unit=table[name][2], off_median=float(np.median(off)), on_median=float(np.median(on)),
        off_range=[min(off), max(off)], on_range=[min(on), max(on)],
        on_over_off_per_round=paired, on_over_off_median=float(np.median(paired)),
        clearly_faster=_verdict(off, on))
  return report


def run(weights, num=100, memory_num=50, rounds=3, onednn_rounds=3, parts=('ratio', 'memory',
                                                                          'onednn'),
        gan_steps=300, pggan_iters=20, log=print, partial=None):
  """The report (see the module doc): the parts named in `parts`."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  if not weights or not os.path.isfile(weights):
    raise ValueError(f'--extraction_bench needs --inception=<weights file> (got {weights!r}; '
                     'make one with `python -m tf_gans.tools.import_inception`).')
  unknown = [p for p in parts if p not in ('ratio', 'memory', 'onednn')]
  if unknown:
    raise ValueError(f'--extraction_parts: unknown {unknown}; expected ratio, memory, onednn.')
  report = dict(benchmark='extraction', tensorflow=tf.__version__, cpu_count=os.cpu_count(),
                onednn_env=os.environ.get('TF_ENABLE_ONEDNN_OPTS'), weights=weights)
  if 'ratio' in parts:
    report['ratio'] = extraction_ratio(weights, num, rounds, log=log)
    if partial:
      partial(report)
  if 'memory' in parts:
    report['memory'] = memory(weights, memory_num, log=log)
    if partial:
      partial(report)
  if 'onednn' in parts:
    report['onednn'] = onednn(weights, onednn_rounds, gan_steps, pggan_iters, log=log,
                              partial=lambda o: partial(dict(report, onednn=o)) if partial
                              else None)
  return report


def _main(argv):
  if len(argv) == 5 and argv[0] == '--memory_worker':
    result = memory_worker(argv[1], int(argv[2]), int(argv[3]))
  elif len(argv) == 3 and argv[0] == '--inception_worker':
    result = inception_worker(argv[1])
  else:
    sys.exit('usage (internal; see python -m tf_gans.benchmark --extraction_bench): '
             'python -m tf_gans.bench.extraction --memory_worker WEIGHTS NUM RESOLUTION OUT | '
             '--inception_worker WEIGHTS OUT')
  with open(argv[-1], 'w') as f:
    json.dump(result, f, indent=1)


if __name__ == '__main__':
  _main(sys.argv[1:])

"""PGGAN forward-pass benchmark: our Keras Gs vs the official_ports TF1 graph.

`python -m tf_gans.benchmark --pggan_forward=128,1024 [--pggan_batch=4]
[--pggan_fmap_base=8192 --pggan_fmap_max=512] --out=bench.json`

For each resolution both sides get the same weights (the oracle's random
weights, copied into our Gs through the converter's checked copy), the same
latents and the same batch, at lod 0. Ours runs as one traced `tf.function`
(NHWC); the oracle runs its 'recursive' runtime graph in a `tf.compat.v1`
Session (NCHW between ops, as the reference). Both are warmed up, then timed
in interleaved rounds (median rate), so background load hits both alike.
The JSON also holds the max abs difference of the two outputs. This is a dev
tool: it imports `official_ports` (installed with the package).
"""

import time

import numpy as np


def _median_rate(fn, batch, iters):
  t = time.perf_counter()
  for _ in range(iters):
    fn()
  return batch * iters / (time.perf_counter() - t)


def forward_pass(resolution, batch, fmap_base, fmap_max, rounds, iters, log=print):
  """images/s of our Gs and the oracle's at one resolution, side by side."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from official_ports.pggan_tf1 import network  # pylint: disable=import-outside-toplevel
  from tf_gans.models import pggan, pggan_convert  # pylint: disable=import-outside-toplevel
  kwargs = dict(resolution=resolution, num_channels=3, fmap_base=fmap_base, fmap_max=fmap_max)
  oracle = network.Network('Gs', 'G_paper', network.new_session(), **kwargs)
  oracle.randomize(0)
  ours = pggan.G_paper(**kwargs, name='Gs')
  pggan_convert.assign_reference_weights(ours, oracle.get_vars(), 'oracle')
  z = np.random.default_rng(0).standard_normal([batch, ours.latent_size]).astype(np.float32)
  labels = np.zeros([batch, 0], np.float32)
  forward = tf.function(lambda latents: ours(latents))
  z_tf = tf.constant(z)

  def run_ours():
    return forward(z_tf).numpy()

  def run_oracle():
    return oracle.run(z, labels)

  t = time.perf_counter()
  got = run_ours()
  first_ours = time.perf_counter() - t
  t = time.perf_counter()
  want = run_oracle()
  first_oracle = time.perf_counter() - t
  max_abs_diff = float(np.abs(got - want.transpose(0, 2, 3, 1)).max())
  run_ours()
  run_oracle()
  rates = {'ours': [], 'official_ports': []}
  for r in range(rounds):
    log(f'  {resolution}x{resolution}: round {r + 1}/{rounds}', flush=True)
    rates['ours'].append(_median_rate(run_ours, batch, iters))
    rates['official_ports'].append(_median_rate(run_oracle, batch, iters))
  ours_rate = float(np.median(rates['ours']))
  oracle_rate = float(np.median(rates['official_ports']))
  params = sum(int(np.prod(v.shape)) for n, v in ours.reference_variables().items() if n != 'lod')
  return dict(resolution=resolution, batch=batch, fmap_base=fmap_base, fmap_max=fmap_max,
              parameters=params, iters_per_round=iters, rounds=rounds,
              ours_images_per_sec=ours_rate, official_ports_images_per_sec=oracle_rate,
              speedup_ours_over_official_ports=ours_rate / oracle_rate,
              rates_per_round=rates, first_call_seconds={'ours': first_ours,
                                                         'official_ports': first_oracle},
              max_abs_diff=max_abs_diff)


def run(resolutions, batch, fmap_base, fmap_max, rounds, iters, log=print):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  results = []
  for res in resolutions:
    log(f'PGGAN Gs forward pass at {res}x{res} (batch {batch}) ...', flush=True)
    results.append(forward_pass(res, batch, fmap_base, fmap_max, rounds, iters, log))
  return dict(benchmark='pggan_forward', tensorflow=tf.__version__,
              devices=[d.name for d in tf.config.list_logical_devices()], results=results)

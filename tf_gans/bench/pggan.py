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

`--pggan_train` times the whole train step per phase the same way
(`run_train`), and `--pggan_profile=256,1024` says where its time goes
(`profile_train`): op self-time by op type, kind and stage (forward, backward,
the gradient penalty's forward / backward / double backprop, optimizer, Gs
moving average), ours and the oracle's, from TensorFlow's host profiler.
"""

import re

import numpy as np

from tf_gans.bench import timing


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

  got, want = run_ours(), run_oracle()
  max_abs_diff = float(np.abs(got - want.transpose(0, 2, 3, 1)).max())
  median, rates, first = timing.interleaved(
      {'ours': run_ours, 'official_ports': run_oracle}, batch, rounds, iters,
      lambda msg: log(f'  {resolution}x{resolution}: {msg}', flush=True))
  ours_rate, oracle_rate = median['ours'], median['official_ports']
  params = sum(int(np.prod(v.shape)) for n, v in ours.reference_variables().items() if n != 'lod')
  return dict(resolution=resolution, batch=batch, fmap_base=fmap_base, fmap_max=fmap_max,
              parameters=params, iters_per_round=iters, rounds=rounds,
              ours_images_per_sec=ours_rate, official_ports_images_per_sec=oracle_rate,
              speedup_ours_over_official_ports=ours_rate / oracle_rate,
              rates_per_round=rates, first_call_seconds=first,
              max_abs_diff=max_abs_diff)


def run(resolutions, batch, fmap_base, fmap_max, rounds, iters, log=print):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  results = []
  for res in resolutions:
    log(f'PGGAN Gs forward pass at {res}x{res} (batch {batch}) ...', flush=True)
    results.append(forward_pass(res, batch, fmap_base, fmap_max, rounds, iters, log))
  return dict(benchmark='pggan_forward', tensorflow=tf.__version__,
              devices=[d.name for d in tf.config.list_logical_devices()], results=results)


def _oracle_train_graph(resolution, batch, res_phase, kwargs, seed):
  """The reference's training step in TF1: full-size reals, D + Gs update, G update."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from official_ports.pggan_tf1 import loss as oracle_loss  # pylint: disable=import-outside-toplevel
  from official_ports.pggan_tf1 import network, networks  # pylint: disable=import-outside-toplevel
  tf1 = tf.compat.v1
  sess = network.new_session()
  G = network.Network('G', 'G_paper', sess, **kwargs)  # pylint: disable=invalid-name
  D = network.Network('D', 'D_paper', sess, **kwargs)  # pylint: disable=invalid-name
  Gs = network.Network('Gs', 'G_paper', sess, **kwargs)  # pylint: disable=invalid-name
  for net, s in ((G, seed), (D, seed + 1)):
    net.randomize(s)
  Gs.set_vars(G.get_vars())
  lod = float(np.log2(resolution // res_phase))
  for net in (G, D, Gs):
    net.set_vars({'lod': np.float32(lod)})
  with sess.graph.as_default():
    reals_in = tf1.placeholder(tf.float32, [batch, 3, res_phase, res_phase])
    latents = tf1.placeholder(tf.float32, [batch, G.static_kwargs.get('latent_size') or None])
    alpha = tf1.placeholder(tf.float32, [batch, 1, 1, 1])
    labels = tf.zeros([batch, 0])
    reals = networks.upscale2d(reals_in, resolution // res_phase)   # process_reals' UpscaleLOD
    d_loss = tf.reduce_mean(oracle_loss.D_wgangp_acgan(G, D, reals, labels, latents, alpha))
    g_loss = tf.reduce_mean(oracle_loss.G_wgan_acgan(G, D, latents, labels))
    adam = lambda: tf1.train.AdamOptimizer(0.001, beta1=0.0, beta2=0.99, epsilon=1e-8)
    d_train = adam().minimize(d_loss, var_list=list(D.trainables.values()))
    with tf.control_dependencies([d_train]), tf1.name_scope('GsUpdate'):
      gs_update = tf.group(*[gs.assign(G.trainables[n] + (gs - G.trainables[n]) * 0.999)
                             for n, gs in Gs.trainables.items()])
    g_train = adam().minimize(g_loss, var_list=list(G.trainables.values()))
    sess.run(tf1.variables_initializer([v for v in tf1.global_variables()
                                        if 'Adam' in v.name or 'beta' in v.name]))
  rng = np.random.default_rng(seed)
  feed = {reals_in: rng.uniform(-1, 1, [batch, 3, res_phase, res_phase]).astype(np.float32),
          latents: rng.standard_normal([batch, G.vars['4x4/Dense/weight'].shape[0]]).astype(
              np.float32),
          alpha: rng.uniform(size=[batch, 1, 1, 1]).astype(np.float32)}
  return lambda: (sess.run([d_train, gs_update], feed), sess.run(g_train, feed))


def _our_train_step(resolution, res_phase, batch, kwargs, jit_compile, strategy=None,
                    dtype='float32'):
  """A closure running our D step (+ Gs update) and G step once, to completion.

  With a `strategy` the global minibatch `batch` is split over its replicas; with
  dtype float16 the loss scales start at 2^12 (the reference's 2^64 start skips the
  first ~50 steps, which would time nothing).
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from tf_gans.models import pggan  # pylint: disable=import-outside-toplevel
  from tf_gans.progressive import trainer as trainer_lib  # pylint: disable=import-outside-toplevel
  strategy = strategy or tf.distribute.get_strategy()
  with strategy.scope():
    nets = [pggan.G_paper(**kwargs, dtype=dtype, name=n) for n in ('G', 'Gs')]
    D = pggan.D_paper(**kwargs, dtype=dtype)  # pylint: disable=invalid-name
  trainer = trainer_lib.ProgressiveTrainer(nets[0], D, nets[1], np.zeros([1, 0], np.float32),
                                           seed=0, jit_compile=jit_compile, strategy=strategy,
                                           loss_scaling=dtype == 'float16')
  if trainer.loss_scaling:
    with strategy.scope():
      trainer.D_log2_scale.assign(12.0)
      trainer.G_log2_scale.assign(12.0)
  trainer.set_schedule(float(np.log2(resolution // res_phase)), 0.001, 0.001)
  reals = np.random.default_rng(0).integers(0, 256, [batch, res_phase, res_phase, 3]).astype(
      np.uint8)
  labels = np.zeros([batch, 0], np.float32)

  def run():
    trainer.d_step(reals, labels, res_phase)
    trainer.g_step(batch, res_phase)
    trainer.step.numpy()  # wait for the step

  return run


def train_step(resolution, res_phase, batch, fmap_base, fmap_max, rounds, iters, log=print,
               jit=True, strategies=(), dtypes=()):
  """images/s of one D step (+ Gs update) and one G step: ours vs the oracle, side by side.

  Extra variants of ours: with XLA (`jit`), under each named strategy (`ours_mirrored`:
  the same global batch split over the replicas) and in each compute dtype
  (`ours_bfloat16`, `ours_float16`); each gets `<variant>_over_ours`.
  """
  from tf_gans.training import strategy as strategy_lib  # pylint: disable=import-outside-toplevel
  kwargs = dict(resolution=resolution, num_channels=3, fmap_base=fmap_base, fmap_max=fmap_max)
  variants = {'official_ports': _oracle_train_graph(resolution, batch, res_phase, kwargs, seed=0),
              'ours': _our_train_step(resolution, res_phase, batch, kwargs, False)}
  if jit:
    variants['ours_xla'] = _our_train_step(resolution, res_phase, batch, kwargs, True)
  for name in strategies:
    variants[f'ours_{name}'] = _our_train_step(resolution, res_phase, batch, kwargs, False,
                                               strategy=strategy_lib.get(name))
  for dtype in dtypes:
    variants[f'ours_{dtype}'] = _our_train_step(resolution, res_phase, batch, kwargs, False,
                                                dtype=dtype)
  median, rates, first = timing.interleaved(
      variants, batch, rounds, iters,
      lambda msg: log(f'  train step at {res_phase}x{res_phase} of {resolution}: {msg}',
                      flush=True))
  out = dict(resolution=resolution, phase_resolution=res_phase, batch=batch,
             fmap_base=fmap_base, fmap_max=fmap_max, ours_images_per_sec=median['ours'],
             official_ports_images_per_sec=median['official_ports'],
             speedup_ours_over_official_ports=median['ours'] / median['official_ports'],
             rates_per_round=rates, first_step_seconds=first)
  if jit:
    out['ours_xla_images_per_sec'] = median['ours_xla']
    out['speedup_xla_over_ours'] = median['ours_xla'] / median['ours']
  for name in variants:
    if name.startswith('ours_') and name != 'ours_xla':
      out[f'{name}_images_per_sec'] = median[name]
      out[f'{name}_over_ours'] = median[name] / median['ours']
  return out


def run_train(resolution, phases, batch, fmap_base, fmap_max, rounds, iters, log=print,
              jit=True, strategies=(), dtypes=(), partial=None):
  """`train_step` at each phase resolution of a network of `resolution`, as one JSON report.

  partial: called with the report so far after each phase (a long run keeps what it has).
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  report = dict(benchmark='pggan_train', tensorflow=tf.__version__,
                devices=[d.name for d in tf.config.list_logical_devices()], results=[])
  for res_phase in phases:
    log(f'PGGAN train step at {res_phase}x{res_phase} (network {resolution}, batch {batch}) ...',
        flush=True)
    report['results'].append(train_step(resolution, res_phase, batch, fmap_base, fmap_max,
                                         rounds, iters, log, jit, strategies, dtypes))
    if partial:
      partial(report)
  return report


def worker_rates(resolution, phases, batch, fmap_base, fmap_max, iters, strategy_name):
  """{phase resolution: images/s} of our train step in this process under a strategy.

  What each process of `multi_worker` runs (`benchmark --pggan_worker_out`); under
  MultiWorkerMirroredStrategy the collectives keep the workers in step, so the
  chief's rate is the run's.
  """
  from tf_gans.training import strategy as strategy_lib  # pylint: disable=import-outside-toplevel
  strategy = strategy_lib.get(strategy_name)  # first: before any TensorFlow op
  kwargs = dict(resolution=resolution, num_channels=3, fmap_base=fmap_base, fmap_max=fmap_max)
  rates = {}
  for res_phase in phases:
    step = _our_train_step(resolution, res_phase, batch, kwargs, False, strategy=strategy)
    median, _, _ = timing.interleaved({'ours': step}, batch, 1, iters)
    rates[res_phase] = median['ours']
  return rates


def multi_worker(resolution, phases, batch, fmap_base, fmap_max, rounds, iters, scratch,
                 log=print):
  """Our PGGAN train step per phase: one process vs two MultiWorkerMirroredStrategy workers.

  Both train the same global minibatch; each process builds, warms up and times every
  phase itself (start-up and tracing are not timed). The single process and the worker
  pair alternate for `rounds` rounds; rates are medians over rounds. On one machine the
  two workers share its cores, so the ratio is the strategy's cost, not a speed-up.
  """
  import json  # pylint: disable=import-outside-toplevel
  import os  # pylint: disable=import-outside-toplevel
  import subprocess  # pylint: disable=import-outside-toplevel
  import sys  # pylint: disable=import-outside-toplevel
  from tf_gans.training import strategy as strategy_lib  # pylint: disable=import-outside-toplevel
  args = [sys.executable, '-m', 'tf_gans.benchmark', f'--pggan_train={",".join(map(str, phases))}',
          f'--pggan_resolution={resolution}', f'--pggan_batch={batch}',
          f'--pggan_fmap_base={fmap_base}', f'--pggan_fmap_max={fmap_max}',
          f'--pggan_iters={iters}']
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  rates = {'single_process': [], 'two_workers': []}
  for r in range(rounds):
    for name, configs in (('single_process', [None]),
                          ('two_workers', strategy_lib.loopback_tf_configs(2))):
      log(f'round {r + 1}/{rounds}: {name} ...', flush=True)
      outs = [os.path.join(scratch, f'{name}-{r}-{i}.json') for i in range(len(configs))]
      # stderr to files: a full pipe would stall a worker, and its peer with it.
      errs = [open(out + '.stderr', 'w+b') for out in outs]  # pylint: disable=consider-using-with
      procs = [subprocess.Popen(
          args + [f'--pggan_worker_out={out}']
          + (['--strategy=multi_worker'] if config else []),
          env=dict(env, TF_CONFIG=config) if config else env,
          stdout=subprocess.DEVNULL, stderr=err) for config, out, err in zip(configs, outs, errs)]
      try:
        for p, err in zip(procs, errs):
          if p.wait(timeout=3600):
            err.seek(0)
            raise RuntimeError(f'benchmark process failed: {err.read().decode()[-2000:]}')
      finally:
        for p, err in zip(procs, errs):
          if p.poll() is None:
            p.kill()
          err.close()
      with open(outs[0]) as f:
        rates[name].append({int(k): v for k, v in json.load(f).items()})
  results = []
  for res_phase in phases:
    single = float(np.median([x[res_phase] for x in rates['single_process']]))
    two = float(np.median([x[res_phase] for x in rates['two_workers']]))
    results.append(dict(phase_resolution=res_phase, single_process_images_per_sec=single,
                        two_workers_images_per_sec=two, two_workers_over_single=two / single,
                        rounds={k: [x[res_phase] for x in v] for k, v in rates.items()}))
  return dict(benchmark='pggan_multi_worker', resolution=resolution, batch=batch,
              fmap_base=fmap_base, fmap_max=fmap_max, iters=iters, results=results)


# Where the train step's time goes: a per-op-type breakdown of both sides.

_GRAD_MARKER = re.compile(r'^(gradients(_\d+)?|gradient_tape)$')
_OPTIMIZER = re.compile(r'(^|/)(adam|Adam)(_\d+)?(/|$)|ApplyAdam$')


def op_type(name):
  """TensorFlow's kernel type without oneDNN's rewrite prefix: _MklNativeConv2D -> Conv2D."""
  for prefix in ('_MklNative', '_Mkl', '_'):
    if name.startswith(prefix):
      return name[len(prefix):]
  return name


def op_kind(typ):
  """A coarser bucket of an op type (convolutions, transposes, pooling, matmul, ...)."""
  if typ in ('Conv2D', 'FusedConv2D', 'DepthwiseConv2dNative'):
    return 'conv2d'
  if typ.startswith('Conv2DBackprop'):
    return typ[len('Conv2D'):].lower()   # backpropinput (also conv2d_transpose's forward)
  if typ in ('Transpose', 'ConjugateTranspose'):
    return 'transpose'
  if 'MatMul' in typ:
    return 'matmul'
  if 'Pool' in typ:
    return 'pooling'
  if typ in ('Sum', 'Mean', 'Max', 'Min', 'Prod', 'All', 'Any'):
    return 'reduction'
  if typ in ('Tile', 'Reshape', 'Pad', 'Slice', 'StridedSlice', 'StridedSliceGrad', 'ConcatV2',
             'Pack', 'Identity', 'Fill', 'ZerosLike', 'OnesLike', 'BroadcastTo', 'Reverse',
             'ReverseV2', 'Squeeze', 'ExpandDims', 'Split', 'SplitV', 'Unpack'):
    return 'data_movement'
  if 'Variable' in typ or typ in ('Assign', 'AssignAdd', 'AssignSub') or 'ApplyAdam' in typ:
    return 'variables_and_updates'
  if typ in ('If', 'StatelessIf', 'While', 'PartitionedCall', 'StatefulPartitionedCall',
             'Switch', 'Merge', 'OptionalFromValue', 'OptionalGetValue', 'OptionalNone',
             'NoOp', 'Const', '_Retval', '_Arg', 'Placeholder'):
    return 'control_flow'
  return 'elementwise'


def op_stage(name):
  """Which part of the step an op belongs to, from its name scope.

  Both sides build the penalty under a 'GradientPenalty' scope and the Gs moving
  average under 'GsUpdate'. Gradient ops are named after the forward op they
  differentiate, under 'gradients' (TF1 `tf.gradients`) or 'gradient_tape'
  (`tf.GradientTape`, which always names them 'gradient_tape/<forward scope>',
  so the penalty's input gradient and the outer backprop through the penalty's
  D(mixed) get the same prefix): penalty ops with one gradient marker are
  'gp_backward' (its input gradient, and the weight gradient of D(mixed)),
  with two 'gp_double_backprop' (the backprop through the input gradient).
  A TF1 cond's gradient function names its body '.../cond_grad/.../gradients/...':
  markers after a '*_grad' token are that body's, not another order of gradient.
  """
  if _OPTIMIZER.search(name):
    return 'optimizer'
  tokens = name.split('/')
  if any(t.startswith('GsUpdate') for t in tokens):
    return 'gs_ema'
  markers = 0
  for t in tokens:
    if t.endswith('_grad'):
      break
    markers += bool(_GRAD_MARKER.match(t))
  if not any(t.startswith('GradientPenalty') for t in tokens):
    return 'backward' if markers else 'forward'
  return ('gp_forward', 'gp_backward', 'gp_double_backprop')[min(markers, 2)]


def _op_events(xspace_path):
  """[(op name, op type, self microseconds)] of the executor's op events in an xplane.pb.

  The host tracer records each kernel as an event 'name:Type' on the thread that
  ran it; nested op events (function calls, cond branches run inline) are
  subtracted from their parent, so each microsecond is counted once per thread.
  """
  from tensorflow.tsl.profiler.protobuf import xplane_pb2  # pylint: disable=import-outside-toplevel
  space = xplane_pb2.XSpace()
  with open(xspace_path, 'rb') as f:
    space.ParseFromString(f.read())
  out = []
  for plane in space.planes:
    if plane.name != '/host:CPU':
      continue
    meta = plane.event_metadata
    for line in plane.lines:
      events = []
      for ev in line.events:
        name = meta[ev.metadata_id].name
        if ':' not in name or ' ' in name or '::' in name:
          continue
        op, typ = name.rsplit(':', 1)
        events.append((ev.offset_ps, ev.offset_ps + ev.duration_ps, op, typ))
      events.sort(key=lambda e: (e[0], -e[1]))
      stack = []   # [start, end, op, typ, child ps]
      for start, end, op, typ in events:
        while stack and stack[-1][1] <= start:
          s = stack.pop()
          out.append((s[2], s[3], (s[1] - s[0] - s[4]) / 1e6))
        if stack:
          stack[-1][4] += end - start
        stack.append([start, end, op, typ, 0])
      out.extend((s[2], s[3], (s[1] - s[0] - s[4]) / 1e6) for s in stack)
  return out


def breakdown(events, steps, wall_seconds, top=20):
  """Per-step op self-time by op type, kind and stage (ms and % of the op total)."""
  import collections  # pylint: disable=import-outside-toplevel
  total = sum(e[2] for e in events) or 1.0

  def table(key, limit=None):
    acc = collections.Counter()
    for name, typ, us in events:
      acc[key(name, typ)] += us
    return [dict(name=k, ms_per_step=v / 1e3 / steps, percent=100.0 * v / total)
            for k, v in acc.most_common(limit)]

  return dict(steps=steps, wall_ms_per_step=1e3 * wall_seconds / steps,
              op_ms_per_step=total / 1e3 / steps,
              op_time_over_wall=total / 1e6 / wall_seconds,   # > 1: ops overlapped
              by_op_type=table(lambda n, t: op_type(t), top),
              by_kind=table(lambda n, t: op_kind(op_type(t))),
              by_stage=table(lambda n, t: op_stage(n)),
              by_stage_and_kind=table(lambda n, t: f'{op_stage(n)}/{op_kind(op_type(t))}', top))


def profile_variant(fn, steps, logdir):
  """Runs fn() `steps` times under TensorFlow's host profiler; the op breakdown."""
  import glob  # pylint: disable=import-outside-toplevel
  import time  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  options = tf.profiler.experimental.ProfilerOptions(host_tracer_level=2, python_tracer_level=0,
                                                     device_tracer_level=0)
  tf.profiler.experimental.start(logdir, options=options)
  t = time.perf_counter()
  try:
    for _ in range(steps):
      fn()
    wall = time.perf_counter() - t
  finally:
    tf.profiler.experimental.stop()
  (path,) = glob.glob(f'{logdir}/**/*.xplane.pb', recursive=True)
  return breakdown(_op_events(path), steps, wall)


def profile_train(resolution, phases, batch, fmap_base, fmap_max, steps, scratch, log=print,
                  jit=False, partial=None):
  """The op-type breakdown of one train step per phase, ours and the oracle's.

  Same networks, minibatch and phases as `train_step`; each side is warmed up,
  then runs `steps` steps under the host profiler (`tf.profiler.experimental`);
  the op events are aggregated by self time (op type, kind, stage). The rates
  of `train_step` are the speed-up; this says where the time goes (the wall
  times here include the profiler's overhead). partial: as in `run_train`.
  """
  import gc  # pylint: disable=import-outside-toplevel
  import os  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  kwargs = dict(resolution=resolution, num_channels=3, fmap_base=fmap_base, fmap_max=fmap_max)
  report = dict(benchmark='pggan_profile', tensorflow=tf.__version__, resolution=resolution,
                batch=batch, fmap_base=fmap_base, fmap_max=fmap_max, results=[])
  for res_phase in phases:
    log(f'profiling the train step at {res_phase}x{res_phase} (network {resolution}) ...',
        flush=True)
    variants = {'official_ports': _oracle_train_graph(resolution, batch, res_phase, kwargs, 0),
                'ours': _our_train_step(resolution, res_phase, batch, kwargs, False)}
    if jit:
      variants['ours_xla'] = _our_train_step(resolution, res_phase, batch, kwargs, True)
    for fn in variants.values():
      fn()
      fn()
    out = dict(phase_resolution=res_phase)
    for name, fn in variants.items():
      out[name] = profile_variant(fn, steps, os.path.join(scratch, f'{res_phase}-{name}'))
    out['wall_ratio_official_over_ours'] = (out['official_ports']['wall_ms_per_step']
                                            / out['ours']['wall_ms_per_step'])
    report['results'].append(out)
    del variants, fn   # free this phase's graphs and sessions before the next
    gc.collect()
    if partial:
      partial(report)
  return report

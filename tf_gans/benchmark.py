"""Training-speed benchmark, written as JSON:
`python -m tf_gans.benchmark --flagfile=configs/quickstart.cfg --bench_steps=300 --out=bench.json`.

Builds the run the flags describe (without writing a run folder) and measures,
for each variant side by side in one process: time to the first step (tracing
included), train steps/s and images/s over `--bench_steps` steps after a
warm-up, and the process's peak RSS. Variants: `default` and, with
`--compare_jit`, the same step XLA-compiled, and with `--compare_losses` the
same run with each named loss; report ratios, not absolute times (these
machines are shared). All variants are built first and then timed in
`--rounds` interleaved rounds (each round runs every variant for
bench_steps / rounds steps); a variant's rate is its median over the rounds,
so a change in background load hits every variant alike.

`--pggan_forward=128,1024` instead times the PGGAN Gs forward pass, ours vs
the official_ports TF1 graph, and `--pggan_train=4,...,1024` the PGGAN train
step per phase (`tf_gans.bench.pggan`; `--pggan_profile=256,1024` where its time
goes, per op type, both sides), with `--compare_strategies=mirrored
--logical_cpus=2` / `--compare_mixed_precision=...` beside it, or with
`--multi_worker_bench` one process vs two workers per phase; `--metrics_bench` the metrics'
feature-extraction overhead and SWD time (`tf_gans.bench.metrics`);
`--extraction_bench --inception=W` an image source's feature extraction vs the
bare Inception forward, its memory in N, and oneDNN off vs on
(`tf_gans.bench.extraction`). The
benchmarks themselves live in `tf_gans.bench`; this module parses the flags.
"""

from absl import flags

from tf_gans import cli
from tf_gans import flags as tf_gans_flags
from tf_gans.gan.config import RunConfig
from tf_gans.training import precision

tf_gans_flags.define_train_flags(require_logdir=False)
flags.DEFINE_integer('bench_steps', 300, 'Timed train steps per variant.')
flags.DEFINE_integer('warmup_steps', 20, 'Untimed steps after the first one.')
flags.DEFINE_integer('rounds', 3, 'Interleaved timing rounds (median rate over rounds).')
flags.DEFINE_bool('compare_jit', False, 'Also time the XLA-compiled step (jit_compile=True); '
                  'with --pggan_train, ours with XLA too.')
flags.DEFINE_list('compare_losses', [],
                  'Also time these losses (e.g. sgan,rsgan,rasgan,ralsgan): the relativistic G step '
                  'needs D on a fresh real batch too; ratios are relative to the first variant.')
flags.DEFINE_list('compare_strategies', [],
                  'Also time these --strategy values (e.g. mirrored, with --logical_cpus=2): the '
                  'ratio is the strategy\'s overhead on this machine.')
flags.DEFINE_list('compare_mixed_precision', [],
                  'Also time these --mixed_precision policies (mixed_bfloat16, mixed_float16).')
flags.DEFINE_integer('logical_cpus', 0, 'Split the CPU into this many logical devices first '
                     '(MirroredStrategy then has that many replicas on one CPU).')
flags.DEFINE_bool('multi_worker_bench', False,
                  'Instead: steps/s of one training process vs two MultiWorkerMirroredStrategy '
                  'workers on loopback, same flags (tf_gans.bench.distribute).')
flags.DEFINE_bool('loop_bench', False,
                  'Instead: the whole training loop (tf_gans.gan.loop.train: data, callbacks, '
                  'samples, checkpoints) vs its bare train step called once per step on a fixed '
                  'batch, and vs the loop at --steps_per_execution=1 (tf_gans.bench.gan).')
flags.DEFINE_string('out', None, 'Write the JSON here (it is printed too).')
flags.DEFINE_list('pggan_forward', [],
                  'Instead of training: PGGAN Gs forward-pass images/s at these resolutions, ours '
                  'vs the official_ports TF1 graph, same weights and batch (tf_gans.bench.pggan).')
flags.DEFINE_list('pggan_train', [],
                  'Instead of training: one PGGAN D step (+ Gs update) and G step per phase '
                  'resolution in this list (e.g. 4,8,...,1024), ours vs the official_ports TF1 '
                  'training graph, for a network of --pggan_resolution.')
flags.DEFINE_list('pggan_profile', [],
                  'Instead of training: where the PGGAN train step\'s time goes at these phase '
                  'resolutions (e.g. 256,1024): op self-time by type, kind and stage, ours and the '
                  'official_ports graph, over --pggan_iters profiled steps (tf_gans.bench.pggan).')
flags.DEFINE_integer('pggan_resolution', 1024, 'Network resolution for --pggan_train.')
flags.DEFINE_integer('pggan_batch', 4, 'Batch for --pggan_forward / --pggan_train.')
flags.DEFINE_integer('pggan_fmap_base', 8192, 'G_paper fmap_base for --pggan_forward.')
flags.DEFINE_integer('pggan_fmap_max', 512, 'G_paper fmap_max for --pggan_forward.')
flags.DEFINE_string('pggan_worker_out', None, 'Internal (--pggan_train --multi_worker_bench): '
                    'time our train step in this process under --strategy, write the rates here.')
flags.DEFINE_integer('pggan_iters', 5, 'Forward passes per round for --pggan_forward.')
flags.DEFINE_bool('metrics_bench', False,
                  'Instead of training: metric feature-extraction overhead vs bare Keras predict '
                  'and SWD time (tf_gans.bench.metrics).')
flags.DEFINE_string('inception', None, '--metrics_bench: also time the FID Inception features '
                    '(weights file from tf_gans.tools.import_inception).')
flags.DEFINE_bool('inception_dtype_bench', False,
                  'Instead of training: FID Inception features in bfloat16 vs float32 on MNIST '
                  '(--inception weights): images/s and the FID change '
                  '(tf_gans.bench.inception_dtype).')
flags.DEFINE_bool('extraction_bench', False,
                  'Instead of training (--inception weights): feature extraction of an image '
                  'source vs the bare Inception forward on the same batches (ratio), peak RSS '
                  'for N and 10 N images, and TF_ENABLE_ONEDNN_OPTS=0 vs 1 for the Inception '
                  'forward and the GAN / PGGAN train steps in separate processes '
                  '(tf_gans.bench.extraction).')
flags.DEFINE_list('extraction_parts', ['ratio', 'memory', 'onednn'],
                  '--extraction_bench: which parts to run.')
flags.DEFINE_integer('extraction_images', 100, '--extraction_bench: images for the ratio.')
flags.DEFINE_integer('memory_images', 50, '--extraction_bench: N for the memory part '
                     '(N and 10 N images).')
flags.DEFINE_integer('onednn_rounds', 3, '--extraction_bench: interleaved oneDNN rounds.')
flags.DEFINE_integer('onednn_gan_steps', 300, '--extraction_bench: timed GAN steps per '
                     'oneDNN measurement.')
flags.DEFINE_integer('onednn_pggan_iters', 20, '--extraction_bench: timed PGGAN steps per '
                     'oneDNN measurement.')
flags.DEFINE_integer('swd_images', 16384, '--metrics_bench: SWD images per side (0: skip).')
flags.DEFINE_integer('swd_resolution', 128, '--metrics_bench: SWD image size.')
flags.DEFINE_list('swd_compare', [],
                  '--metrics_bench: instead, these SWD implementations side by side (streamed: '
                  'level by level; previous: all at once), each in its own subprocess (time and '
                  'peak RSS), --rounds interleaved rounds at --swd_images / --swd_resolution.')
FLAGS = flags.FLAGS


def pggan_forward_main():
  from tf_gans.bench import pggan as bench_pggan  # pylint: disable=import-outside-toplevel
  try:
    resolutions = [int(r) for r in (FLAGS.pggan_train or FLAGS.pggan_profile
                                    or FLAGS.pggan_forward)]
  except ValueError:
    cli.fail(ValueError(f'--pggan_forward / --pggan_train take resolutions such as 128,1024, '
                        f'got {",".join(FLAGS.pggan_train or FLAGS.pggan_forward)}.'))
  bad = [r for r in resolutions if r < 4 or r & (r - 1)]
  if bad or FLAGS.pggan_batch < 1 or FLAGS.rounds < 1 or FLAGS.pggan_iters < 1:
    cli.fail(ValueError(f'--pggan_forward resolutions must be powers of 2 >= 4 (got {bad}); '
                        f'--pggan_batch, --pggan_iters and --rounds must be >= 1.'))
  if FLAGS.pggan_worker_out:
    rates = bench_pggan.worker_rates(FLAGS.pggan_resolution, resolutions, FLAGS.pggan_batch,
                                     FLAGS.pggan_fmap_base, FLAGS.pggan_fmap_max,
                                     FLAGS.pggan_iters, FLAGS.strategy)
    cli.print_json(rates, FLAGS.pggan_worker_out)
  elif FLAGS.pggan_profile:
    import tempfile  # pylint: disable=import-outside-toplevel
    with tempfile.TemporaryDirectory() as scratch:
      report = bench_pggan.profile_train(FLAGS.pggan_resolution, resolutions, FLAGS.pggan_batch,
                                         FLAGS.pggan_fmap_base, FLAGS.pggan_fmap_max,
                                         FLAGS.pggan_iters, scratch, jit=FLAGS.compare_jit,
                                         partial=write_partial)
    cli.print_json(report, FLAGS.out)
  elif FLAGS.pggan_train and FLAGS.multi_worker_bench:
    import tempfile  # pylint: disable=import-outside-toplevel
    with tempfile.TemporaryDirectory() as scratch:
      report = bench_pggan.multi_worker(FLAGS.pggan_resolution, resolutions, FLAGS.pggan_batch,
                                        FLAGS.pggan_fmap_base, FLAGS.pggan_fmap_max,
                                        FLAGS.rounds, FLAGS.pggan_iters, scratch)
    cli.print_json(report, FLAGS.out)
  elif FLAGS.pggan_train:
    try:
      dtypes = [precision.canonical(p, '--compare_mixed_precision')
                for p in FLAGS.compare_mixed_precision]
    except ValueError as e:
      cli.fail(e)
    split_cpu()
    report = bench_pggan.run_train(
        FLAGS.pggan_resolution, resolutions, FLAGS.pggan_batch, FLAGS.pggan_fmap_base,
        FLAGS.pggan_fmap_max, FLAGS.rounds, FLAGS.pggan_iters, jit=FLAGS.compare_jit,
        strategies=FLAGS.compare_strategies,
        dtypes=dtypes,
        partial=write_partial)
    cli.print_json(report, FLAGS.out)
  else:
    report = bench_pggan.run(resolutions, FLAGS.pggan_batch, FLAGS.pggan_fmap_base,
                             FLAGS.pggan_fmap_max, FLAGS.rounds, FLAGS.pggan_iters)
    cli.print_json(report, FLAGS.out)


def loop_bench_main():
  import tempfile  # pylint: disable=import-outside-toplevel
  from tf_gans.bench import gan as bench_gan  # pylint: disable=import-outside-toplevel
  from tf_gans.gan import loop  # pylint: disable=import-outside-toplevel
  cli.quiet_logs(FLAGS.tf_log)
  cfg, _ = tf_gans_flags.config_from_flags(RunConfig)
  try:
    with tempfile.TemporaryDirectory() as scratch:
      cfg = cfg.__class__(**dict(cfg.__dict__, logdir=scratch)).validate()
      report = bench_gan.loop_vs_bare(cfg, loop.load_data(cfg), FLAGS.bench_steps, FLAGS.rounds,
                                      scratch)
  except cli.USER_ERRORS as e:
    cli.fail(e)
  cli.print_json(report, FLAGS.out)


def write_partial(report):
  """--out holds the phases measured so far (rewritten after each one)."""
  if FLAGS.out:
    import json  # pylint: disable=import-outside-toplevel
    import os  # pylint: disable=import-outside-toplevel
    with open(FLAGS.out + '.tmp', 'w') as f:
      json.dump(dict(report, partial=True), f, indent=2)
    os.replace(FLAGS.out + '.tmp', FLAGS.out)


def split_cpu():
  """--logical_cpus: split the CPU into logical devices (before TensorFlow initialises them)."""
  if FLAGS.logical_cpus > 1:
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    cpu = tf.config.list_physical_devices('CPU')[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(FLAGS.logical_cpus)])


def main(argv):
  del argv
  if FLAGS.pggan_forward or FLAGS.pggan_train or FLAGS.pggan_profile:
    pggan_forward_main()
    return
  if FLAGS.multi_worker_bench:
    import sys  # pylint: disable=import-outside-toplevel
    import tempfile  # pylint: disable=import-outside-toplevel
    from tf_gans.bench import distribute  # pylint: disable=import-outside-toplevel
    passed = [a for a in sys.argv[1:] if not a.startswith(
        ('--multi_worker_bench', '--out', '--bench_steps', '--rounds', '--warmup_steps'))]
    with tempfile.TemporaryDirectory() as scratch:
      report = distribute.run(passed, scratch, short=20, long=20 + FLAGS.bench_steps)
    cli.print_json(report, FLAGS.out)
    return
  if FLAGS.inception_dtype_bench:
    from tf_gans.bench import inception_dtype  # pylint: disable=import-outside-toplevel
    try:
      report = inception_dtype.run(FLAGS.inception)
    except cli.USER_ERRORS as e:
      cli.fail(e)
    cli.print_json(report, FLAGS.out)
    return
  if FLAGS.loop_bench:
    loop_bench_main()
    return
  if FLAGS.extraction_bench:
    from tf_gans.bench import extraction  # pylint: disable=import-outside-toplevel
    if min(FLAGS.extraction_images, FLAGS.memory_images, FLAGS.rounds, FLAGS.onednn_rounds,
           FLAGS.onednn_gan_steps, FLAGS.onednn_pggan_iters) < 1:
      cli.fail(ValueError('--extraction_images, --memory_images, --rounds, --onednn_rounds, '
                          '--onednn_gan_steps and --onednn_pggan_iters must be >= 1.'))
    try:
      report = extraction.run(FLAGS.inception, FLAGS.extraction_images, FLAGS.memory_images,
                              FLAGS.rounds, FLAGS.onednn_rounds, FLAGS.extraction_parts,
                              FLAGS.onednn_gan_steps, FLAGS.onednn_pggan_iters,
                              partial=write_partial)
    except cli.USER_ERRORS as e:
      cli.fail(e)
    cli.print_json(report, FLAGS.out)
    return
  if FLAGS.metrics_bench:
    from tf_gans.bench import metrics as bench_metrics  # pylint: disable=import-outside-toplevel
    try:
      report = bench_metrics.run(FLAGS.inception, FLAGS.swd_images, FLAGS.swd_resolution,
                                 FLAGS.rounds, swd_compare_implementations=FLAGS.swd_compare)
    except cli.USER_ERRORS as e:
      cli.fail(e)
    cli.print_json(report, FLAGS.out)
    return
  import dataclasses  # pylint: disable=import-outside-toplevel
  from tf_gans.gan import loop  # pylint: disable=import-outside-toplevel
  split_cpu()
  cfg, _ = tf_gans_flags.config_from_flags(RunConfig)
  cfg = dataclasses.replace(cfg, logdir=cfg.logdir or '(benchmark)')
  try:
    cfg.validate()
    loop.check_names(cfg)
    source = loop.load_data(cfg)
  except cli.USER_ERRORS as e:
    cli.fail(e)
  variants = {'default': cfg}
  if FLAGS.compare_jit:
    variants['jit_compile'] = dataclasses.replace(cfg, jit_compile=True)
  for loss in FLAGS.compare_losses:
    variants[f'loss={loss}'] = dataclasses.replace(cfg, loss=loss)
  for name in FLAGS.compare_strategies:
    variants[f'strategy={name}'] = dataclasses.replace(cfg, strategy=name)
  for policy in FLAGS.compare_mixed_precision:
    variants[f'mixed_precision={policy}'] = dataclasses.replace(
        cfg, dtype=precision.canonical(policy, '--compare_mixed_precision'))
  try:
    for variant in variants.values():
      variant.validate()
      loop.check_names(variant)
  except cli.USER_ERRORS as e:
    cli.fail(e)
  if FLAGS.rounds < 1 or FLAGS.bench_steps < FLAGS.rounds:
    cli.fail(ValueError(f'--rounds must be in [1, --bench_steps={FLAGS.bench_steps}], '
                        f'got {FLAGS.rounds}.'))
  from tf_gans.bench import gan as bench_gan  # pylint: disable=import-outside-toplevel
  report = bench_gan.run(variants, source, FLAGS.warmup_steps, FLAGS.bench_steps, FLAGS.rounds)
  cli.print_json(report, FLAGS.out)


if __name__ == '__main__':
  cli.run(main)

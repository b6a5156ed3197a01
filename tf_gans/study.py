"""Run a study: cells x seeds of training runs (any family), each evaluated, then tabulated.

  python -m tf_gans.study --flagfile=configs/studies/tiny.study

The study file (an absl flag file of this CLI; format in `tf_gans.studies.spec`)
names a base `tf_gans.train` flag file, the cells (flag overrides), the seeds
and a metric. The RGAN paper's comparisons are such grids: its losses (section
4) x setups (section 6, Tables 1-3 from github.com/AlexiaJM/RelativisticGAN
`code/stable.sh` / `code/unstable.sh`), each run evaluated with FID.

The runs go one after another, in this process (each through its family's
trainer, `tf_gans.training.run`: a cell may be a GAN / RGAN or a PGGAN run),
each into <study_dir>/<cell>/seed<k>/. After each run its snapshots
(--snapshot_every and the last step; PGGAN: its network snapshots) are evaluated
with the study's metric (`tf_gans.metrics.run_eval.evaluate_run`, as
`python -m tf_gans.evaluate --run`);
at the end results.csv / results.md, the curves and the sample grids are written
(`tf_gans.studies.report`).

Every run's values go into <results>/runs.csv (--results_dir, default
--study_dir; `tf_gans.studies.report.record_run`) as soon as its evaluation
completes, one row per evaluated snapshot, the last one `final`: commit that
folder and the study continues from it on another day or machine. Pairs of
cells (--pair) are compared under the rule the study file declares before the
runs (--test=welch, --alpha; `tf_gans.studies.spec.TESTS`).

Resumable: run the same command again after a kill or Ctrl-C. A run with a final
(or diverged) row in runs.csv is skipped, not trained and not evaluated, even
when its run folder is absent on this machine (the log line says so). Else: a
run whose latest checkpoint is its last step and whose snapshots all have a
metric row without error is recorded into runs.csv; a trained run missing
evaluations is only evaluated; a run folder with a run file but fewer steps
resumes (`train(resume=True)`, the saved run being authoritative as with
`tf_gans.train --resume`); others start. A run that diverges (`DivergenceError`)
is marked (<run>/study_diverged.txt and a diverged row in runs.csv), not retried,
and counted in the tables' `diverged`. Ctrl-C stops the study after the current
run saved its checkpoint (exit 130).
"""

import dataclasses
import os
import re
import sys

from absl import flags

from tf_gans import cli  # first: quiets TensorFlow's native logs before it loads
from tf_gans.studies import report
from tf_gans.studies import spec

flags.DEFINE_string('study_dir', None, 'Folder of the study: <study_dir>/<cell>/seed<k>/ runs and '
                    'the results (results.csv, results.md, curves.png).')
flags.DEFINE_string('base_flagfile', None, 'A tf_gans.train flag file every run starts from '
                    '(GAN / RGAN; relative to the current directory).')
flags.DEFINE_string('set', '', 'Overrides of the base flag file for every cell: flag=value;flag=value '
                    '(a bare flag is true, noflag false).')
flags.DEFINE_multi_string('cell', [], 'A cell, repeated once per cell: NAME:flag=value;flag=value, '
                          'e.g. rsgan:loss=rsgan (NAME is its folder).')
flags.DEFINE_multi_string('pair', [], 'BASELINE,OTHER: two cells compared at the last step in '
                          'results.md and pairs.csv under --test / --alpha; repeated once per '
                          'pair.')
flags.DEFINE_string('results_dir', None, 'Folder of runs.csv (every run\'s values, written as '
                    'each run ends), the tables and pictures; commit it to continue the study '
                    'elsewhere. Default: --study_dir.')
flags.DEFINE_string('test', '', 'Decision rule of the --pair comparisons, declared in the study '
                    'file before the runs (needed with --pair): welch (Welch\'s t-test, '
                    'significant when p < --alpha).')
flags.DEFINE_float('alpha', None, 'Significance level of --test (needed with --pair), e.g. '
                   '0.05; the difference\'s bootstrap interval covers 1 - alpha.')
flags.DEFINE_integer('bootstrap_resamples', 10000, 'Draws of the bootstrap interval of a pair\'s '
                     'difference of means (each cell\'s seeds drawn with replacement).')
flags.DEFINE_integer('bootstrap_seed', 0, 'Seed of those draws.')
flags.DEFINE_multi_string('panel', [], 'TITLE:cell,cell,...: curves.png gets one panel per '
                          '--panel (same y scale) instead of one plot of every cell.')
flags.DEFINE_list('seeds', ['0'], 'Seeds: each cell trains once per seed (--seed=k, folder seed<k>).')
flags.DEFINE_string('metric', None, 'Metric evaluated on every snapshot of every run '
                    '(tf_gans.evaluate --metrics name, e.g. fid-rgan, fid, parzen).')
flags.DEFINE_string('metric_key', '', 'Value of the metric\'s result that is tabulated (default: '
                    'fid for fid / fid-rgan, mean for parzen / kid, is_mean for is, ...).')
flags.DEFINE_string('eval', '', 'Metric options: field=value;... of tf_gans.evaluate\'s options, e.g. '
                    'inception=weights.h5;num_samples=50000 or num_samples=200;sigma=0.3.')
flags.DEFINE_bool('tf_log', False, 'Show TensorFlow\'s and absl\'s INFO / warning logs (hidden '
                  'by default), as tf_gans.train --tf_log.')
flags.DEFINE_bool('report_only', False, 'Write the tables and pictures from what the runs hold now; '
                  'train and evaluate nothing.')
FLAGS = flags.FLAGS

_CKPT = re.compile(r'ckpt-(\d+)$')
STUDY_RESUME = 'the same python -m tf_gans.study command (it resumes this run)'


class StudyInterrupted(KeyboardInterrupt):
  """A run of the study stopped on a signal (its checkpoint saved); rerun to continue."""


def trained_step(logdir):
  """The number of the run's newest intact checkpoint (the step; PGGAN: images shown), or None."""
  from tf_gans.training import checkpoint  # pylint: disable=import-outside-toplevel
  path, _ = checkpoint.newest_intact(os.path.join(logdir, checkpoint.CHECKPOINT_DIR))
  match = _CKPT.search(path or '')
  return int(match.group(1)) if match else None


def run_length(cfg):
  """The checkpoint number of a finished run: its steps (PGGAN: total_kimg in images)."""
  if hasattr(cfg, 'total_kimg'):
    return int(round(cfg.total_kimg * 1000))
  return cfg.steps


def evaluated_steps(logdir, metric):
  """Positions (steps, PGGAN kimg) with a metrics.jsonl row of exactly [metric] and no error
  (what evaluate_run skips)."""
  rows = report.read_rows(os.path.join(logdir, report.METRICS_FILE))
  return {float(r.get('step', r.get('kimg'))) for r in rows
          if ('step' in r or 'kimg' in r) and r.get('metrics') == [metric] and not r.get('errors')}


def snapshot_steps(logdir):
  from tf_gans.training import snapshots  # pylint: disable=import-outside-toplevel
  return [float(p) for p, _ in snapshots.list_snapshots(logdir)]


def run_state(cfg, metric):
  """'new', 'partial' (a run file, not at its last step), 'diverged', 'trained' (at
  its last step, evaluations missing) or 'done'; and the latest checkpoint number."""
  from tf_gans.training import runfile  # pylint: disable=import-outside-toplevel
  if os.path.exists(os.path.join(cfg.logdir, report.DIVERGED_FILE)):
    return 'diverged', trained_step(cfg.logdir)
  if runfile.locate(cfg.logdir)[0] is None:
    return 'new', None
  step = trained_step(cfg.logdir)
  if step != run_length(cfg):
    return 'partial', step
  missing = set(snapshot_steps(cfg.logdir)) - evaluated_steps(cfg.logdir, metric)
  return ('trained' if missing or not snapshot_steps(cfg.logdir) else 'done'), step


def default_train(cfg, resume, explicit, log):
  """Trains one run with its family's trainer (`tf_gans.training.run`)."""
  # pylint: disable=import-outside-toplevel
  from tf_gans import families
  from tf_gans.training import run
  family = families.get(cfg.FAMILY)
  return run.train(family.trainer_class, cfg, resume=resume, explicit=explicit, log=log)


def default_evaluate(logdir, metric, options, given, log):
  from tf_gans.metrics import run_eval  # pylint: disable=import-outside-toplevel
  return run_eval.evaluate_run(logdir, [metric], options, 'all', given=given, log=log)


class _ImageShape:
  """Stands for a generator export in `constraints.request_for`: only its image shape."""

  def __init__(self, shape):
    self.image_shape = tuple(int(d) for d in shape)


def check_metric(study):
  """Refuses, before anything trains, a study whose metric cannot run on its runs'
  snapshots (`tf_gans.metrics.constraints`: image sizes, counts, weights files): else
  hours of training would end in the first evaluation's error. The evaluation data
  defaults to each cell's training data, as `evaluate --run` does, and the generator
  draws images of that data's shape."""
  # pylint: disable=import-outside-toplevel
  from tf_gans.metrics import constraints
  from tf_gans.metrics import evaluation as evaluation_lib
  seen = set()
  for cell in study.cells:
    cfg = study.config(cell, study.seeds[0])
    defaults = (('data', cfg.dataset), ('split', cfg.split), ('pad_to', cfg.pad_to))
    options = dataclasses.replace(
        study.eval_options, **{k: v for k, v in defaults if k not in study.eval_given})
    if (options.data, options.split, options.pad_to) in seen:
      continue
    seen.add((options.data, options.split, options.pad_to))
    evaluation = evaluation_lib.Evaluation(None, options)
    shape = evaluation.source().image_shape
    constraints.require([study.metric], evaluation, _ImageShape(shape))


def run_study(study, train_fn=None, evaluate_fn=None, log=print):
  """Trains and evaluates every run of `study` not done yet, then writes the report.

  Args:
    study: a `spec.Study`.
    train_fn: `train(cfg, resume, explicit, log) -> RunResult` (default: the cell's
      family through `tf_gans.training.run`: GAN / RGAN or PGGAN).
    evaluate_fn: `(logdir, metric, options, given, log) -> rows` (default
      `run_eval.evaluate_run` of the study's metric on every snapshot).

  Returns:
    The `report.CellResult`s.

  Raises:
    StudyInterrupted: a run stopped on SIGINT / SIGTERM (its checkpoint saved).
    tf_gans.metrics.constraints.ConstraintError: the metric cannot run on these runs
      (checked before any training, with the default evaluator).
  """
  from tf_gans.training import checkpoint  # pylint: disable=import-outside-toplevel
  train_fn = train_fn or default_train
  runs = study.runs()
  finished = report.recorded(study)
  report.check_rule(study, len(finished))   # before anything runs
  finished = {run: row for run, row in finished.items() if _recorded_final(study, run, row, log)}
  if evaluate_fn is None:
    if any((cell.name, seed) not in finished for cell, seed in runs):
      check_metric(study)   # nothing is evaluated when runs.csv holds every run
    evaluate_fn = default_evaluate
  description = spec.describe(study)
  for line in description:
    log(line)
  runs_csv = report.runs_path(study)
  for i, (cell, seed) in enumerate(runs, start=1):
    cfg = study.config(cell, seed)
    explicit = tuple(f.name for f in dataclasses.fields(cfg))  # the study gives every field
    where = (f'[{i}/{len(runs)}] cell {cell.name} ({study.cells.index(cell) + 1}/'
             f'{len(study.cells)}) seed {seed} ({study.seeds.index(seed) + 1}/{len(study.seeds)})')
    row = finished.get((cell.name, seed))
    if row is not None:
      away = ('' if os.path.isdir(cfg.logdir) else
              f'; its run folder {cfg.logdir} is not on this machine, not needed')
      if row['status'] == report.DIVERGED:
        log(f'{where}: skipped, it diverged before (a diverged row in {runs_csv}){away}')
      else:
        at = (f'step {row["position"]}' if row['unit'] == 'step' else f'{row["position"]} kimg')
        log(f'{where}: skipped, finished ({at}, its final values in {runs_csv}){away}')
      continue
    state, step = run_state(cfg, study.metric)
    if state == 'done':
      report.record_run(study, cell, seed)
      log(f'{where}: skipped, finished ({_at(cfg, step)}, every snapshot evaluated; its values '
          f'now in {runs_csv}): {cfg.logdir}')
      continue
    if state == 'diverged':
      report.record_run(study, cell, seed, diverged=True)
      log(f'{where}: skipped, it diverged before (see {report.DIVERGED_FILE}; recorded in '
          f'{runs_csv}): {cfg.logdir}')
      continue
    if state in ('new', 'partial'):
      if state == 'partial':
        log(f'{where}: resuming {cfg.logdir} from '
            + (_at(cfg, step) if step is not None else 'its start (no checkpoint yet)')
            + f' of {_length(cfg)}')
      else:
        log(f'{where}: training {cfg.logdir} ({cell.describe()}, {_length(cfg, unit=True)})')
      try:
        result = train_fn(cfg, resume=state == 'partial', explicit=explicit,
                          log=_run_log(log, cfg.logdir))
      except checkpoint.DivergenceError as e:
        with open(os.path.join(cfg.logdir, report.DIVERGED_FILE), 'w') as f:
          f.write(f'{e}\n')
        report.record_run(study, cell, seed, diverged=True)
        log(f'{where}: diverged ({e}); marked (and in {runs_csv}), not retried; its snapshots '
            f'are not evaluated.')
        continue
      if getattr(result, 'interrupted', False):
        stopped = result.step if getattr(result, 'cur_nimg', None) is None else result.cur_nimg
        raise StudyInterrupted(f'{where}: stopped at {_at(cfg, stopped)} (checkpoint saved); run '
                               f'the same study command again to continue.')
    else:
      log(f'{where}: trained ({_at(cfg, step)}); evaluating its snapshots')
    try:
      evaluate_fn(cfg.logdir, study.metric, study.eval_options, study.eval_given, log)
    except KeyboardInterrupt as e:
      if isinstance(e, StudyInterrupted):
        raise
      kept = f' ({e})' if str(e) else ''
      raise StudyInterrupted(f'{where}: evaluation stopped{kept}; the feature rows computed so '
                             f'far are kept: run the same study command again to continue.') from None
    _record(study, cell, seed, cfg, where, runs_csv, log)
  return report.write_report(study, description, log=log)


def _record(study, cell, seed, cfg, where, runs_csv, log):
  """After a run's evaluation: its values into runs.csv when it is finished (at its last
  step, every snapshot with a value); else says what is missing (evaluated next time)."""
  state, step = run_state(cfg, study.metric)
  if state != 'done':
    missing = sorted(set(snapshot_steps(cfg.logdir)) - evaluated_steps(cfg.logdir, study.metric))
    what = (f'no value at {", ".join(f"{m:g}" for m in missing)}' if missing else
            f'{state} at {_at(cfg, step) if step is not None else "no checkpoint"}')
    log(f'{where}: not recorded in {runs_csv} ({what}); the same study command evaluates it '
        f'again.')
    return
  rows = report.record_run(study, cell, seed)
  log(f'{where}: finished ({_at(cfg, step)}); {len(rows)} snapshot value(s) written to '
      f'{runs_csv}')


def _recorded_final(study, run, row, log):
  """Whether a runs.csv row ends the run the study asks for now: a diverged row, or a final
  row at the cell's run length (steps; PGGAN: total_kimg). A longer run asked for (more
  --steps) is continued, from its run folder when this machine has it."""
  if row['status'] == report.DIVERGED:
    return True
  cell = next((c for c in study.cells if c.name == run[0]), None)
  if cell is None or run[1] not in study.seeds:
    return True   # not a run of this study: never consulted
  cfg = study.config(cell, run[1])
  pggan = hasattr(cfg, 'total_kimg')
  length = cfg.total_kimg if pggan else cfg.steps
  if row['unit'] == ('kimg' if pggan else 'step') and abs(float(row['position']) - length) < 1e-6:
    return True
  log(f'cell {cell.name} seed {run[1]}: {report.RUNS_CSV} ends it at {row["unit"]} '
      f'{row["position"]}, the study asks for {_length(cfg, unit=True)}: it is continued.')
  return False


def _at(cfg, number):
  """'step 600' (GAN / RGAN) or '1.2 kimg' (PGGAN) of a checkpoint number."""
  return f'{number / 1000:g} kimg' if hasattr(cfg, 'total_kimg') else f'step {number}'


def _length(cfg, unit=False):
  """A run's length: '20' / '20 steps' (GAN / RGAN) or '1.6 kimg' (PGGAN)."""
  if hasattr(cfg, 'total_kimg'):
    return f'{cfg.total_kimg:g} kimg'
  return f'{cfg.steps} steps' if unit else str(cfg.steps)


def _run_log(log, logdir):
  """`log` for one run: its stop message points at the study command, not `train --resume`."""
  from tf_gans.training import runfile  # pylint: disable=import-outside-toplevel
  alone = runfile.resume_command(logdir)
  return lambda text: log(text.replace(alone, STUDY_RESUME))


def study_from_flags():
  return spec.make_study(FLAGS.study_dir, FLAGS.base_flagfile, FLAGS.cell, FLAGS.seeds,
                         FLAGS.metric, FLAGS.metric_key, FLAGS.set, FLAGS.eval, FLAGS.pair,
                         FLAGS.panel, FLAGS.results_dir, FLAGS.test, FLAGS.alpha,
                         FLAGS.bootstrap_resamples, FLAGS.bootstrap_seed)


def main(argv):
  if len(argv) > 1:
    cli.fail(ValueError(f'unexpected arguments {argv[1:]}; flags take the form --name=value.'))
  cli.quiet_logs(FLAGS.tf_log)
  from tf_gans.training import interrupts  # pylint: disable=import-outside-toplevel
  interrupts.take_stop_signals()  # a run stopped by Ctrl-C / SIGTERM saves, exits 130
  try:
    study = study_from_flags()
    if FLAGS.report_only:
      report.check_rule(study, 0, write=False)
      report.write_report(study, spec.describe(study), log=lambda t: print(t, flush=True))
    else:
      run_study(study, log=lambda t: print(t, flush=True))
  except StudyInterrupted as e:
    sys.stderr.write(f'{e}\n')
    sys.exit(cli.INTERRUPTED_EXIT_STATUS)
  except cli.USER_ERRORS as e:
    cli.fail(e)


if __name__ == '__main__':
  cli.run(main)

"""A whole training run from Python, any family: `tf_gans.run_training(config)`.

    cfg = tf_gans.RunConfig(logdir='runs/q', steps=600)          # or ProgressiveConfig
    result = tf_gans.run_training(cfg)                                # as python -m tf_gans.train
    result = tf_gans.run_training(cfg, resume=True)                     # continue it

The same run folder, resume policy, checkpoints, grids, snapshots and export
as the command line (`tf_gans.training.run`); no signal handlers are installed
(Ctrl-C raises KeyboardInterrupt in the caller).
"""


def run_training(cfg, resume=False, log=print, **options):
  """Runs (or resumes) the run `cfg` describes with its family's trainer; returns a
  `tf_gans.training.lifecycle.RunResult`.

  Args:
    cfg: a `RunConfig` (GAN / RGAN; `cfg.model` picks the nets) or a
      `ProgressiveConfig` (PGGAN).
    resume: continue the run saved in `cfg.logdir` (the saved config wins;
      the fields of `cfg` that differ from their defaults override it, where
      the resume policy allows).
    options: the family's own options (PGGAN: `smoke`, `resolution`) or an
      opened `data` source.
  """
  # pylint: disable=import-outside-toplevel
  import dataclasses
  from tf_gans import families
  from tf_gans.training import run
  family = families.get(cfg.FAMILY)
  explicit = tuple(f.name for f in dataclasses.fields(cfg)
                   if f.default is dataclasses.MISSING or getattr(cfg, f.name) != f.default)
  return run.train(family.trainer_class, cfg, resume=resume, explicit=explicit, log=log,
                   **options)

"""The progressive-growing family (Karras et al. 2018).

  config    `ProgressiveConfig`: a run's fields (the original `train.py` / `config.py`
            arguments; each a `tf_gans.train --model=pggan` flag)
  schedule  the original `TrainingSchedule`: lod, minibatch, learning rates, ticks
  data      multi-resolution datasets (TFRecords levels or any in-memory source)
  trainer   `ProgressiveTrainer`: one D step (+ Gs average) and one G step
  model     `PGGAN`: nets + trainer + data position, one schedule round at a time, Gs
            samples (Python use, and what a run trains)
  loop      `ProgressiveRun`: a run (rounds, ticks, grids, snapshots) inside
            `tf_gans.training.run`
  smoke     a new run's data and config (--smoke: tiny nets, built-in photos)
  family    how `tf_gans.training.run` and the commands drive this family
"""


def __getattr__(name):
  # Lazy: `tf_gans.progressive.config` (and --help) must not import TensorFlow.
  if name == 'PGGAN':
    from tf_gans.progressive.model import PGGAN  # pylint: disable=import-outside-toplevel
    return PGGAN
  if name == 'ProgressiveConfig':
    from tf_gans.progressive.config import ProgressiveConfig  # pylint: disable=import-outside-toplevel
    return ProgressiveConfig
  raise AttributeError(name)

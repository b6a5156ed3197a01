"""Studies: a grid of training cells (GAN / RGAN or PGGAN) x seeds, run, evaluated, tabulated.

`spec` reads what a study is (a base training flag file, cell overrides, seeds,
the metric, the pairs and their decision rule, --test / --alpha); `report` keeps
every run's values in runs.csv (written as each run ends; what a study resumes
from) and turns them into results.csv / results.md, the pairs' Welch tests and
bootstrap intervals (pairs.csv), metric-vs-step curves and per-cell sample grids.
The runner and its CLI are `tf_gans.study`
(`python -m tf_gans.study --flagfile=configs/studies/<name>.study`).
"""

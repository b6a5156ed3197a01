"""Studies: a grid of GAN / RGAN training cells x seeds, run, evaluated and tabulated.

`spec` reads what a study is (a base training flag file, cell overrides, seeds,
the metric); `report` turns the runs' `metrics.jsonl` into results.csv /
results.md, metric-vs-step curves and per-cell sample grids. The runner and its
CLI are `tf_gans.study` (`python -m tf_gans.study --flagfile=configs/studies/<name>.study`).
"""

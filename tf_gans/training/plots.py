"""Loss curves from `<logdir>/history.csv` as a PNG (matplotlib, no display)."""

import csv

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # pylint: disable=wrong-import-position


def read_history(path):
  """history.csv -> {column: [floats]}."""
  with open(path, newline='') as f:
    rows = list(csv.DictReader(f))
  if not rows:
    raise ValueError(f'{path} holds no rows.')
  return {k: [float(r[k]) for r in rows] for k in rows[0]}


def plot_loss_curves(history_path, out_path):
  """Two panels: D and G losses; mean D(x) and mean D(G(z)). Returns out_path."""
  h = read_history(history_path)
  fig, (ax_loss, ax_d) = plt.subplots(1, 2, figsize=(11, 4))
  for key in ('d_loss', 'g_loss'):
    if key in h:
      ax_loss.plot(h['step'], h[key], label=key)
  ax_loss.set(xlabel='step', ylabel='loss (interval mean)', title='losses')
  ax_loss.legend()
  for key, label in (('d_real', 'mean D(x)'), ('d_fake', 'mean D(G(z))')):
    if key in h:
      ax_d.plot(h['step'], h[key], label=label)
  ax_d.set(xlabel='step', ylabel='probability', title='discriminator outputs', ylim=(0, 1))
  ax_d.legend()
  fig.tight_layout()
  fig.savefig(out_path, dpi=100)
  plt.close(fig)
  return out_path

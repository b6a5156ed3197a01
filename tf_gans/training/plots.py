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
  return {k: [float(r[k]) if r.get(k) not in ('', None) else float('nan') for r in rows]
          for k in rows[0]}


# Second-panel columns: the 2014/RGAN discriminator outputs, else PGGAN's D loss terms.
_D_OUTPUTS = (('d_real', 'mean D(x)'), ('d_fake', 'mean D(G(z))'))
_PGGAN_TERMS = ('wasserstein', 'gradient_penalty', 'drift', 'label_xent')


def plot_loss_curves(history_path, out_path):
  """Two panels: the losses (every `*loss` column) against the history's first column
  (step, or kimg for PGGAN); then mean D(x) and D(G(z)) (GAN/RGAN) or D's loss terms
  (PGGAN). Returns out_path."""
  h = read_history(history_path)
  x_name = next(iter(h))
  fig, (ax_loss, ax_d) = plt.subplots(1, 2, figsize=(11, 4))
  for key in h:
    if key.lower().endswith('loss'):
      ax_loss.plot(h[x_name], h[key], label=key)
  ax_loss.set(xlabel=x_name, ylabel='loss (interval mean)', title='losses')
  if ax_loss.get_legend_handles_labels()[0]:
    ax_loss.legend()
  if any(key in h for key, _ in _D_OUTPUTS):
    for key, label in _D_OUTPUTS:
      if key in h:
        ax_d.plot(h[x_name], h[key], label=label)
    ax_d.set(xlabel=x_name, ylabel='probability', title='discriminator outputs', ylim=(0, 1))
  else:
    for key in _PGGAN_TERMS:
      if key in h:
        ax_d.plot(h[x_name], h[key], label=key)
    ax_d.set(xlabel=x_name, ylabel='value', title='D loss terms')
  if ax_d.get_legend_handles_labels()[0]:
    ax_d.legend()
  fig.tight_layout()
  fig.savefig(out_path, dpi=100)
  plt.close(fig)
  return out_path

"""Nearest training images of generated samples: the memorisation check.

Goodfellow et al. (2014), Figure 2: beside the samples, "the rightmost column
shows the nearest training example of the neighboring sample, in order to
demonstrate that the model has not memorized the training set". PGGAN
(Karras et al. 2018) shows CelebA-HQ samples with their nearest training
images in a feature space in its appendix. (Neither original repository
computes these neighbours; they are cited from the papers.)

This module finds, for each query (generated image), the k nearest reference
(training) images by Euclidean distance

  * in pixel space (the images as given, flattened), or
  * in a feature space: `feature_fn(images) -> [n, d]`, e.g.
    `tf_gans.metrics.fid.classifier_features(model)`,

and builds a PNG-ready grid: one row per sample, the sample then its k
neighbours, nearest first. `labelled_neighbor_grids` sets such grids side by
side (evaluate's nn.png: pixel space, then feature space), each under a
band with its title and its column headers (`query`, `NN 1`, ...), drawn
with PIL.

Search. Squared distances ||q||^2 - 2 q.r + ||r||^2 are computed in float32
with TensorFlow, one [query_batch, reference_batch] block at a time (both
sides centred on the reference mean, which keeps the expansion's
cancellation small), keeping a running top-(2k + 8) per query, so memory is
O(query_batch * reference_batch + N_query * k) whatever the set sizes
(10k x 50k is fine). The candidates are then re-ranked by their exact float64
distances, so the reported distances are exact (an exact copy of a training
image is at distance 0.0) and ties go to the lower index. A true neighbour
is missed only if float32 rounding moves it out of the candidate list,
i.e. its distance gap to the k-th neighbour is below ~1e-6 of the squared
norms.
"""

from typing import Callable, Optional, Tuple

import numpy as np
import tensorflow as tf

from tf_gans.training import images as images_lib

FeatureFn = Callable[[np.ndarray], np.ndarray]

# Bytes of one float32 reference block (reference_batch x d) when not given.
_BLOCK_BYTES = 64 * 2**20


def _as_numeric(name: str, a) -> np.ndarray:
  a = np.asarray(a)
  if a.ndim < 2 or a.shape[0] == 0:
    raise ValueError(f'{name} must be a non-empty array [N, ...] of images or vectors, got '
                     f'shape {a.shape}.')
  if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
    raise ValueError(f'{name} must be real-valued, got dtype {a.dtype}.')
  return a


def _features(name: str, x: np.ndarray, feature_fn: Optional[FeatureFn],
              batch: int) -> np.ndarray:
  """[N, d] rows: x flattened (a view) or feature_fn(x) computed batch by batch (float32)."""
  if feature_fn is None:
    return x.reshape(len(x), -1)
  out = []
  for start in range(0, len(x), batch):
    f = np.asarray(feature_fn(x[start:start + batch]))
    out.append(f.reshape(len(f), -1).astype(np.float32))
  rows = np.concatenate(out)
  if len(rows) != len(x):
    raise ValueError(f'feature_fn returned {len(rows)} rows for {len(x)} {name}.')
  if not np.all(np.isfinite(rows)):
    raise ValueError(f'feature_fn returned non-finite features for {name}.')
  return rows


def _row_mean(rows: np.ndarray, batch: int) -> np.ndarray:
  total = np.zeros(rows.shape[1], np.float64)
  for start in range(0, len(rows), batch):
    total += rows[start:start + batch].sum(axis=0, dtype=np.float64)
  return total / len(rows)


@tf.function(reduce_retracing=True)
def _merge_block(best_d, best_i, q, r, offset, num):
  """Running top-`num` smallest squared distances of queries q to references r (+ offset)."""
  qn = tf.reduce_sum(tf.square(q), axis=1, keepdims=True)
  rn = tf.reduce_sum(tf.square(r), axis=1)
  d2 = qn - 2.0 * tf.matmul(q, r, transpose_b=True) + rn[None, :]
  cand_i = tf.range(tf.shape(r)[0], dtype=tf.int64) + offset
  all_d = tf.concat([best_d, d2], axis=1)
  all_i = tf.concat([best_i, tf.broadcast_to(cand_i[None, :], tf.shape(d2))], axis=1)
  neg, pos = tf.math.top_k(-all_d, k=num)
  return -neg, tf.gather(all_i, pos, batch_dims=1)


def _candidates(q_rows, r_rows, num, query_batch, reference_batch, centre):
  """int64 [Nq, num] candidate indices from the blockwise float32 search."""
  nq = len(q_rows)
  best_d = np.full((nq, num), np.inf, np.float32)
  best_i = np.full((nq, num), -1, np.int64)
  for r_start in range(0, len(r_rows), reference_batch):
    r = tf.constant(r_rows[r_start:r_start + reference_batch].astype(np.float32) - centre)
    for q_start in range(0, nq, query_batch):
      sl = slice(q_start, q_start + query_batch)
      q = tf.constant(q_rows[sl].astype(np.float32) - centre)
      d, i = _merge_block(tf.constant(best_d[sl]), tf.constant(best_i[sl]), q, r,
                          tf.constant(r_start, tf.int64), num)
      best_d[sl], best_i[sl] = d.numpy(), i.numpy()
  return best_i


def _rerank(q_rows, r_rows, cand, k, chunk=64):
  """Exact float64 squared distances of the candidates; the k smallest, ties to the lower index."""
  nq = len(q_rows)
  indices = np.empty((nq, k), np.int64)
  dist2 = np.empty((nq, k), np.float64)
  for start in range(0, nq, chunk):
    q = q_rows[start:start + chunk].astype(np.float64)
    c = cand[start:start + chunk]
    diff = r_rows[c.reshape(-1)].astype(np.float64).reshape(c.shape + (-1,)) - q[:, None, :]
    d2 = np.einsum('qcd,qcd->qc', diff, diff)
    order = np.lexsort((c, d2), axis=1)[:, :k]        # by distance, then index
    indices[start:start + chunk] = np.take_along_axis(c, order, axis=1)
    dist2[start:start + chunk] = np.take_along_axis(d2, order, axis=1)
  return indices, dist2


def nearest_neighbors(queries, references, k: int = 3, feature_fn: Optional[FeatureFn] = None,
                      query_batch: int = 1024, reference_batch: Optional[int] = None,
                      feature_batch: int = 256) -> Tuple[np.ndarray, np.ndarray]:
  """The k nearest references of each query by Euclidean distance.

  Args:
    queries: [Nq, ...] generated images (or vectors).
    references: [Nr, ...] training images, same per-example shape in pixel
      space.
    k: neighbours per query, 1 <= k <= Nr.
    feature_fn: None for pixel space (values as given, e.g. uint8 0..255),
      or a function images [n, ...] -> features [n, d] applied to both sets
      in batches of `feature_batch`.
    query_batch: queries per block.
    reference_batch: references per block; None keeps a float32 block
      within 64 MiB.
    feature_batch: images per feature_fn call.

  Returns:
    (indices, distances): int64 [Nq, k] indices into `references` and
    float64 [Nq, k] Euclidean distances, nearest first.

  Raises:
    ValueError: empty or non-numeric input, mismatched shapes, or a bad k.
  """
  queries = _as_numeric('queries', queries)
  references = _as_numeric('references', references)
  if isinstance(k, bool) or int(k) != k or not 1 <= k <= len(references):
    raise ValueError(f'k must be an integer in [1, {len(references)}] (the number of '
                     f'references), got {k!r}.')
  k = int(k)
  if feature_fn is None and queries.shape[1:] != references.shape[1:]:
    raise ValueError(f'queries and references differ in shape: {queries.shape[1:]} vs '
                     f'{references.shape[1:]}.')
  q_rows = _features('queries', queries, feature_fn, feature_batch)
  r_rows = _features('references', references, feature_fn, feature_batch)
  if q_rows.shape[1] != r_rows.shape[1]:
    raise ValueError(f'query and reference features differ in size: {q_rows.shape[1]} vs '
                     f'{r_rows.shape[1]}.')
  d = r_rows.shape[1]
  if reference_batch is None:
    reference_batch = max(1, _BLOCK_BYTES // (4 * d))
  num = min(len(r_rows), 2 * k + 8)
  centre = _row_mean(r_rows, reference_batch).astype(np.float32)
  cand = _candidates(q_rows, r_rows, num, int(query_batch), int(reference_batch), centre)
  indices, dist2 = _rerank(q_rows, r_rows, cand, k)
  return indices, np.sqrt(dist2)


def neighbor_grid(samples, references, indices, pad: int = 1,
                  value_range: Optional[Tuple[float, float]] = None) -> np.ndarray:
  """A uint8 HWC grid: row i = samples[i], then references[indices[i, 0]], ... .

  Args:
    samples: [Nq, H, W, C] images.
    references: [Nr, H, W, C] images.
    indices: int [Nq, k] from `nearest_neighbors`.
    pad: black pixels between tiles.
    value_range: (lo, hi) of float images, mapped to 0..255 with
      `tf_gans.training.images.to_uint8`; None requires uint8 images.

  Returns:
    uint8 [Nq * (H + pad) + pad, (k + 1) * (W + pad) + pad, C], ready for
    `tf_gans.training.images.save_png`.
  """
  samples = np.asarray(samples)
  references = np.asarray(references)
  indices = np.asarray(indices)
  if samples.ndim != 4 or references.ndim != 4 or samples.shape[1:] != references.shape[1:]:
    raise ValueError(f'samples and references must be NHWC images of one size, got '
                     f'{samples.shape} and {references.shape}.')
  if indices.ndim != 2 or len(indices) != len(samples):
    raise ValueError(f'indices must be [num_samples, k] = [{len(samples)}, k], got '
                     f'{indices.shape}.')
  if indices.size and (indices.min() < 0 or indices.max() >= len(references)):
    raise ValueError(f'indices out of range for {len(references)} references.')
  if value_range is not None:
    samples = images_lib.to_uint8(samples, value_range)
    references = images_lib.to_uint8(references, value_range)
  elif samples.dtype != np.uint8 or references.dtype != np.uint8:
    raise ValueError(f'images must be uint8, or give value_range for float images (got '
                     f'{samples.dtype} and {references.dtype}).')
  tiles = np.concatenate([samples[:, None], references[indices]], axis=1)
  k1 = tiles.shape[1]
  return images_lib.grid(tiles.reshape((-1,) + samples.shape[1:]), cols=k1, pad=pad)


QUERY_TITLE = 'query'              # the header of a grid's first column (the generated sample)


def neighbor_title(rank: int) -> str:
  """The header of neighbour column `rank` (1 = nearest)."""
  return f'NN {rank}'


def _wrap(draw, text: str, width: int, font) -> list:
  """`text` cut at spaces into lines no wider than `width` pixels (a long word stays whole)."""
  lines = []
  for word in text.split():
    if lines and draw.textlength(f'{lines[-1]} {word}', font=font) <= width:
      lines[-1] = f'{lines[-1]} {word}'
    else:
      lines.append(word)
  return lines


def _label_band(width: int, title_lines: list, headers: list, column_x: list, line_height: int,
                height: int, font) -> np.ndarray:
  """uint8 [height, width]: the title lines, then each header centred at its column_x."""
  from PIL import Image, ImageDraw  # pylint: disable=import-outside-toplevel
  band = Image.new('L', (width, height), 255)
  draw = ImageDraw.Draw(band)
  y = 2
  for line in title_lines:
    draw.text((2, y), line, fill=0, font=font)
    y += line_height
  y = height - line_height - 2
  for text, x in zip(headers, column_x):
    draw.text((max(0, x - draw.textlength(text, font=font) / 2), y), text, fill=0, font=font)
  return np.asarray(band, np.uint8)


def labelled_neighbor_grids(samples, references, panels, upscale: int = 1, pad: int = 1,
                            gap: int = 8) -> np.ndarray:
  """Neighbour grids side by side, each under a band that says what it shows.

  Args:
    samples: [Nq, H, W, C] uint8 generated images (the queries).
    references: [Nr, H, W, C] uint8 real images.
    panels: (title, indices) per panel, e.g. ('pixel space', pixel indices),
      ('feature space (classifier features)', feature indices); indices as
      `nearest_neighbors` returns them.
    upscale: nearest-neighbour enlargement of the image grids (the band's
      text stays at its size).
    pad: black pixels between tiles (before enlargement).
    gap: white pixels between panels.

  Returns:
    uint8 [band + Nq * (H + pad) * upscale + pad * upscale, ..., C]: each
    panel's band holds its title (wrapped to the panel's width) and, over
    each tile column, QUERY_TITLE for the samples' column and
    `neighbor_title(r)` over the r-th nearest neighbours' column.
  """
  from PIL import Image, ImageDraw, ImageFont  # pylint: disable=import-outside-toplevel
  if not panels:
    raise ValueError('labelled_neighbor_grids needs at least one (title, indices) panel.')
  upscale = max(1, int(upscale))
  grids = []
  for _, indices in panels:
    g = neighbor_grid(samples, references, indices, pad=pad)
    grids.append(np.repeat(np.repeat(g, upscale, axis=0), upscale, axis=1))
  font = ImageFont.load_default()
  probe = ImageDraw.Draw(Image.new('L', (1, 1)))
  line_height = int(np.ceil(probe.textbbox((0, 0), 'Ag', font=font)[3])) + 2
  h, w = np.asarray(samples).shape[1:3]
  titles = [_wrap(probe, title, grid.shape[1] - 4, font) for (title, _), grid in zip(panels, grids)]
  height = (max(len(t) for t in titles) + 1) * line_height + 6
  channels = grids[0].shape[2]
  columns = []
  for (_, indices), grid, title_lines in zip(panels, grids, titles):
    k = np.asarray(indices).shape[1]
    headers = [QUERY_TITLE] + [neighbor_title(r) for r in range(1, k + 1)]
    column_x = [(pad + c * (w + pad) + w / 2) * upscale for c in range(k + 1)]
    band = _label_band(grid.shape[1], title_lines, headers, column_x, line_height, height, font)
    band = np.repeat(band[..., None], channels, axis=2)
    columns.append(np.concatenate([band, grid], axis=0))
    columns.append(np.full((columns[-1].shape[0], gap, channels), 255, np.uint8))
  return np.concatenate(columns[:-1], axis=1)

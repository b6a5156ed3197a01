"""Evaluation metrics for generators (numpy; importing this package does not import TensorFlow).

On features (e.g. Inception pool_3) of real and generated images:
  precision_recall  improved precision and recall, k = 3 (Kynkaanniemi et al. 2019; .prdc)
  density_coverage  density and coverage, k = 5 (Naeem et al. 2020; .prdc)
FID-infinity / IS-infinity (Chong and Forsyth 2020): tf_gans.metrics.fid_infinity (the module
keeps the name: a package-level function `fid_infinity` would hide it).
Bootstrap percentile intervals of FID, KID, precision/recall and density/coverage:
tf_gans.metrics.bootstrap.
"""

from tf_gans.metrics.prdc import density_coverage, precision_recall

__all__ = ['density_coverage', 'precision_recall']

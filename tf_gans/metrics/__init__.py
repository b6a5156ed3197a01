"""Evaluation metrics for generators (numpy; importing this package does not import TensorFlow).

On features (e.g. Inception pool_3) of real and generated images:
  precision_recall  improved precision and recall, k = 3 (Kynkaanniemi et al. 2019; .prdc)
  density_coverage  density and coverage, k = 5 (Naeem et al. 2020; .prdc)
  fid_infinity, is_infinity  the scores extrapolated to N = infinity (Chong and Forsyth
                    2020; .fid_infinity)
Bootstrap percentile intervals of FID, KID and the above: tf_gans.metrics.bootstrap.
"""

from tf_gans.metrics.fid_infinity import fid_infinity, is_infinity
from tf_gans.metrics.prdc import density_coverage, precision_recall

__all__ = ['density_coverage', 'fid_infinity', 'is_infinity', 'precision_recall']

"""Keras layers of the three papers.

  Maxout                    GAN 2014's D units (`maxout`)
  SpectralNorm, BatchStatsNormalization   the RGAN code's D normalisation (`normalization`)
  WScaleDense, WScaleConv2D, UpscaleConv2D, ConvDownscale2D, Bias, PixelNorm,
  MinibatchStddev, Upscale2D, Downscale2D   PGGAN's ops (`pggan`; original `networks.py`),
                            with the functional forms (`pggan.lerp_clip`, `pggan.pixel_norm`, ...)
"""

from tf_gans.layers.maxout import Maxout
from tf_gans.layers.normalization import BatchStatsNormalization, SpectralNorm
from tf_gans.layers.pggan import (Bias, ConvDownscale2D, Downscale2D, MinibatchStddev, PixelNorm,
                                  Upscale2D, UpscaleConv2D, WScaleConv2D, WScaleDense)

__all__ = ['Maxout', 'SpectralNorm', 'BatchStatsNormalization', 'WScaleDense', 'WScaleConv2D',
           'UpscaleConv2D', 'ConvDownscale2D', 'Bias', 'PixelNorm', 'MinibatchStddev',
           'Upscale2D', 'Downscale2D']

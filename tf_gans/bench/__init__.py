"""The benchmarks behind `python -m tf_gans.benchmark`, each returning a JSON-ready report.

gan (GAN/RGAN train steps), pggan (PGGAN forward pass and train step vs
official_ports), distribute (one process vs two workers), metrics (metric
feature extraction, SWD) and timing (interleaved rounds, shared by all).
"""

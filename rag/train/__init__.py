"""Code that needs torch and that the service never imports: the reader's PyTorch model (training and export,
scripts/train_reader.py) and the bundled encoder's reference recipe (parity tests and benchmarks).
"""

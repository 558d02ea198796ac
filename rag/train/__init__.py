"""Training-only code (needs torch): the reader's PyTorch model. Nothing that `rag serve` imports uses it.
"""

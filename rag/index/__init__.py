"""Documents into the stored index: sentences and chunks (chunk), their vectors and latent terms (encode), the
immutable on-disk versions (versions), the folder that holds them and its write lock (folder), the vector
stores (store) and the BM25 twin (lexical).
"""

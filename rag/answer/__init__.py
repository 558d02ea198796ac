"""A question into a reply: the question's rules (question), passages by fused retrieval (retrieve, fuse), short
spans read by the reader (read), and the answers made of them (answers).
"""

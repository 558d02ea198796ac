"""Extractive question answering over a news corpus, with exact source spans."""

__version__ = "0.1.0"

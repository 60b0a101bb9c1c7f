"""The study built on :mod:`qrnn_core`: runs and profiles, the pipeline, the benchmark and the book's chapters.

It needs the ``study`` extra (``pip install .[study]``, or ``make setup``); the library does not import it.
"""

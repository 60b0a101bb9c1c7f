"""One module per book chapter, named like its notebook in ``notebooks/``.

Each chapter module owns its analysis and figures, and names the files it writes as a small frozen
dataclass ``Outputs`` (module constant ``OUTPUTS``). Other chapters read its results only through its
``load(...)`` function, never through file-name literals or another notebook's images.

Example:
    >>> from qrnn_study.chapters import baselines  # doctest: +SKIP
    >>> baselines.OUTPUTS.table  # doctest: +SKIP
    'baselines.csv'
"""

"""Holds ``cringe_fairseq``, the folder given to fairseq's tools as ``--user-dir`` (and nothing else)."""

"""Faces for the lessons: procedural toy faces, real-face loaders, splits and verification pairs.

- :func:`make_toy_faces` -- seeded procedural faces with known nuisances, cached on disk
- :func:`load_att_faces`, :func:`load_olivetti`, :func:`load_image_folder` -- real faces
- :func:`find_real_faces` -- where the AT&T or Olivetti faces are on this machine (or None, saying how
  to get them); :func:`olivetti_download_home` -- where a download of the Olivetti faces goes
- :func:`split_identities` (open set), :func:`split_images` (closed set), :func:`make_pairs`

Everything returns a :class:`FaceDataset`.
"""
from .dataset import FaceDataset
from .generate import cache_dir, make_toy_faces
from .real import (
    ATT_CREDIT,
    OLIVETTI_HOME,
    data_folders,
    find_real_faces,
    load_att_faces,
    load_image_folder,
    load_olivetti,
    olivetti_download_home,
)
from .splits import make_pairs, split_identities, split_images
from .toy import EXPRESSIONS, GENERATOR_VERSION, NUISANCE_FACTORS, OCCLUDERS, TOY_CREDIT

__all__ = [
    "ATT_CREDIT",
    "EXPRESSIONS",
    "GENERATOR_VERSION",
    "NUISANCE_FACTORS",
    "OCCLUDERS",
    "OLIVETTI_HOME",
    "TOY_CREDIT",
    "FaceDataset",
    "cache_dir",
    "data_folders",
    "find_real_faces",
    "load_att_faces",
    "load_image_folder",
    "load_olivetti",
    "make_pairs",
    "make_toy_faces",
    "olivetti_download_home",
    "split_identities",
    "split_images",
]

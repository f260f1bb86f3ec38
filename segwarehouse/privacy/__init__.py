"""Right to erasure: one person removed from landing files, warehouse, serving file and run evidence."""

from .erasure import ErasureReport, Stages, erase_person
from .matching import ErasureError

__all__ = ["ErasureError", "ErasureReport", "Stages", "erase_person"]

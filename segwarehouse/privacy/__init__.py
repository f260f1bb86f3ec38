"""Right to erasure: one person removed from landing files, warehouse, serving file and run evidence."""

from segwarehouse.privacy.erasure import ErasureReport, Stages, erase_person
from segwarehouse.privacy.matching import ErasureError

__all__ = ["ErasureError", "ErasureReport", "Stages", "erase_person"]

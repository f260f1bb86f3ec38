"""The landing zone: its sources, the file ledger (what every file is and what became of it), day checks."""

from segwarehouse.landing.check import LandedDay, LandingError, check_landing, partition_dir
from segwarehouse.landing.sources import BY_FOLDER, BY_NAME, SOURCES, Source

__all__ = ["BY_FOLDER", "BY_NAME", "SOURCES", "LandedDay", "LandingError", "Source", "check_landing",
           "partition_dir"]

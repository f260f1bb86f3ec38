"""Synthetic CRM, web-analytics and shop data with planted personas and realistic dirt."""

from .config import DirtRates, GeneratorConfig
from .core import SOURCES, generate

__all__ = ["SOURCES", "DirtRates", "GeneratorConfig", "generate"]

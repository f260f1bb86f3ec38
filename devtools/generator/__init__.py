"""Synthetic CRM, web-analytics and shop data with planted personas and realistic dirt."""

from devtools.generator.config import DirtRates, GeneratorConfig
from devtools.generator.core import SOURCES, generate

__all__ = ["SOURCES", "DirtRates", "GeneratorConfig", "generate"]

"""Moved to :mod:`meshgen.kube` (kept so that older imports keep working)."""

from meshgen.kube.catalog import CRDCatalog, CRDLoadError, SchemaViolation, validate_objects

__all__ = ["CRDCatalog", "CRDLoadError", "SchemaViolation", "validate_objects"]

"""One adapter per InVEST model (issue 16): see ``gep.models.base``."""

"""gep: satellite data to Gross Ecosystem Product to river-basin ecological compensation."""

__version__ = "0.1.0"

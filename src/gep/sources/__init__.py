"""Input sources: demo (offline synthetic basin), local GeoTIFFs, Google Earth Engine."""

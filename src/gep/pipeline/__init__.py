"""The annual GEP batch as commands: ``gep run`` (the whole pipeline under Snakemake),
``validate-config``, ``acquire``, ``invest``, ``zonal``, ``value`` and the land-cover
classification (``classify``, ``demo-imagery``). The stage functions live in their own
modules (:mod:`gep.acquire`, :mod:`gep.invest`, :mod:`gep.zonal`, :mod:`gep.valuation`,
:mod:`gep.landcover`); this package only wires them to the command line.
"""

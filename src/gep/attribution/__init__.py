"""Attribution of every GEP change to land use or climate (issue 10).

A year's GEP mixes what the parties did (land cover) with the weather (rain, evaporative
demand, storm erosivity). For every year *t* gep therefore values the year's land cover twice:
under the year's actual climate (the ordinary run) and under one **reference climate**, the
per-pixel mean precipitation, reference ET and erosivity over ``attribution.reference_years``
(default: every configured year). With the climate held fixed, the change of reference-climate
GEP from *t−1* to *t* is caused by land cover alone:

    total_t    = GEP(LC_t, climate_t)   − GEP(LC_t−1, climate_t−1)
    land_use_t = GEP(LC_t, reference)   − GEP(LC_t−1, reference)
    climate_t  = total_t − land_use_t

per party and valued service, in CNY at constant prices, to the fen
(``results/<basin>/gep/attribution.csv``). The compensation engine pays its reward on
``land_use`` by default (``reward.basis`` in the agreement).

Which model runs again under the reference climate:

- annual water yield depends on precipitation and reference ET: its reference run uses the
  water-yield surrogate (:mod:`gep.tuning.surrogate`, InVEST's pixel equations on the same
  inputs; a test compares it with a real InVEST run per pixel);
- SDR (erosivity) and NDR (precipitation as runoff proxy): the climate enters only pixel-wise
  steps (RKLS and USLE; the runoff proxy index scaling the loads), so
  :mod:`gep.attribution.surrogates` redoes just those steps with InVEST's own functions on the
  actual run's intermediates (equal to a full InVEST run per pixel), and runs InVEST again
  only when the actual run cannot be reused (the log says why);
- habitat quality and carbon do not depend on climate: the actual runs are reused;
- a year whose climate equals the reference climate per pixel reuses its actual runs.

A reused model's zonal rows are the year's own zonal table's: the reference zonal pass sums
only the area, the reference precipitation and the re-run models
(:func:`gep.attribution.reference.reference_zonal`).

Stages: :func:`gep.attribution.climate.reference_climate` (``gep reference-climate``),
:func:`gep.attribution.reference.reference_year` (``gep reference --year``) and
:func:`gep.attribution.attribute.attribute` (``gep attribute``).
"""

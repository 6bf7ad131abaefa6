"""The VAWG pathway's stages, one module a stage (``pathway:`` names them): reporting, police,
charging, courts, sentencing, support (IDVAs and ISVAs), MARAC, repeats and perpetrator programmes."""

"""The pathway of women in contact with the criminal justice system, one module a stage: arrests,
custody suite (liaison and diversion), women's courts, probation and women's centres; ``table``
holds what the stages share about the women's cases."""

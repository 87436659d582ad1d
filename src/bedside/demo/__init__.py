"""The synthetic demo build: reference and gene models, patients, planted variants, truth and reads.

Entry points: :func:`bedside.demo.generate.generate` (``bedside demo-data``) and
:func:`bedside.demo.simulate.simulate_mixture` (ART reads from haplotype FASTAs at coverage shares).
"""

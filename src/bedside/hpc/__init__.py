"""HPC helpers: a local Slurm cluster for tests, a preflight of rule resources against a partition."""

"""The benchmark: the seed's cohort recomputed, seed consistency checks, publishing."""

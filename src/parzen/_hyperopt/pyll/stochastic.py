"""``parzen.pyll.stochastic.sample(space, rng=...)``, as in hyperopt."""

from parzen.space import sample

__all__ = ["sample"]

"""hyperopt-compatible ``scope`` and ``stochastic`` so ``from hyperopt.pyll import scope``
keeps working as ``from parzen.pyll import scope``.

parzen has no expression language: ``scope.f(...)`` just wraps a plain function call
over sub-spaces in a `Call` node, evaluated by `space_eval` once the hyperparameters
inside are chosen.
"""

from parzen.pyll import stochastic
from parzen.pyll.scope import Scope, scope

__all__ = ["scope", "Scope", "stochastic"]

"""hyperopt-compatible ``scope`` and ``stochastic`` so ``from hyperopt.pyll import scope``
keeps working as ``from parzen.pyll import scope``.

parzen has no expression language: ``scope.f(...)`` just wraps a plain function call
over sub-spaces in a `Call` node, evaluated by `space_eval` once the hyperparameters
inside are chosen. ``as_apply`` turns a constant into such a node. pyll's graph
machinery (``rec_eval``, ``clone``, ``dfs``, ``Literal``, ``Lambda``) is not provided:
see docs/migrating-from-hyperopt.md.
"""

from parzen._hyperopt.pyll import stochastic
from parzen._hyperopt.pyll.scope import Scope, as_apply, scope
from parzen.space import Call as Apply

__all__ = ["scope", "Scope", "stochastic", "as_apply", "Apply"]

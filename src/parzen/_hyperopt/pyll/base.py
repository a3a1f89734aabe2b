"""``from hyperopt.pyll.base import scope`` keeps working as ``from parzen.pyll.base import scope``."""

from parzen._hyperopt.pyll.scope import Scope, as_apply, scope
from parzen.space import Call as Apply

__all__ = ["scope", "Scope", "Apply", "as_apply"]

"""Built-in reload patch for SQLAlchemy declarative models.

A module defining ``class User(Base): __tablename__ = "users"`` adds the table to ``Base.metadata``
and the class to ``Base.registry``; executing it again raises ``Table 'users' is already defined for
this MetaData instance`` and would leave the old class registered. Before a module is executed
again, dispose of the mapped classes it defines and remove their tables.
"""

import sys

import pytestd


@pytestd.before_reload("*")
def forget_mapped_classes(module):
    if "sqlalchemy.orm" not in sys.modules or module is None:
        return
    for value in list(vars(module).values()):
        if not isinstance(value, type) or value.__module__ != module.__name__:
            continue
        registry = getattr(value, "registry", None)
        table = vars(value).get("__table__")
        if registry is None or table is None or not hasattr(registry, "_dispose_cls"):
            continue
        registry._dispose_cls(value)
        table.metadata.remove(table)

"""Built-in reload patch for prometheus_client.

A module that creates metrics at import time (``REQUESTS = Counter("requests_total", ...)``)
registers them in the default ``REGISTRY``; executing it again registers the same names a second
time and raises ``ValueError: Duplicated timeseries in CollectorRegistry``. Before a module is
executed again, unregister the collectors it owns, so the new ones take their place.
"""

import sys

import pytestd


@pytestd.before_reload("*")
def unregister_module_metrics(module):
    client = sys.modules.get("prometheus_client")
    if client is None or module is None:
        return
    registry = client.REGISTRY
    owned = registry._collector_to_names
    for value in list(vars(module).values()):
        try:
            registered = value in owned
        except TypeError:  # unhashable values are no collectors
            continue
        if registered:
            registry.unregister(value)

"""What the server reports about itself to monitoring: Prometheus metrics at ``/metrics``.

``metrics`` defines every metric and the small functions other packages call to count
(answers, failures, webhook deliveries, the database pool); ``middleware`` times every
request by route template; ``router`` serves the exposition.
"""

import os

# In multiprocess mode prometheus_client writes a file for each metric as soon as the
# metric is defined, when ``metrics`` is first imported: the directory must exist by then.
if _directory := os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(_directory, exist_ok=True)

"""What the server reports about itself to monitoring: Prometheus metrics at ``/metrics``.

``metrics`` defines every metric and the small functions other packages call to count
(answers, failures, webhook deliveries, the database pool); ``middleware`` times every
request by route template; ``router`` serves the exposition.
"""

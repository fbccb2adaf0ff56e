"""Route 53 behaviour the emulator stores but never evaluates: health checks probed at their
interval and threshold (``healthcheck``) and a DNS server that answers for the hosted zone from
its records, honouring failover and TTL (``dns``).

May import: nothing of ``drill`` or of the rest of the twin (the emulator's client is handed in).
"""

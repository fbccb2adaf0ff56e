"""The RDS data plane: a MariaDB primary and a cross-region replica with real binlog replication
(``mysql``) through a link that plays the network between the regions (``link``).

May import: ``drill.core``; of the twin, ``sandbox.client`` (finding the MariaDB binaries).
"""

"""The engine: the drill (``drill``: composition, phases, marks), its procedures (``steady``,
``traffic``, ``failover``, ``failback``, ``measure``, ``restore``), the session that owns signals,
the stop-condition watchdog, the live view, restore and the lease (``session``, ``watchdog``,
``progress``, ``lock``), the commands (``runner``: drill run; ``chaos``: drill fault;
``rollback``; ``commands``: drill failback), and ``api``: what the steps may use.

May import: every package of ``drill`` below it (core, targets, ops, faults, traffic, notify,
checks, plan, report); of the twin, nothing.
"""

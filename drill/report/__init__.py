"""Reports, from the journal alone: ``result`` (journal -> ``DrillResult``, one streaming pass),
renderers (``markdown``, ``html`` with Jinja2 templates and ``charts``, the index), ``build``
(a drill's folder). To add a report format: one renderer of ``DrillResult``, called from ``build``.

May import: ``drill.core``.
"""

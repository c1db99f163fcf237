"""The PunchOut gateway's shared library: the cXML pipeline, trading partners, sessions, carts and
orders, data access (``store``), pure cXML (``cxml``), settings, observability and the operators' CLI.

Every Lambda function in `functions/` imports from here; nothing here imports a function package
(the layers: README, Layout; ``tests/unit/test_layers.py``).
"""

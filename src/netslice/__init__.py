"""netslice: deep-reinforcement-learning based end-to-end network slicing.

Three layers, imports only pointing downwards:

* :mod:`netslice.network` -- vectorised simulator of RAN, transport, core and edge domains;
* ``netslice.orchestration`` -- domain managers, end-to-end orchestrator, 3GPP NRM models, REST API;
* ``netslice.intelligence`` -- DRL environments, baselines and agents.
"""

__version__ = "0.1.0"

"""Network layer: a fast, vectorised simulator of RAN, transport, core and edge domains.

Everything here is batched over ``n_envs`` independent networks: parameters are frozen
dataclasses, state is a dataclass of arrays shaped ``(n_envs, ...)`` and the step is a pure
function ``step(params, state, allocation, rng) -> (state, kpis)``. This package imports
nothing from the orchestration or intelligence layers.
"""

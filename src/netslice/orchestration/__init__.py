"""Orchestration layer: 3GPP NRM models, domain managers, the end-to-end orchestrator and assurance.

It sits between the network layer (simulator, emulation) and the intelligence layer (DRL agents), which
reach the network only through it.
"""

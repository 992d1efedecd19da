"""Imitation learning: demonstrations, behaviour cloning and the ``netslice imitate`` job.

A teacher's demonstrations (:mod:`.dataset`), behaviour cloning (:mod:`.bc`) and the job (:mod:`.job`). The clone
starts PPO through :mod:`netslice.intelligence.agents.warm_start`.
"""

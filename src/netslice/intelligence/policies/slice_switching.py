"""Per-slice or per-domain agents behind the shield they trained with: :class:`SliceSwitchingPolicy`.

The evaluation counterpart of the per-slice training shield (:class:`~netslice.intelligence.agents.slice_shield.
SliceShield`): the slice agent (:class:`~.shared_slice.SharedSlicePolicy`) decides each provisioned slice's column;
the network's allocation (0 in the empty slots) is judged on the network's centralised observation
(:class:`~netslice.intelligence.envs.features.Encoder`, as
:meth:`~netslice.intelligence.envs.slice_agents.SliceAgentsVectorEnv.network_view` gives it in training), only the
provisioned slices' predictions counting; where the switch rule fires (:func:`~.switching.switch_mask`), the whole
network plays the baseline's allocation, as in training. The rule, the baseline, the counters and the
``shield/*`` metrics are those of the :class:`~.switching.SwitchingPolicy` it holds (``gate``).

It is a :class:`~.base.ContextPolicy`: it runs wherever the slice agent runs (:func:`~netslice.intelligence.
evaluate.evaluate`, :func:`~netslice.intelligence.dynamic_eval.evaluate_dynamic`), whatever the slices present.
``netslice evaluate --policy switching:RUN`` loads one from a per-slice run trained with ``--switching``.

The per-domain agents (:class:`~netslice.intelligence.agents.domain_policy.DomainPolicy`, the evaluation
counterpart of :class:`~netslice.intelligence.agents.domain_shield.DomainShield`) run behind their shield the same
way: ``agent`` is then the three group actors, whose rows make the network's allocation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from netslice.intelligence.envs.features import Encoder, flatten_allocation
from netslice.intelligence.policies.base import ContextPolicy, FloatArray, PerScenario, PolicyContext, reset_policy
from netslice.intelligence.policies.switching import BoolArray, SwitchingPolicy
from netslice.network.allocation import N_RESOURCES
from netslice.network.scenarios import Scenario
from netslice.orchestration.orchestrator import Orchestrator


@dataclass
class SliceSwitchingPolicy:
    """A slice agent on every provisioned slice, its networks switched to the baseline where a violation is predicted.

    Attributes:
        agent: the slice agent run on every slice (or any context policy: the per-domain agents).
        gate: the switch rule, baseline and evaluator (its ``agent`` is only a label: the columns come from
            ``agent``), frozen (``learn_online=False``).
        name: label for reports.
    """

    agent: ContextPolicy
    gate: SwitchingPolicy
    name: str = "per-slice+switching"
    _encoders: PerScenario[Encoder] = field(
        default_factory=lambda: PerScenario(Encoder.from_scenario), init=False, repr=False
    )

    def encoder(self, scenario: Scenario) -> Encoder:
        """The centralised observation encoder of ``scenario`` (made once per scenario object)."""
        return self._encoders(scenario)

    def act_context(self, ctx: PolicyContext) -> FloatArray:
        """The allocation ``(n_envs, 7, K)``: the agent's, or the baseline's in the networks switched."""
        own = self.agent.act_context(ctx)
        n_envs, _, k = own.shape
        obs = self.encoder(ctx.scenario).encode(ctx.observation)
        live = np.broadcast_to(np.asarray(ctx.observation.active, dtype=bool), (n_envs, k))
        played = self.gate.enforce(obs, flatten_allocation(own), live).reshape(n_envs, N_RESOURCES, k)
        out: FloatArray = np.where(live[:, None, :], played, 0.0)  # an empty slot gets nothing, switched or not
        return out

    @property
    def last_switched(self) -> BoolArray | None:
        """``(n_envs,)`` switch mask of the last decision (``None`` before the first)."""
        return self.gate.last_switched

    def bind(self, orch: Orchestrator) -> None:
        """Bind the baseline to the networks played (a planning baseline needs them)."""
        self.gate.bind(orch)

    def reset(self) -> None:
        """Reset the slice agent and the baseline (the counters persist: they span a whole run)."""
        reset_policy(self.agent)
        reset_policy(self.gate.baseline)

    def metrics(self) -> dict[str, float]:
        """The ``shield/*`` metrics of :mod:`.switching` (a decision is one network's slot)."""
        return self.gate.metrics()

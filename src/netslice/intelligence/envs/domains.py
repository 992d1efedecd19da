"""Per-domain multi-agent environment: a PettingZoo :class:`~pettingzoo.ParallelEnv`, one agent per domain group.

The paper's Fig. 4(c): agent ``ran_edge`` orchestrates the RAN and the edge, ``transport`` the TN, and ``core``
the CN. Each sees only its domains' state and its local share of every slice's SLA, which the SLA
decomposition (:mod:`netslice.intelligence.decomposition`) sets and, with ``decomposition="adaptive"``,
rebalances every slot.

Card (one network; K slices; agents ``ran_edge``, ``transport``, ``core``):

* Action of agent g: ``Box(0, 1, (n_rows_g * K,), float32)``, its rows of the allocation, resource-major
  (:data:`.domain_features.GROUP_ROWS`: 5, 1 and 1 rows). An agent that sends no action keeps its rows in
  force. The joint allocation (:func:`.domain_features.assemble`) goes through the orchestrator like any
  action: values outside [0, 1] are clipped (``info["action_clipped"]``, ``info["action_clip"]``), non-finite
  values are an :class:`~netslice.errors.InvalidAllocationError`, and over-capacity rows are scaled down.
* Observation of agent g: its domains' state per slice, the traffic and time features, and its latency
  budget per slice (layout: :mod:`.domain_features`).
* Reward of agent g: ``"usage"`` (default): minus its domains' part of the weighted usage,
  ``-sum_{d in g} w_d usage_d`` (:class:`~netslice.orchestration.objective.Objective`). The agents' rewards
  sum to the single-agent reward. ``"penalized"``: that minus ``cost_penalty`` times the sum of its cost.
* Info of agent g: ``cost`` ``(K,)`` its SLA cost in [0, 1] (:meth:`.SlaDecomposer.cost`: its latency cost
  against the budget in force during the slot, and with ``shared_terms`` the terms no domain has a budget
  for); ``cost_latency`` ``(K,)`` the latency part alone; ``cost_e2e`` ``(K,)`` the slices' end-to-end SLA
  cost clipped to [0, 1] (as ``info["cost"]`` of the single-agent envs); ``latency_ms`` ``(K,)`` its observed
  latency; ``budget_ms`` ``(K,)`` the budget the slot was judged against; ``next_budget_ms`` the budget of
  the coming slot (``inf`` where a slice has no latency term: no bound); ``reliability`` ``(K,)`` its
  reliability target (0 where a slice has no reliability term: any fraction meets it); ``usage`` its domains'
  usage (order DOMAINS); ``action_clipped``, ``action_clip``; with ``"penalized"`` also ``reward_usage``. Every
  info value is finite or ``inf`` (no NaN), so that equal episodes have equal infos
  (``pettingzoo.test.parallel_seed_test`` compares them with ``==``).
* Budgets start each episode at the fixed split. The nominal shares are each domain's latency at the
  slice's admission, from the orchestrator's slice records (an in-process orchestrator) of the slices live
  when the episode starts (read again at every ``reset``: with slices that come and go, a seeded reset
  restarts the request process, so the same seed gives the same shares), or ``shares``, or else a quarter
  per domain.
* Episode end: every agent is truncated after ``slots_per_episode`` slots (default the scenario's day;
  ``None``: never). ``agents`` is then empty.
* :meth:`DomainParallelEnv.state`: the single-agent flat observation (for centralised critics).

PettingZoo has no registry. :func:`parallel_env` is this module's factory, in PettingZoo's naming.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.error import ResetNeeded
from numpy.typing import ArrayLike
from pettingzoo import ParallelEnv  # type: ignore[import-untyped]  # pettingzoo ships no py.typed

from netslice.errors import ConfigError
from netslice.intelligence.decomposition import (
    GROUPS,
    MEMBERSHIP,
    DecompositionConfig,
    DecompositionState,
    E2eRequirement,
    SlaDecomposer,
    judge_slot,
    shares_from_domain_latency,
)
from netslice.intelligence.envs import domain_features as layout
from netslice.intelligence.envs import render as rendering
from netslice.intelligence.envs.connection import AgentApi
from netslice.intelligence.envs.features import Encoder, Float32Array, FloatArray
from netslice.intelligence.envs.options import DEFAULT_COST_PENALTY, SCENARIO_LENGTH, EnvCore, EpisodeLength
from netslice.intelligence.envs.parallel import SliceParallelEnv
from netslice.network import scenarios
from netslice.network.allocation import DOMAINS
from netslice.network.scenarios import Scenario
from netslice.network.scenarios.sla import SlaTargets
from netslice.orchestration.agent_api import Observation
from netslice.orchestration.orchestrator import Orchestrator

#: ``decomposition=`` names (a :class:`DecompositionConfig` is accepted too).
DECOMPOSITIONS = ("fixed", "adaptive")


def design_shares(orch: AgentApi, n_slices: int) -> FloatArray | None:
    """``(K, G)`` group shares from each slice's per-domain latency budgets at admission, or ``None``.

    An in-process orchestrator keeps the budgets of its SLA decomposition hook in its slice records. They
    split the latency at the reserved allocation, so they are the slice's design point. Slices without a
    latency budget get :data:`~netslice.intelligence.decomposition.DEFAULT_SHARES`' domain weights.
    """
    if not isinstance(orch, Orchestrator):
        return None
    domain_ms = np.ones((n_slices, len(DOMAINS)))  # equal per domain where no budget is known
    for record in orch.records.values():
        budget = record.budgets.get("latency_ms")
        if budget is not None and sum(budget.values()) > 0.0:
            domain_ms[record.index] = [budget[d] for d in DOMAINS]
    return shares_from_domain_latency(domain_ms)


def _config(decomposition: str | DecompositionConfig) -> DecompositionConfig:
    """The decomposition settings a ``decomposition=`` argument names."""
    if isinstance(decomposition, DecompositionConfig):
        return decomposition
    if decomposition not in DECOMPOSITIONS:
        raise ConfigError(f"decomposition: must be one of {', '.join(map(repr, DECOMPOSITIONS))} or a "
                          f"DecompositionConfig, got {decomposition!r}")  # fmt: skip
    return DecompositionConfig(method=decomposition)


class DomainParallelEnv(ParallelEnv, EnvCore):  # type: ignore[misc]  # ParallelEnv is untyped (Any) for mypy
    """One agent per domain group over an orchestrator with one network (see the module card).

    Args:
        scenario: registered scenario name or loaded scenario.
        seed: seed of the orchestrator created here (episodes are re-seeded by ``reset(seed=...)``).
        orchestrator: drive this orchestrator (or client) instead of creating one; one network.
        encoder: observation encoder (default: built from the scenario).
        weights: ``(4,)`` domain weights of the rewards, default equal.
        backend: simulator backend of the orchestrator created here.
        slots_per_episode: slots per episode: ``"scenario"`` (the scenario's), an int, or ``None``.
        max_episode_steps: former name of ``slots_per_episode``; give one of the two.
        render_mode: ``None``, ``"ansi"`` or ``"rgb_array"``.
        reward: ``"usage"`` or ``"penalized"``.
        cost_penalty: weight of the agent's summed cost in the ``"penalized"`` reward.
        decomposition: ``"fixed"``, ``"adaptive"`` (default settings otherwise) or a :class:`DecompositionConfig`.
        shares: ``(K, 3)`` nominal group shares of each slice's latency budget (default: see the card).

    Raises:
        ConfigError: an invalid option.
    """

    metadata: dict[str, Any] = {  # noqa: RUF012
        "name": "netslice_domains_v0",
        "render_modes": list(rendering.RENDER_MODES),
        "render_fps": rendering.RENDER_FPS,
        "is_parallelizable": True,
    }

    def __init__(
        self,
        scenario: str | Scenario = "testbed-v0",
        seed: int | None = None,
        *,
        orchestrator: AgentApi | None = None,
        encoder: Encoder | None = None,
        weights: FloatArray | None = None,
        backend: str = "auto",
        slots_per_episode: EpisodeLength = SCENARIO_LENGTH,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
        reward: str = "usage",
        cost_penalty: float = DEFAULT_COST_PENALTY,
        decomposition: str | DecompositionConfig = "adaptive",
        shares: ArrayLike | None = None,
    ) -> None:
        config = _config(decomposition)
        self._setup(
            scenario, seed, orchestrator=orchestrator, encoder=encoder, weights=weights, backend=backend,
            slots_per_episode=slots_per_episode, max_episode_steps=max_episode_steps, render_mode=render_mode,
            reward=reward, cost_penalty=cost_penalty,
        )  # fmt: skip
        if isinstance(self.orch, Orchestrator):
            sc = self.orch.scenario
        else:
            sc = scenarios.load(scenario) if isinstance(scenario, str) else scenario
        self.targets = SlaTargets.from_spec(sc.spec)
        self._requirement = E2eRequirement.from_scenario(sc)
        self._config = config
        self._design = shares is None  # the nominal shares follow the slice records (see reset)
        nominal = design_shares(self.orch, self.n_slices) if shares is None else shares
        self.decomposer = SlaDecomposer.create(self._requirement, nominal, config)
        self.possible_agents: list[str] = list(GROUPS)
        self.agents: list[str] = []
        self._obs_spaces = {g: layout.observation_space(g, self.n_slices) for g in GROUPS}
        self._act_spaces = {g: layout.action_space(g, self.n_slices) for g in GROUPS}
        self.state_space = self.encoder.observation_space()
        self._t = 0
        self._last: Observation | None = None
        self._budgets: DecompositionState = self.decomposer.initial(1)
        self._local = np.zeros((1, self.n_slices, len(GROUPS)))
        self._usage = np.zeros(len(DOMAINS))

    @property
    def decomposition_state(self) -> DecompositionState:
        """The decomposer's state: the budgets of the coming slot and the smoothed group latencies."""
        return self._budgets

    def observation_space(self, agent: str) -> spaces.Box:
        """Observation space of ``agent`` (the same object on every call)."""
        return self._obs_spaces[agent]

    def action_space(self, agent: str) -> spaces.Box:
        """Action space of ``agent`` (the same object on every call)."""
        return self._act_spaces[agent]

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Float32Array], dict[str, dict[str, Any]]]:
        """Start a new episode at the fixed split (``seed`` re-seeds the simulator; ``options`` is unused)."""
        self._last = self.orch.reset(seed=seed)
        if self._design and isinstance(self.orch, Orchestrator):
            # The slices live now (a seeded reset restarts a request process) set the nominal split, not the ones
            # live when the env was built: otherwise two envs reset with the same seed could split differently.
            self.decomposer = SlaDecomposer.create(
                self._requirement, design_shares(self.orch, self.n_slices), self._config
            )
        self._t = 0
        self._usage = np.zeros_like(self._usage)
        self._budgets = self.decomposer.initial(1)
        self._local = np.zeros_like(self._local)
        self.agents = list(self.possible_agents)
        return self._observe(self._last), {g: {} for g in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[
        dict[str, Float32Array], dict[str, float], dict[str, bool], dict[str, bool], dict[str, dict[str, Any]]
    ]:  # fmt: skip
        """Run one slot under the agents' rows (missing agents keep their rows in force)."""
        if not self.agents or self._last is None:
            raise ResetNeeded("step: the episode has ended (or never started); call reset()")
        alloc, clips = layout.assemble(self._last.allocation[0], actions)
        result = self.orch.step(alloc[None])
        self._last = result.observation
        self._t += 1
        done = self.slots_per_episode is not None and self._t >= self.slots_per_episode
        in_force = self._budgets
        slot = judge_slot(self.decomposer, self.targets, in_force, result.kpis)  # arrays (1, K, G)
        observed, cost, self._local, self._budgets = slot.observed_ms, slot.cost, slot.local, slot.state
        e2e = self.encoder.info(result)["cost"][0]
        usage = np.asarray(result.usage, dtype=np.float64)[0]  # (4,)
        self._usage = usage.copy()
        usage_rewards = -(usage * self.encoder.weights) @ MEMBERSHIP  # (G,), sums to the single-agent reward
        rewards = usage_rewards - (self.cost_penalty * cost[0].sum(axis=0) if self.reward_kind != "usage" else 0.0)
        reliability = self.decomposer.reliability
        agents = self.agents
        infos: dict[str, dict[str, Any]] = {}
        for g, group in enumerate(GROUPS):
            if group not in agents:
                continue
            infos[group] = {
                "cost": cost[0, :, g].copy(),
                "cost_latency": self._local[0, :, g].copy(),
                "cost_e2e": e2e.copy(),
                "latency_ms": observed[0, :, g].copy(),
                "budget_ms": np.nan_to_num(in_force.budgets_ms[0, :, g], nan=np.inf),  # NaN: no latency term
                "next_budget_ms": np.nan_to_num(self._budgets.budgets_ms[0, :, g], nan=np.inf),
                "reliability": np.nan_to_num(reliability[:, g], nan=0.0),  # NaN: no reliability term
                "usage": usage[MEMBERSHIP[:, g] > 0.0].copy(),
                "action_clipped": clips.get(group, 0.0) > 0.0,
                "action_clip": clips.get(group, 0.0),
            }
            if self.reward_kind != "usage":
                infos[group]["reward_usage"] = float(usage_rewards[g])
        obs = self._observe(result.observation)
        out_rewards = {group: float(rewards[g]) for g, group in enumerate(GROUPS) if group in agents}
        terminations = dict.fromkeys(agents, False)
        truncations = dict.fromkeys(agents, done)
        if done:
            self.agents = []
        return {g: obs[g] for g in agents}, out_rewards, terminations, truncations, infos

    # The global state (the single-agent flat observation), the rendering and close: the per-slice env's, on
    # the same attributes (``_last``, ``encoder``, ``render_mode``, ``spaces``, ``_usage``).
    state = SliceParallelEnv.state
    render = SliceParallelEnv.render
    close = SliceParallelEnv.close

    def _observe(self, obs: Observation) -> dict[str, Float32Array]:
        """Each agent's observation of one network."""
        per_group = layout.group_observations(self.encoder, obs, self._budgets.budgets_ms, self._local)
        return {g: per_group[g][0] for g in GROUPS}


def parallel_env(**kwargs: Any) -> DomainParallelEnv:
    """A :class:`DomainParallelEnv` (PettingZoo's factory name; ``kwargs`` are the class's arguments)."""
    return DomainParallelEnv(**kwargs)

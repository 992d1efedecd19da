"""RLlib PPO (new API stack) with a remote env runner on the single env and the PettingZoo env (issue 10).

Episode lengths must be exact: one testbed-v0 day, 24 slots, whatever the vectorisation (RLlib assumes
Gymnasium's ``NEXT_STEP`` autoreset; a ``SAME_STEP`` env made it record episodes one slot short). The single
env is given to RLlib by its bare id, which the remote env runner (a separate Ray worker process) can only
make because netslice's start-up hook registers it there (issue 10 item 1).

ray[rllib] pins gymnasium below constraints.txt's version, so this module runs in the RLlib environment
(``bash scripts/setup.sh --rllib``, lock constraints-rllib.txt): scripts/test.sh runs it there with
``NETSLICE_REQUIRE_RLLIB=1``, which turns a missing ray into a failure. In the main environment it is skipped.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from typing import Any

import pytest

from netslice.intelligence.envs import ENV_ID

pytestmark = pytest.mark.slow

if os.environ.get("NETSLICE_REQUIRE_RLLIB"):
    import ray.rllib  # the RLlib run of scripts/test.sh: never skip
else:
    pytest.importorskip(
        "ray.rllib",
        reason="ray[rllib] pins gymnasium below the main lock: scripts/test.sh runs this module in .venv-rllib "
        "(bash scripts/setup.sh --rllib)",
    )

import ray  # noqa: E402
from ray.rllib.algorithms.algorithm import Algorithm  # noqa: E402
from ray.rllib.algorithms.ppo import PPOConfig  # noqa: E402
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec  # noqa: E402
from ray.rllib.core.rl_module.rl_module import RLModuleSpec  # noqa: E402
from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv  # noqa: E402
from ray.tune.registry import register_env  # noqa: E402

from netslice.intelligence.envs import SliceParallelEnv  # noqa: E402

DAY = 24  # slots per testbed-v0 episode
ITERATIONS = 2
PARALLEL_ID = "netslice-parallel"


@pytest.fixture(scope="module", autouse=True)
def ray_session() -> Iterator[None]:
    """A local Ray instance for the module: a learner in this process, one env runner in a worker."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=200 * 2**20)
    yield
    ray.shutdown()


def ppo() -> PPOConfig:
    """A small PPO: one remote env runner, four episodes per iteration, two epochs."""
    return (
        PPOConfig()
        .env_runners(num_env_runners=1, rollout_fragment_length="auto")
        .training(train_batch_size_per_learner=4 * DAY, minibatch_size=2 * DAY, num_epochs=2, lr=1e-4)
        .learners(num_learners=0)
        .debugging(seed=0)
    )


def train(algo: Algorithm, modules: list[str]) -> list[dict[str, Any]]:
    """Run the iterations; check each one's episodes (exactly a day) and losses (finite)."""
    results = []
    try:
        for _ in range(ITERATIONS):
            result = algo.train()
            runners = result["env_runners"]
            assert runners["num_episodes"] >= 1
            assert runners["episode_len_mean"] == DAY
            assert runners["episode_len_min"] == DAY
            assert runners["episode_len_max"] == DAY
            for module in modules:
                learner = result["learners"][module]
                for loss in ("total_loss", "policy_loss", "vf_loss"):
                    assert math.isfinite(learner[loss]), (module, loss, learner[loss])
                assert learner["num_module_steps_trained"] > 0
            results.append(result)
    finally:
        algo.stop()
    assert results[-1]["env_runners"]["num_episodes_lifetime"] >= 2 * ITERATIONS
    return results


def remote_envs(algo: Algorithm) -> list[tuple[int, str, str | None]]:
    """(pid, env class, spec id) of each remote env runner's vector env."""

    def describe(runner: Any) -> tuple[int, str, str | None]:
        env = runner.env.unwrapped
        return os.getpid(), type(env).__name__, env.spec.id if env.spec is not None else None

    return list(algo.env_runner_group.foreach_env_runner(describe, local_env_runner=False))


@pytest.mark.parametrize(
    ("vectorize_mode", "num_envs", "vector_class"),
    [("sync", 1, "SyncVectorEnv"), ("vector_entry_point", 2, "SliceVectorEnv")],
)
def test_ppo_on_the_single_env_by_its_bare_id(vectorize_mode: str, num_envs: int, vector_class: str) -> None:
    config = (
        ppo().environment(ENV_ID).env_runners(num_envs_per_env_runner=num_envs, gym_env_vectorize_mode=vectorize_mode)
    )
    algo = config.build_algo()
    (runner,) = remote_envs(algo)
    assert runner[0] != os.getpid()  # a Ray worker made the env from the id
    assert runner[1:] == (vector_class, ENV_ID)
    train(algo, ["default_policy"])


def make_parallel(env_config: dict[str, Any]) -> ParallelPettingZooEnv:
    """RLlib env creator: the PettingZoo env (one agent per slice) in RLlib's multi-agent wrapper."""
    return ParallelPettingZooEnv(SliceParallelEnv("testbed-v0", reward=env_config.get("reward", "penalized")))


def test_ppo_on_the_pettingzoo_env_one_policy_per_slice() -> None:
    register_env(PARALLEL_ID, make_parallel)
    agents = list(SliceParallelEnv("testbed-v0").possible_agents)
    assert len(agents) == 3
    config = (
        ppo()
        .environment(PARALLEL_ID, env_config={"reward": "penalized"})
        .multi_agent(policies=set(agents), policy_mapping_fn=lambda agent_id, episode, **kwargs: agent_id)
        .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs={agent: RLModuleSpec() for agent in agents}))
    )
    results = train(config.build_algo(), agents)
    returns = results[-1]["env_runners"]["agent_episode_returns_mean"]
    assert sorted(returns) == sorted(agents)
    assert all(math.isfinite(r) and r < 0 for r in returns.values())  # rewards are minus usage and penalties

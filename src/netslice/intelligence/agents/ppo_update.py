"""PPO's gradient epochs over one rollout: clipped surrogate, value critic and, with constraints, cost critic.

Without constraints (``lam`` None) the policy's advantage is the reward's GAE, standardised per minibatch
(CleanRL). With constraints it is :func:`~.lagrangian.lagrangian_advantage` of the reward's and the per-slice
constraints' GAE under the multipliers in force for the rollout, computed once over the rollout; the cost critic
``V_C`` (the critic's vector head) regresses the constraint returns with the same weight as ``V`` (``vf_coef``).

Samples with ``in_loss`` False (slots a shield switched to the baseline, when those are excluded) are left out of
the surrogate: its mean, and the minibatch standardisation, run over the other samples. The critics and the
entropy use every sample.

Loss metrics (each documented once, here): ``losses/policy`` (clipped surrogate), ``losses/value`` (value critic),
``losses/cost_value`` (cost critic, summed over slices; with constraints only), ``losses/entropy``,
``losses/approx_kl`` and ``losses/clipfrac`` (fraction of samples whose ratio was clipped), each the mean over
the minibatches of the update.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from netslice.intelligence.agents.lagrangian import lagrangian_advantage
from netslice.intelligence.agents.nets import ActorCritic
from netslice.intelligence.agents.ppo_config import PPOConfig
from netslice.intelligence.agents.rollout import Advantages, Rollout


def _flat(x: NDArray[np.floating], width: int | None = None) -> torch.Tensor:
    a = np.asarray(x)
    return torch.as_tensor(a.reshape(-1) if width is None else a.reshape(-1, width), dtype=torch.float32)


def surrogate(
    adv: torch.Tensor, ratio: torch.Tensor, clip_coef: float, mask: torch.Tensor | None, standardise: bool
) -> torch.Tensor:
    """The clipped-surrogate loss ``-min(r A, clip(r, 1 - eps, 1 + eps) A)``, averaged over the masked samples.

    Args:
        adv: advantages of the minibatch.
        ratio: probability ratios of the minibatch.
        clip_coef: eps.
        mask: which samples count (None: all).
        standardise: standardise ``adv`` first (over the counted samples).
    """
    a = adv if mask is None else adv[mask]
    r = ratio if mask is None else ratio[mask]
    if a.numel() == 0:
        return ratio.sum() * 0.0  # nothing counts in this minibatch (keeps the graph)
    if standardise:
        a = (a - a.mean()) / (a.std() + 1e-8)
    return torch.max(-a * r, -a * r.clamp(1 - clip_coef, 1 + clip_coef)).mean()


def cap_exploration(agent: ActorCritic, cap: float | None) -> None:
    """Lower the actor's exploration log standard deviation to ``cap`` where it is above (None: leave it).

    The schedule is :meth:`~.ppo_config.PPOConfig.log_std_cap`; called before each rollout, so that every slot
    is played with noise within it.
    """
    if cap is not None:
        with torch.no_grad():
            agent.log_std.clamp_(max=cap)


def learn(
    agent: ActorCritic, optimizer: torch.optim.Optimizer, cfg: PPOConfig, rollout: Rollout, advantages: Advantages,
    lam: NDArray[np.float64] | None = None, normalise: bool = True, update: int = 0, train_actor: bool = True,
) -> dict[str, float]:  # fmt: skip
    """``cfg.update_epochs`` passes of minibatch PPO over ``rollout``; the loss metrics of the module docstring.

    Args:
        agent: the actor-critic (with a cost critic when ``lam`` is given).
        optimizer: its optimiser.
        cfg: the PPO hyper-parameters.
        rollout: the rollout.
        advantages: its GAE (with the constraint advantages when ``lam`` is given).
        lam: the multipliers in force for the rollout (None: no constraints).
        normalise: divide the Lagrangian advantage by ``1 + sum(lam)``.
        update: the update's index (seeds the minibatch order).
        train_actor: False trains the critics alone: the surrogate and the entropy are reported but not in the
            loss, so the actor and its noise get no gradient and the optimiser leaves them exactly as they are.
    """
    cost_adv, cost_ret = advantages.cost_adv, advantages.cost_ret
    constrained = lam is not None and cost_adv is not None and cost_ret is not None
    n_obs, n_act = rollout.obs.shape[-1], rollout.act.shape[-1]
    b_obs, b_act = _flat(rollout.obs, n_obs), _flat(rollout.act, n_act)
    b_logp, b_ret = _flat(rollout.logp), _flat(advantages.ret)
    if lam is not None and cost_adv is not None and cost_ret is not None:
        b_adv = _flat(lagrangian_advantage(advantages.adv, cost_adv, lam, normalise))
        b_cret = _flat(cost_ret, cost_ret.shape[-1])
    else:
        b_adv = _flat(advantages.adv)
    b_mask = None if rollout.in_loss.all() else torch.as_tensor(rollout.in_loss.reshape(-1))
    size = b_obs.shape[0]
    mb = min(cfg.minibatch_size, size)
    gen = torch.Generator().manual_seed(cfg.seed + update)
    sums = dict.fromkeys(("policy", "value", "cost_value", "entropy", "approx_kl", "clipfrac"), 0.0)
    count = 0
    for _ in range(cfg.update_epochs):
        perm = torch.randperm(size, generator=gen)
        for s in range(0, size, mb):  # every sample, the last minibatch may be smaller
            idx = perm[s : s + mb]
            dist = agent.dist(b_obs[idx])
            new_logp = dist.log_prob(b_act[idx]).sum(-1)  # type: ignore[no-untyped-call]
            log_ratio = new_logp - b_logp[idx]
            ratio = log_ratio.exp()
            mask = None if b_mask is None else b_mask[idx]
            pg_loss = surrogate(b_adv[idx], ratio, cfg.clip_coef, mask, standardise=not constrained)
            v, vc = agent.values(b_obs[idx])
            v_loss = 0.5 * ((v - b_ret[idx]) ** 2).mean()
            entropy = dist.entropy().sum(-1).mean()  # type: ignore[no-untyped-call]
            actor_loss = pg_loss - cfg.ent_coef * entropy
            loss = actor_loss + cfg.vf_coef * v_loss if train_actor else cfg.vf_coef * v_loss
            if constrained:
                c_loss = 0.5 * ((vc - b_cret[idx]) ** 2).sum(-1).mean()
                loss = loss + cfg.vf_coef * c_loss
                sums["cost_value"] += c_loss.item()
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(agent.parameters(), cfg.max_grad_norm)
            optimizer.step()
            with torch.no_grad():
                sums["approx_kl"] += float(((ratio - 1) - log_ratio).mean())
                sums["clipfrac"] += float(((ratio - 1.0).abs() > cfg.clip_coef).float().mean())
            sums["policy"] += pg_loss.item()
            sums["value"] += v_loss.item()
            sums["entropy"] += entropy.item()
            count += 1
    c = max(count, 1)
    return {f"losses/{name}": v / c for name, v in sums.items() if constrained or name != "cost_value"}

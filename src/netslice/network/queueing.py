"""Queueing building blocks shared by every domain (pure, vectorised numpy functions).

Every resource in the simulator (a cell's PRB share, a link's bandwidth share, a UPF's CPU share,
an edge server's cores) is a *stage*: jobs (packets, objects, requests) arrive at rate ``lam``
(jobs/s) and are served at rate ``mu`` (jobs/s) by ``c`` parallel servers. A stage combines

* a **fluid backlog** that carries over between slots (Lindley recursion,
  Q_{t+1} = min(B, max(0, Q_t + (lam - mu) T)); D. V. Lindley, Proc. Camb. Phil. Soc. 48, 1952),
  which gives the Markov property, the drops of an overloaded stage and the extra delay of a standing queue; and
* the **stationary waiting time** of a G/G/c queue inside the slot, by the Sakasegawa/Kingman
  approximation Wq = rho^(sqrt(2(c+1)) - 1) / (c (1 - rho)) * (ca^2 + cs^2) / 2 * S, which is exact
  for M/M/1 (c = 1, ca^2 = cs^2 = 1: W = 1 / (mu - lam)) and accepts a fractional number of
  servers, as a container CPU quota needs.

Sojourn-time tails use a Gamma fit of the mean and variance with the Wilson-Hilferty quantile.

A stage may also be a **token-bucket shaper** (:func:`shaped_sojourn`): a rate-limited share of a faster
resource (an HTB class on a fast link, a CFS CPU quota on a full-speed core). A job that finds tokens leaves
after its time at the full speed; one that does not waits until the bucket has refilled. With FIFO service, the
delay is ``max(line, T - theta)``, ``T`` the sojourn in a queue served at the shaper's rate and
``theta = depth / rate`` the bucket's allowance (the shaper's backlog is the virtual queue's content less the
bucket depth: R. L. Cruz, "A calculus for network delay, part I", IEEE Trans. Inf. Theory 37(1), 1991).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

#: Utilisation above which the stationary formula is capped; the excess load goes to the backlog.
RHO_MAX = 0.98
#: Service rates below this (jobs/s) count as "no service" to keep every delay finite.
MU_MIN = 1e-9
#: Every delay is capped here (s): a stage with no service reports this rather than infinity.
MAX_DELAY_S = 1000.0
#: Offered loads below this (bit/s) count as no traffic for ratios such as reliability (avoids 0/0 in underflow).
MIN_OFFERED_BPS = 1e-6


def fluid_backlog(
    q0: FloatArray, lam: FloatArray, mu: FloatArray, slot_s: float, buffer: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Advance a fluid queue by one slot of ``slot_s`` seconds.

    Args:
        q0: backlog at the start of the slot (jobs).
        lam: arrival rate (jobs/s).
        mu: service rate (jobs/s).
        slot_s: slot length (s).
        buffer: buffer size (jobs); arrivals that find it full are dropped.

    Returns:
        ``(q1, mean_backlog, drops)``: backlog at the end of the slot, its time average over the
        slot (jobs) and the jobs dropped during the slot.

    The backlog moves linearly at rate ``lam - mu`` until it hits 0 or ``buffer`` and stays
    there; the time average is the exact area under that piecewise-linear path divided by T.

    >>> q1, qbar, d = fluid_backlog(np.array([0.0]), np.array([3.0]), np.array([1.0]), 10.0, np.array([5.0]))
    >>> float(q1[0]), float(qbar[0]), float(d[0])
    (5.0, 4.375, 15.0)
    """
    r = lam - mu
    q0 = np.minimum(q0, buffer)
    unclipped = q0 + r * slot_s
    q1 = np.minimum(np.maximum(unclipped, 0.0), buffer)
    drops = np.maximum(unclipped - buffer, 0.0)
    # Time at which the path reaches its bound (0 when draining, buffer when filling); T if r == 0.
    bound = (r >= 0.0) * buffer
    t_hit = np.divide(bound - q0, r, out=np.full(r.shape, slot_s), where=r != 0.0)
    t_hit = np.minimum(np.maximum(t_hit, 0.0), slot_s)
    area = q0 * t_hit + 0.5 * r * t_hit * t_hit + bound * (slot_s - t_hit)
    return q1, np.maximum(area / slot_s, 0.0), drops


def gg_c_wait(
    lam: FloatArray, mu_server: FloatArray, servers: FloatArray, ca2: FloatArray, cs2: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Stationary mean waiting time in queue of a G/G/c stage (Sakasegawa/Kingman approximation).

    Args:
        lam: arrival rate (jobs/s).
        mu_server: service rate of one server (jobs/s); the mean service time is 1 / mu_server.
        servers: number of servers c >= 1 (may be fractional).
        ca2: squared coefficient of variation of inter-arrival times.
        cs2: squared coefficient of variation of service times.

    Returns:
        ``(wq, rho)``: mean waiting time before service (s) with the utilisation capped at
        :data:`RHO_MAX`, and the uncapped utilisation ``lam / (c mu_server)``.

    >>> wq, rho = gg_c_wait(np.array([500.0]), np.array([1000.0]), np.array([1.0]), np.array([1.0]), np.array([1.0]))
    >>> float(wq[0] + 1 / 1000.0)  # M/M/1 sojourn 1 / (mu - lam)
    0.002
    """
    mu_server = np.maximum(mu_server, MU_MIN)
    rho = lam / (servers * mu_server)
    rho_c = np.minimum(rho, RHO_MAX)
    wq = rho_c ** (np.sqrt(2.0 * (servers + 1.0)) - 1.0) / (servers * (1.0 - rho_c))
    return wq * 0.5 * (ca2 + cs2) / mu_server, rho


def erlang_c(servers: int, offered_erlang: float) -> float:
    """Exact Erlang C probability of waiting for M/M/c (used by tests and calibration).

    Args:
        servers: number of servers c.
        offered_erlang: offered load a = lam / mu, with a < c.

    Returns:
        C(c, a), the probability that an arrival waits (the Erlang C formula).
    """
    a, c = offered_erlang, servers
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def smooth_relu(x: FloatArray, eps: float) -> FloatArray:
    """A smooth max(x, 0) that equals 0 at x = 0 and x - eps/2 + O(eps^2/x) for large x.

    ``(x + sqrt(x^2 + eps^2) - eps) / 2``: monotone, convex and differentiable, so quantities built
    from it (closed-loop response times) stay monotone in their inputs.
    """
    return 0.5 * (x + np.sqrt(x * x + eps * eps) - eps)


def closed_response(
    population: FloatArray, service_s: FloatArray, servers: FloatArray | float, eps: float
) -> tuple[FloatArray, FloatArray]:
    """Response time of one station of a closed loop that may hold the whole population.

    Mean value analysis of a closed system with zero think time at a single station with c
    servers gives R = S max(1, N / c); the smooth max keeps R differentiable and monotone:
    R = S (1 + smooth_relu(N / c - 1)). Used per station for interactive slices (exact when one
    station dominates the loop, an upper bound otherwise).

    Args:
        population: customers in the loop that can reach this station, N.
        service_s: mean service time of one job on one server, S (s); capped at :data:`MAX_DELAY_S`.
        servers: parallel servers c (>= 1).
        eps: width of the smooth max.

    Returns:
        ``(delay, var)``: the response time (s, capped at :data:`MAX_DELAY_S`) and the variance of an
        exponential service time summed over the max(1, N / c) jobs ahead, S^2 max(1, N / c) (s^2).

    >>> r, v = closed_response(np.array([3.0]), np.array([0.1]), 1.0, 1e-6)
    >>> round(float(r[0]), 6), round(float(v[0]), 6)
    (0.3, 0.03)
    """
    s = np.minimum(service_s, MAX_DELAY_S)
    n = population / servers
    delay = np.minimum(s * (1.0 + smooth_relu(n - 1.0, eps)), MAX_DELAY_S)
    return delay, s * s * np.maximum(n, 1.0)


def wh_max_inv9k(z: float) -> float:
    """Largest 1 / (9 k) at which the Wilson-Hilferty quantile stays monotone (see :func:`gamma_quantile`).

    With v = 1 / (9 k) the quantile is q = mean f(v), f(v) = (1 - v + z sqrt(v))^3. It rises with the
    variance while v <= z^2 / 4 and with the mean (at a fixed variance) while 1 + 5 v - 2 z sqrt(v) >= 0,
    which holds for every v when z <= sqrt(5) and below the smaller root otherwise.
    """
    cap = z * z / 4.0
    if z * z > 5.0:
        root = (z - math.sqrt(z * z - 5.0)) / 5.0
        cap = min(cap, root * root)
    return cap


def gamma_quantile(mean: FloatArray, var: FloatArray, z: float) -> FloatArray:
    """Quantile of a Gamma distribution fitted to ``mean`` and ``var`` (Wilson-Hilferty).

    Args:
        mean: mean (> 0) of the distribution.
        var: variance (>= 0).
        z: standard-normal quantile of the wanted probability (1.6449 for the 95th percentile).

    Returns:
        The approximate quantile; exact enough (within ~1 %) from shape 0.5 upwards. For an
        exponential distribution (var = mean^2) and z = 1.6449 it returns 2.97 mean (exact: 3.00).
        Shapes below ``1 / (9 wh_max_inv9k(z))`` (extreme skew, where the approximation breaks down)
        are treated as that shape, so the quantile never falls when the mean or the variance grows.
    """
    mean = np.maximum(mean, 1e-12)
    inv9k = np.minimum(var / (9.0 * mean * mean), wh_max_inv9k(z))  # 1 / (9 k) with shape k = mean^2 / var
    out: FloatArray = mean * np.maximum(1.0 - inv9k + z * np.sqrt(inv9k), 0.0) ** 3
    return out


def shaped_sojourn(
    wq: FloatArray, service_s: FloatArray, rho: FloatArray, line_s: FloatArray | float, allowance_s: FloatArray | float
) -> tuple[FloatArray, FloatArray]:
    """Mean and variance of a token-bucket shaper's sojourn ``max(line, W + S - theta)`` (module docstring).

    The virtual queue (one server at the shaper's rate) has the stage's mean wait ``wq`` and service time ``S``.
    Its waiting time is taken as an atom at 0 of probability ``1 - rho`` and an exponential tail of mean
    ``wq / rho`` otherwise (the usual exponential approximation of a G/G/1 waiting time, exact for M/M/1), so
    that ``E[(W - a)+] = wq exp(-a rho / wq)`` for ``a >= 0``; the service time counts as fixed (its variability
    is in ``wq``). With ``a = theta + line - S``: ``E[max(line, W + S - theta)] = line + E[(W - a)+]`` (for
    ``a < 0``: ``line + wq - a``). A Gamma fit of the sojourn's mean and variance (the stage's tail model) has
    too heavy a tail at light load for this: it has no atom at "no wait".

    Args:
        wq: mean wait of the virtual queue (s).
        service_s: its service time ``S`` (s).
        rho: its utilisation (capped below 1).
        line_s: a job's time at the full speed (serialisation at the line rate, CPU time on a whole core) (s).
        allowance_s: the bucket's allowance ``theta`` = depth / rate (s); finite.

    Returns:
        ``(mean, var)`` of the sojourn (s, s^2).

    >>> # M/M/1, rho = 0.5, S = 10 ms, no bucket: S + W, mean 20 ms, variance of W rho (2 - rho) S^2 / (1 - rho)^2
    >>> m, v = shaped_sojourn(np.array([0.01]), np.array([0.01]), np.array([0.5]), 0.0, 0.0)
    >>> round(float(m[0]), 9), round(float(v[0]), 9)
    (0.02, 0.0003)
    """
    rho = np.clip(rho, 1e-12, RHO_MAX)
    tail = np.maximum(wq, 1e-300) / rho  # mean of the exponential part of W
    a = np.asarray(allowance_s) + line_s - service_s
    pos = np.maximum(a, 0.0)
    beyond = rho * np.exp(-pos / tail)  # P(W > a) for a >= 0
    m1 = tail * beyond  # E[(W - a)+], a >= 0
    m2 = 2.0 * tail * tail * beyond  # E[(W - a)+^2], a >= 0
    neg = np.minimum(a, 0.0)  # a < 0: (W - a)+ = W - a, mean wq - a, second moment E[W^2] - 2 a wq + a^2
    m1 = np.where(a >= 0.0, m1, wq - neg)
    m2 = np.where(a >= 0.0, m2, 2.0 * tail * wq - 2.0 * neg * wq + neg * neg)
    return line_s + m1, np.maximum(m2 - m1 * m1, 0.0)


@dataclass(frozen=True)
class StageOut:
    """What one slot did at a stage; every array has the stage's shape.

    Attributes:
        delay: mean sojourn time of a job (s): fixed + waiting + service + standing-backlog delay.
        var: variance of the sojourn time (s^2), for tail percentiles.
        delivered: fraction of the slot's offered jobs served within the slot.
        lost: fraction of the slot's offered jobs dropped (buffer overflow).
        q1: backlog at the end of the slot (jobs).
        rho: utilisation lam / (c mu) (uncapped; > 1 means overload).
    """

    delay: FloatArray
    var: FloatArray
    delivered: FloatArray
    lost: FloatArray
    q1: FloatArray
    rho: FloatArray


def open_stage(
    q0: FloatArray,
    lam: FloatArray,
    mu_server: FloatArray,
    servers: FloatArray | float,
    ca2: FloatArray,
    cs2: FloatArray | float,
    slot_s: float,
    buffer: FloatArray | float,
    fixed_delay: FloatArray | float = 0.0,
    shaper: tuple[FloatArray | float, FloatArray | float] | None = None,
) -> StageOut:
    """One slot of an open G/G/c stage with a fluid backlog (see the module docstring).

    Args:
        q0: backlog at the start of the slot (jobs).
        lam: offered arrival rate (jobs/s).
        mu_server: service rate of one server (jobs/s).
        servers: number of servers (>= 1, fractional allowed).
        ca2: squared coefficient of variation of inter-arrival times.
        cs2: squared coefficient of variation of service times.
        slot_s: slot length (s).
        buffer: buffer size (jobs).
        fixed_delay: delay added to every job (propagation, processing, scheduling) (s).
        shaper: ``(line_s, allowance_s)`` of a token-bucket shaper (:func:`shaped_sojourn`): the stage's servers
            are then the shaper's rate, a job's time at the full speed is ``line_s`` and the bucket lets
            ``allowance_s`` of the shaper's service through at once; its waiting and standing backlog together
            are capped at the buffer's drain time ``buffer / (c mu)`` (a full FIFO's delay). None: the servers
            themselves serve (and the stationary wait at the capped utilisation adds to the standing backlog's
            delay, an overestimate in overload kept so that the calibrated scenarios' results stay as they are).

    Returns:
        The stage's :class:`StageOut`.
    """
    servers_a = np.asarray(servers, dtype=np.float64)
    mu_server = np.maximum(mu_server, MU_MIN)
    wq, rho = gg_c_wait(lam, mu_server, servers_a, ca2, np.asarray(cs2, dtype=np.float64))
    service = 1.0 / mu_server
    mu_total = servers_a * mu_server
    q1, qbar, drops = fluid_backlog(q0, lam, mu_total, slot_s, np.asarray(buffer, dtype=np.float64))
    sojourn = np.minimum(wq + service, MAX_DELAY_S)
    var = sojourn * sojourn * 0.5 * (ca2 + cs2)
    if shaper is None:
        delay = np.minimum(fixed_delay + sojourn + qbar / mu_total, MAX_DELAY_S)
    else:  # a shaper's FIFO holds no job longer than its buffer takes to drain
        line, allowance = shaper
        shaped, shaped_var = shaped_sojourn(wq, service, rho, line, allowance)
        cap = line + np.asarray(buffer) / mu_total
        queued = np.minimum(np.minimum(shaped, MAX_DELAY_S) + qbar / mu_total, cap)
        # A delay between the line time and the cap has at most (cap - mean)(mean - line) variance (Bhatia-Davis).
        shaped_var = np.minimum(shaped_var, np.maximum((cap - queued) * (queued - line), 0.0))
        unshaped = np.asarray(allowance) + line <= 0.0  # no bucket, no line: the stage itself, as without a shaper
        var = np.where(unshaped, var, shaped_var)
        delay = np.minimum(fixed_delay + np.where(unshaped, sojourn + qbar / mu_total, queued), MAX_DELAY_S)
    offered = np.maximum(lam * slot_s, 1e-12)
    lost = np.minimum(drops / offered, 1.0)
    deferred = np.maximum(q1 - np.minimum(q0, buffer), 0.0) / offered
    delivered = np.minimum(np.maximum(1.0 - lost - deferred, 0.0), 1.0)
    return StageOut(delay=delay, var=var, delivered=delivered, lost=lost, q1=q1, rho=rho)


def cpu_servers(cores: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Split a (fractional) CPU allocation into parallel servers and per-server speed.

    A request runs on one core at a time: with ``cores`` >= 1 there are ``cores`` servers of speed
    1; below one core (a container CPU quota such as ``docker update --cpus 0.4``) there is one
    server slowed to speed ``cores``.

    Returns:
        ``(servers, speed)`` with servers >= 1 and speed in [0, 1].
    """
    return np.maximum(cores, 1.0), np.minimum(cores, 1.0)

"""The twin's capacity: the sandbox profile sizes a node so the DR region at its standby size cannot
carry the traffic profile and the primary and the scaled DR can (2C < R <= 3C), and the token
buckets admit a region's rate, then queue, then refuse (on a clock the test moves)."""

from __future__ import annotations

from drill.core.config import load_config
from sandbox.services import Capacity


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def capacity(node_rps: float, pod_rps: float, queue_s: float) -> tuple[Capacity, Clock]:
    clock = Clock()
    return Capacity(node_rps, pod_rps, queue_s, clock=clock, sleep=clock.sleep), clock


def test_the_sandbox_profile_makes_the_standby_too_small_and_the_scaled_dr_big_enough() -> None:
    cfg = load_config(None, "sandbox").config
    node, rate = cfg.sandbox.capacity.node_rps, cfg.load.users * cfg.load.user_rps
    assert node > 0
    assert cfg.eks.dr.nodes * node < rate <= cfg.eks.primary.nodes * node
    assert rate <= cfg.eks.failover_nodes * node


def test_a_region_admits_its_nodes_rate_then_refuses() -> None:
    cap, clock = capacity(node_rps=80, pod_rps=0, queue_s=0)
    assert sum(cap.admit("ap-northeast-1", 2, "project-service", 1) for _ in range(40)) == 16  # 0.1 s of 2 x 80
    assert cap.rejected == 24
    clock.now += 0.0625  # 10 tokens at 160/s
    assert sum(cap.admit("ap-northeast-1", 2, "project-service", 1) for _ in range(40)) == 10
    clock.now += 1  # the node group scaled to 4: a full bucket of the new rate
    assert sum(cap.admit("ap-northeast-1", 4, None, 0) for _ in range(100)) == 32
    assert not capacity(10, 0, 0)[0].admit("ap-northeast-1", 0, None, 0)  # no serving node: nothing served


def test_a_service_is_also_held_to_its_pods_rate() -> None:
    cap, _ = capacity(node_rps=0, pod_rps=50, queue_s=0)
    assert sum(cap.admit("r", 4, "auth-service", 1) for _ in range(20)) == 5
    assert sum(cap.admit("r", 4, "team-service", 2) for _ in range(20)) == 10  # its own bucket


def test_a_request_waits_in_the_queue_for_a_turn_then_gets_refused() -> None:
    for queue_s, refused in ((0.0, 1), (0.01, 1), (1.0, 0)):  # the 3rd needs 1/20 s for a token
        cap, _ = capacity(node_rps=20, pod_rps=0, queue_s=queue_s)
        for _ in range(3):  # the burst (2 tokens), then one more
            cap.admit("r", 1, None, 0)
        assert cap.rejected == refused, queue_s

"""The twin's capacity: the sandbox profile sizes a node so the DR region at its standby size cannot
carry the traffic profile and the primary and the scaled DR can (2C < R <= 3C), and the token
buckets admit a region's rate, then queue, then refuse."""

from __future__ import annotations

from drill.core.config import load_config
from sandbox.services import Capacity


def test_the_sandbox_profile_makes_the_standby_too_small_and_the_scaled_dr_big_enough() -> None:
    cfg = load_config(None, "sandbox").config
    node, rate = cfg.sandbox.capacity.node_rps, cfg.load.users * cfg.load.user_rps
    assert node > 0
    assert cfg.eks.dr.nodes * node < rate <= cfg.eks.primary.nodes * node
    assert rate <= cfg.eks.failover_nodes * node


def test_a_region_admits_its_nodes_rate_then_refuses() -> None:
    cap = Capacity(node_rps=100, pod_rps=0, queue_s=0)
    admitted = sum(cap.admit("ap-northeast-1", 2, "project-service", 1) for _ in range(40))
    assert 20 <= admitted <= 21  # a burst of 0.1 s of 2 nodes x 100 (a token may refill meanwhile)
    assert cap.rejected == 40 - admitted
    assert not Capacity(10, 0, 0).admit("ap-northeast-1", 0, None, 0)  # no serving node: nothing served


def test_a_service_is_also_held_to_its_pods_rate() -> None:
    cap = Capacity(node_rps=0, pod_rps=50, queue_s=0)
    assert sum(cap.admit("r", 4, "auth-service", 1) for _ in range(20)) in (5, 6)
    assert sum(cap.admit("r", 4, "team-service", 2) for _ in range(20)) in (10, 11)  # its own bucket


def test_a_request_waits_in_the_queue_for_a_turn() -> None:
    for queue_s, refused in ((0.0, 1), (1.0, 0)):
        cap = Capacity(node_rps=20, pod_rps=0, queue_s=queue_s)
        for _ in range(3):  # the burst (2 tokens), and one more that must wait about 1/20 s for a token
            cap.admit("r", 1, None, 0)
        assert cap.rejected == refused, queue_s

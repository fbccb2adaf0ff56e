@quarterly @destructive @failover_simulation @checklist_2 @checklist_4 @checklist_5 @checklist_7 @checklist_8
Feature: Quarterly failover simulation, Seoul to Tokyo (failover simulation, quarterly: a real DR switchover)
  The policy's manual failover runbook (section 5) run for real against the target, under user
  traffic and canary writes, measuring the RTO users felt and the data each store lost. The
  outage is done to each store as an outage does it: the region's network cut, its replication
  paused, the replica's replication stopped at the fault instant.

  Scenario: 2, 4, 5, 7, 8. Failover under load (RDS Read Replica Promote 성공, EKS Pod 정상 기동, 헬스체크 통과 (/health), api/grafana Failover 확인): RTO and RPO against the budgets
    Given the target is in steady state
    And user traffic and canary writes are running
    When the primary region suffers an outage
    Then the Route 53 health check detects the outage
    When DR is declared by the policy's rule
    And the runbook fails over to the DR region
    Then api.portforge.org and grafana.portforge.org are served by the DR region
    And every DR service answers its health check from the DR region
    And every DR workload the policy lists is Ready with no restarts
    And RTO and RPO are measured
    And every store's data loss is within its RPO budget
    And each measured phase is within its section-4 budget
    And the user-facing RTO is within the RTO budget

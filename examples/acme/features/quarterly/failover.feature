@quarterly @destructive @region_failover @checklist_1 @checklist_2
Feature: Acme's regional failover, Virginia to Oregon
  The runbook run for real under traffic, with the orders database, the carts table and the media
  bucket written to by canaries, then returned to Virginia.

  Scenario: Oregon takes over under load, within the RTO and the RPO budgets
    Given the target is in steady state
    And user traffic and canary writes are running
    When the primary region suffers an outage
    Then the Route 53 health check detects the outage
    When DR is declared by the policy's rule
    And the runbook fails over to the DR region
    Then api.acme-shop.test and admin.acme-shop.test are served by the DR region
    And every DR service answers its health check from the DR region
    And every DR workload the policy lists is Ready with no restarts
    And RTO and RPO are measured
    And every store's data loss is within its RPO budget
    And the user-facing RTO is within the RTO budget

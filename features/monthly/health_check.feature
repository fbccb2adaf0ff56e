@monthly @destructive @health_check_test @checklist_1 @checklist_7 @checklist_8
Feature: Monthly health-check test (verify Route 53 failover behaviour)
  The Route 53 health check is the policy's only automatic part: it alerts, and the failover
  records send users to Tokyo while Seoul's health endpoint fails.

  Scenario: 1, 7, 8. Route 53 Health Check 정상 동작: the health check detects, alerts, and api/grafana fail over and heal
    Given the target is in steady state
    Then the Route 53 health check has the policy's settings
    When the primary region's health endpoint fails
    Then the health check goes unhealthy within interval times threshold
    And the alert reaches the policy's Slack channel
    And api.portforge.org and grafana.portforge.org are served by the DR region
    When the fault is undone
    Then everything is healthy again and served by the primary region

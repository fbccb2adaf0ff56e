@monthly @destructive @health_check_test
Feature: Monthly health-check test (verify Route 53 failover behaviour)
  Policy section 5: the Route 53 health check is for alerting; its alarm reaches #infra-alerts
  the way section 10 routes it (CloudWatch alarm -> SNS -> Lambda -> Slack). The switchover is
  manual, so the failover records are verified by the manual procedure for DNS alone: switched to
  Tokyo by hand, api and grafana served there, switched back.

  @checklist_1
  Scenario: 1. Route 53 Health Check 정상 동작: the health check detects the failure and the alert reaches #infra-alerts
    Given the target is in steady state
    Then the Route 53 health check has the policy's settings
    When the primary region's health endpoint fails
    Then the health check goes unhealthy within interval times threshold
    And the health check's alarm goes to ALARM and its topic delivers the notification
    And the alert reaches the policy's Slack channel
    When the fault is undone
    Then the health check is healthy again and its alarm back to OK

  @checklist_7 @checklist_8 @switch_manual
  Scenario: 7, 8. api/grafana Failover 확인: the failover records switched by hand send users to Tokyo and back
    Given the target is in steady state
    When the failover records are pointed at the DR region by hand
    Then api.portforge.org and grafana.portforge.org are served by the DR region
    When the failover records are pointed back at the primary region by hand
    Then api.portforge.org and grafana.portforge.org are served by the primary region

  @checklist_7 @checklist_8 @switch_by_health_check
  Scenario: 7, 8. api/grafana Failover 확인: the failover records follow the health check to Tokyo and back
    Given the target is in steady state
    When the primary region's health endpoint fails
    Then api.portforge.org and grafana.portforge.org are served by the DR region
    When the fault is undone
    Then api.portforge.org and grafana.portforge.org are served by the primary region

@quarterly @destructive @failback_test
Feature: Quarterly failback test (verify the return-to-Seoul procedure)
  Policy section 6: once Seoul is healthy and stable, data written in Tokyo during DR goes back
  (a new RDS read replica Tokyo -> Seoul then promoted, S3 synced and replicated back, DynamoDB
  global tables), Route 53 returns to Seoul and Tokyo goes back to standby.

  Scenario: Failback Tokyo -> Seoul: every write acknowledged during DR survives the return
    Given the target is in steady state
    And the target has failed over to the DR region and takes writes there
    When the runbook fails back to the primary region
    Then every write acknowledged in the DR region is in the primary region
    And users are served by the primary region
    And the DR region is back to standby with replication from the primary region

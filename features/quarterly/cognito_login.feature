@quarterly @destructive @failover_simulation @checklist_6
Feature: User login in the DR region (Cognito)
  Users are synced to the DR user pool by the Post Confirmation trigger, without their passwords:
  after a switchover they reset their password, as the policy's notice tells them, and log in.
  The drill signs its own test user up through the primary pool and removes it afterwards.

  Scenario: 6. 사용자 로그인 테스트 (Cognito): a user synced by the trigger logs in to the DR pool after the password reset
    Given the target is in steady state
    When a test user signs up in the primary user pool
    Then the user logs in to the primary user pool
    And the Post Confirmation trigger has synced the user to the DR user pool
    And the primary password does not work in the DR user pool
    When the user resets the password as the failover notice says
    Then the user logs in to the DR user pool with the new password

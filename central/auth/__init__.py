"""Staff accounts, roles, the signed session cookie and CSRF protection."""

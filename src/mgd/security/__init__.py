"""Portal accounts and their security: users, memberships, passwords, one-time codes, the audit log."""

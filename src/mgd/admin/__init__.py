"""The company web administrator's corner: users, roles, invitations, lines and the company's audit log."""

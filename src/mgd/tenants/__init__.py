"""Companies (the tenants) and the operator records that belong to them."""

"""The records import of billing: invoices and their charges, payments; checked, staged, then written."""

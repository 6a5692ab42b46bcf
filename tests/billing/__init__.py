"""Billing: invoices, charges, payments, the statement and the records import of them."""

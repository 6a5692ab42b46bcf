"""Billing: invoices and their charges, payments, balances and the account statement of a company."""

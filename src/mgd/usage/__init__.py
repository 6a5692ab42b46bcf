"""Consumption: usage records, allowances, the consumption pages, alerts and spend caps."""

"""Consumption: the operator's usage records (CDRs), their daily sums, allowances and cycles."""

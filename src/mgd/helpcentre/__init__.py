"""The help centre: articles on registering, signing in, invoices and lines, in Spanish and English, read by
anyone at /ayuda and written by the operator's supervisors in the back office."""
